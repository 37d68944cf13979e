#!/usr/bin/env bash
# Builds the ranking op in place for this machine's GPU and checks its CUDA kernels, in order of
# importance: the tests of the op and of mmdet_losses.functional, CUDA ones included (every kernel
# variant against the CPU kernel: tests/ops/test_cuda_kernels.py; mmdet is not needed), the GPU
# benchmarks, then compute-sanitizer's memcheck, racecheck and synccheck over the CUDA kernel tests. Each step is bounded in time and logged;
# the summary lines come last. CC and CXX choose the host compiler. With BASELINE=DIR (another checkout of this repository), that
# checkout is built in place too and its op timed right after this one's, for an A/B comparison on
# the same machine.
#
#   bash tools/check_cuda.sh [LOG_DIR]    # logs in work_dirs/check_cuda; PYTHON=python3, SANITIZER=...
set -uo pipefail
PYTHON=${PYTHON:-python3}
SANITIZER=${SANITIZER:-$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")}
LOG=${1:-work_dirs/check_cuda}
# The in-place build is what the tools and tests import.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$LOG"
summary=()

step() {  # step NAME SECONDS COMMAND...: runs COMMAND with a time limit, logs it, records its status
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" >"$LOG/$name.log" 2>&1
  local status=$?
  summary+=("$name: exit $status after $((SECONDS - start)) s")
  echo "== $name: exit $status after $((SECONDS - start)) s"
  tail -n 25 "$LOG/$name.log"
  return $status
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
arch=$("$PYTHON" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')
build=(env TORCH_CUDA_ARCH_LIST="$arch" FORCE_CUDA=1 MAX_JOBS="$(nproc)" "$PYTHON" setup.py build_ext --inplace)
if [ -n "${BASELINE:-}" ]; then
  (cd "$BASELINE" && "${build[@]}") >"$LOG/baseline_build.log" 2>&1 &
fi
step build 400 "${build[@]}" || exit 1
# A compiler whose C++ library is newer than the one the Python process loads builds an op that
# crashes (segmentation fault) whenever it raises: check that first.
step raises 60 "$PYTHON" -c '
import torch, mmdet_losses.ops
try:
    torch.ops.mmdet_losses.ap_rank(torch.zeros(3, device="cuda"), torch.zeros(3, dtype=torch.int8, device="cuda"), -1.0, True)
except ValueError as error:
    print("raises:", error)' || {
  echo "the op cannot raise: rebuild with the compiler of the C++ library that $PYTHON loads (e.g. CC=/usr/bin/gcc CXX=/usr/bin/g++)"
  exit 1
}
pytest=("$PYTHON" -m pytest -q -rfEs -p no:cacheprovider)
step tests 600 "${pytest[@]}" tests/ops tests/functional
step benchmark 400 "$PYTHON" tools/benchmark_aploss.py --losses aploss --devices cuda --repeat 20 \
  --sizes 2e6:1000 2.1e7:1600 1.5e8:3200
step rank_sort 200 "$PYTHON" tools/benchmark_aploss.py --losses rank_sort --devices cuda --repeat 20 \
  --sizes 2e6:1000 2.1e7:1600
if [ -n "${BASELINE:-}" ]; then
  wait
  step baseline 300 env PYTHONPATH="$BASELINE" "$PYTHON" "$BASELINE/tools/benchmark_aploss.py" --devices cuda \
    --repeat 20 --sizes 2e6:1000 2.1e7:1600 --loop-positives 2
fi
step training 300 "$PYTHON" tools/benchmark_training_step.py --batch 8 --size 512 --iters 50
sanitize=(env PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$SANITIZER" --error-exitcode 7 --tool)
kernel_tests=(tests/ops/test_cuda_kernels.py -m cuda)
step memcheck 300 "${sanitize[@]}" memcheck "${pytest[@]}" "${kernel_tests[@]}"
step racecheck 300 "${sanitize[@]}" racecheck "${pytest[@]}" "${kernel_tests[@]}" -k 'not large'
step synccheck 300 "${sanitize[@]}" synccheck "${pytest[@]}" "${kernel_tests[@]}" -k 'not large'
printf '%s\n' "${summary[@]}"

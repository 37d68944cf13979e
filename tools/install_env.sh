#!/usr/bin/env bash
# Creates .venv/ at the repository root with the pinned stack and this package (editable, extension
# built). Called by `make install`; safe to re-run. The mmcv wheel, the one slow step, is cached
# outside the checkout and reused.
#
# Environment:
#   PYTHON               interpreter for the venv (default: python3.11, else python3)
#   MMDET_LOSSES_CACHE   cache folder (default: $XDG_CACHE_HOME/mmdet-losses or ~/.cache/mmdet-losses)
#   FORCE_CUDA           1 / 0 forces the CUDA kernel of this package on / off (default: when nvcc exists)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
venv=.venv
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
cache=${MMDET_LOSSES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdet-losses}
mmcv_version=2.1.0

step=""
started=$SECONDS
begin() {
    step=$1
    printf '\n==> [%s, %ds] %s\n' "$(date +%H:%M:%S)" $((SECONDS - started)) "$step"
}
trap 'status=$?; printf "\ninstall FAILED during step: %s (exit %d)\n" "$step" "$status" >&2; exit "$status"' ERR

begin "create the virtual environment $venv with $python"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install --quiet --upgrade pip

begin "install build tools (requirements/build.txt)"
"${pip[@]}" install --quiet -r requirements/build.txt

begin "install torch and torchvision (requirements/torch.txt; about 2 minutes when new)"
"${pip[@]}" install --quiet -r requirements/torch.txt

tag=$("$venv/bin/python" -c 'import sys, torch; print("torch%s-cp%d%d" % (torch.__version__.split("+")[0], *sys.version_info[:2]))')
wheel_dir="$cache/wheels/mmcv-$mmcv_version-$tag-cpuops"
if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    begin "build mmcv $mmcv_version with its ops from source (about 25 minutes on 2 cores; cached in $wheel_dir)"
    work=$(mktemp -d)
    "${pip[@]}" download --quiet --no-deps --no-binary :all: --no-build-isolation \
        -d "$work" "mmcv==$mmcv_version"
    tar -xzf "$work"/mmcv-"$mmcv_version".tar.gz -C "$work"
    # torch 2.14's headers need C++20; mmcv 2.1.0 pins older standards.
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$work/mmcv-$mmcv_version/setup.py"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${pip[@]}" wheel --no-build-isolation --no-deps -w "$work/dist" "$work/mmcv-$mmcv_version"
    mkdir -p "$wheel_dir"
    mv "$work"/dist/mmcv-*.whl "$wheel_dir"/
    rm -rf "$work"
else
    begin "reuse the cached mmcv wheel in $wheel_dir"
fi

begin "install mmcv, mmengine, mmdet, pycocotools and the test tools"
"${pip[@]}" install --quiet "$wheel_dir"/mmcv-*.whl -r requirements/runtime.txt -r requirements/tests.txt

begin "build and install mmdet_losses (editable, with its C++/CUDA extension)"
"${pip[@]}" install --no-build-isolation --no-deps -e .

begin "check the environment"
"$venv/bin/python" - <<'EOF'
import mmcv, mmcv.ops, mmdet, mmengine, torch
import mmdet_losses
from mmdet_losses.ops import cuda_kernel_compiled
print(f"torch {torch.__version__}, mmcv {mmcv.__version__} (ops), mmengine {mmengine.__version__}, "
      f"mmdet {mmdet.__version__}, mmdet_losses {mmdet_losses.__version__}, "
      f"CUDA kernel compiled: {cuda_kernel_compiled()}")
EOF
touch "$venv/.installed"
printf '\ninstall done in %ds\n' $((SECONDS - started))

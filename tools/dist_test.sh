#!/usr/bin/env bash
# Evaluates CHECKPOINT on GPUS GPUs of this machine (or NNODES machines) with torchrun; on a
# machine without a GPU, GPUS is the number of CPU processes (gloo). PYTHON picks the interpreter.
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/test.py options]" >&2
    exit 2
fi
config=$1
checkpoint=$2
gpus=$3
shift 3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --nproc_per_node="$gpus" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    "$here/test.py" "$config" "$checkpoint" --launcher pytorch "$@"

#!/usr/bin/env bash
# Trains on GPUS GPUs of this machine (or NNODES machines) with torchrun; on a machine without a
# GPU, GPUS is the number of CPU processes (gloo). PYTHON picks the interpreter (default: python).
#   tools/dist_train.sh CONFIG GPUS [train.py options]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8 --amp
#   PYTHON=.venv/bin/python tools/dist_train.sh configs/demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py 2
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py options]" >&2
    exit 2
fi
config=$1
gpus=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --nproc_per_node="$gpus" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    "$here/train.py" "$config" --launcher pytorch "$@"

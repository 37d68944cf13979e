#!/usr/bin/env bash
# Trains under slurm: one task per GPU, GPUS in all (GPUS_PER_NODE per node).
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
#   GPUS=16 GPUS_PER_NODE=8 SRUN_ARGS="--qos=high" tools/slurm_train.sh gpu aploss CONFIG work_dirs/x
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py options]" >&2
    exit 2
fi
partition=$1
job_name=$2
config=$3
work_dir=$4
shift 4
gpus=${GPUS:-8}
gpus_per_node=${GPUS_PER_NODE:-$(( gpus < 8 ? gpus : 8 ))}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# SRUN_ARGS holds extra srun options, split on spaces on purpose.
# shellcheck disable=SC2086
exec srun -p "$partition" --job-name="$job_name" --gres=gpu:"$gpus_per_node" --ntasks="$gpus" \
    --ntasks-per-node="$gpus_per_node" --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} python -u "$here/train.py" "$config" --work-dir "$work_dir" --launcher slurm "$@"

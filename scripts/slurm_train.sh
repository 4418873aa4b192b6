#!/usr/bin/env bash
# Train a config as a Slurm job step (mmdet's tools/slurm_train.sh): one task
# per GPU, `--launcher slurm`.
#
#   scripts/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [mmdet train.py args...]
#
# Environment: GPUS (8 tasks), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS,
# PYTHON ($repo/.venv/bin/python, else python3), DRY_RUN=1 prints the srun
# command instead of running it (no Slurm needed).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]" >&2
  exit 2
fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/_python.sh"  # sets py: $PYTHON, else the repo's .venv, else python3
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
read -r -a srun_args <<< "${SRUN_ARGS:-}"
train_py="$("$py" -c 'import os, mmdet; print(os.path.join(os.path.dirname(mmdet.__file__), ".mim", "tools", "train.py"))')"
gres=()
if [ "$GPUS_PER_NODE" -gt 0 ]; then gres=(--gres=gpu:"$GPUS_PER_NODE"); fi
cmd=(srun -p "$PARTITION" --job-name="$JOB_NAME" "${gres[@]}"
     --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK"
     --kill-on-bad-exit=1 "${srun_args[@]}"
     "$py" -u "$train_py" "$CONFIG" --work-dir="$WORK_DIR" --launcher=slurm "$@")
if [ "${DRY_RUN:-0}" = 1 ]; then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi
exec "${cmd[@]}"

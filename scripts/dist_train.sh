#!/usr/bin/env bash
# Train a config on NPROC processes of this machine (mmdet's tools/dist_train.sh,
# with torchrun). One process per GPU; on a machine without CUDA the processes
# share the CPU and talk over gloo (owp/engine/distributed.py).
#
#   scripts/dist_train.sh CONFIG NPROC [mmdet train.py args: --work-dir D --resume --cfg-options ...]
#
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
# PYTHON ($repo/.venv/bin/python, else python3), DRY_RUN=1 prints the command only.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG NPROC [train.py args...]" >&2
  exit 2
fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/_python.sh"  # sets py: $PYTHON, else the repo's .venv, else python3
CONFIG=$1
NPROC=$2
shift 2
# mmdet's own train.py, as `mim train mmdet` runs it
train_py="$("$py" -c 'import os, mmdet; print(os.path.join(os.path.dirname(mmdet.__file__), ".mim", "tools", "train.py"))')"
cmd=("$py" -m torch.distributed.run
     --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}"
     --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}"
     --nproc_per_node="$NPROC"
     "$train_py" "$CONFIG" --launcher pytorch "$@")
if [ "${DRY_RUN:-0}" = 1 ]; then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi
exec "${cmd[@]}"

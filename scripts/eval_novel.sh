#!/usr/bin/env bash
# Class-agnostic recall on novel (and base) classes.
#
#   scripts/eval_novel.sh CONFIG CHECKPOINT [--split S] [--protocol remove|ignore|prefilter]
#                         [--max-dets 10,100|oln] [--out METRICS.json] [--dump-proposals P.json]
#                         [--cfg-options ...]
#   scripts/eval_novel.sh --ann ANN.json --results PROPOSALS.json --split SPLIT
#                         [--protocol remove|ignore|prefilter] [--max-dets 10,100|oln]
#                         [--out METRICS.json]
#
# Uses $PYTHON, else the repo's .venv, else python3. Model mode on N processes
# (GPUs, or CPU processes over gloo): NPROC=N [PORT=29500] scripts/eval_novel.sh CONFIG CKPT ...
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/_python.sh"  # sets py: $PYTHON, else the repo's .venv, else python3
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
if [ "${NPROC:-1}" -gt 1 ]; then
  exec "$py" -m torch.distributed.run --nproc_per_node "$NPROC" --master_port "${PORT:-29500}" \
    -m owp.tools.eval_novel "$@" --launcher pytorch
fi
# numpy asks for transparent huge pages on large arrays; on a busy machine their page
# faults (compaction) cost the evaluator's short-lived arrays ~0.1 s of system time
export NUMPY_MADVISE_HUGEPAGE="${NUMPY_MADVISE_HUGEPAGE:-0}"
exec "$py" -m owp.tools.eval_novel "$@"

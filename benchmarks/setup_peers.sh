#!/usr/bin/env bash
# The evaluators benchmarks/eval_speed.py compares owp with, in a venv of their
# own (benchmarks/.venv-peers, gitignored) so that owp's dependencies stay clean.
#
#   benchmarks/setup_peers.sh            # create or update the venv
#   PYTHON=python3.11 benchmarks/setup_peers.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-peers"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
# pinned: the versions the README's numbers were measured with
"$venv/bin/python" -m pip install -q \
  numpy==2.4.6 \
  pycocotools==2.0.11 \
  faster-coco-eval==1.8.0 \
  hotcoco==1.3.0 \
  ultrafast-pycocotools==0.1.14
"$venv/bin/python" -m pip list 2>/dev/null | grep -iE 'numpy|coco'

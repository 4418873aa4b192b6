#!/usr/bin/env bash
# Create (or reuse) a virtual environment with the owp stack installed.
#
#   scripts/setup_env.sh [VENV_DIR]        (default: .venv in the repo root)
#
# Order matters: mmcv 2.1.0 has no prebuilt wheel on PyPI, so pip builds it from
# source *against the installed torch* (no build isolation, setuptools<70, ~20 min
# on 2 cores). If a matching prebuilt wheel sits in $OWP_WHEELS (default:
# ../shared/wheels next to the repo, when that folder exists) pip takes it instead;
# that is only a cache, the build path is the real one.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.venv}"
stamp="$venv/.owp-installed"
wheels="${OWP_WHEELS:-$repo/../shared/wheels}"

req_hash() { cat "$repo/requirements.txt" "$repo/requirements-dev.txt" "$repo/pyproject.toml" | sha256sum | cut -d' ' -f1; }

mmcv_req=$(grep -E '^mmcv==' "$repo/requirements.txt" | cut -d' ' -f1)
mmcv_version=${mmcv_req#mmcv==}
# The stack imports, with the pinned mmcv and its compiled ops.
stack_ok() {
  "$venv/bin/python" -c "import mmcv, mmcv.ops, mmdet, mmengine, owp; assert mmcv.__version__ == '$mmcv_version', mmcv.__version__" 2>/dev/null
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(req_hash)" ]; then
  if stack_ok; then
    echo "[owp] reusing environment $venv"
    exit 0
  fi
  # pip trusts its own records (a deleted package still looks installed), so
  # rebuild from scratch; the stamp says this script made the folder.
  echo "[owp] $venv is stamped but its stack does not import: rebuilding it"
  rm -rf "$venv"
fi

python="${PYTHON:-python3}"
echo "[owp] creating/updating virtual environment at $venv with $($python --version)"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)

torch_req=$(grep -E '^torch==' "$repo/requirements.txt" | cut -d' ' -f1)
# TORCH_INDEX_URL picks a torch build, e.g. https://download.pytorch.org/whl/cpu
# for the CPU one (PyPI's default Linux x86_64 wheel is the CUDA build).
torch_index=()
[ -n "${TORCH_INDEX_URL:-}" ] && torch_index=(--index-url "$TORCH_INDEX_URL")
"${pip[@]}" install "${torch_index[@]}" "$torch_req"

if "$venv/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$mmcv_version'" 2>/dev/null; then
  echo "[owp] mmcv $mmcv_version with compiled ops already present"
else
  find_links=()
  if [ -d "$wheels" ]; then
    echo "[owp] using prebuilt-wheel cache $wheels for mmcv (if it matches this torch/python)"
    find_links=(--find-links "$wheels")
  else
    echo "[owp] no wheel cache: building $mmcv_req from source (about 20 minutes on 2 cores)"
  fi
  # mmcv 2.1.0's setup.py needs setuptools<70, torch 2.13 itself wants >=77.0.3:
  # downgrade just for this build, then restore.
  "${pip[@]}" install "setuptools<70" wheel ninja
  MMCV_WITH_OPS=1 FORCE_CUDA=0 "${pip[@]}" install --no-build-isolation "${find_links[@]}" "$mmcv_req"
  "${pip[@]}" install "setuptools>=77.0.3,<81"
fi

"${pip[@]}" install -r "$repo/requirements-dev.txt"
"${pip[@]}" install --no-deps -e "$repo"
if ! stack_ok; then
  "$venv/bin/python" -c "import mmcv, mmcv.ops, mmdet, mmengine, owp; print('mmcv', mmcv.__version__)" || true
  echo "[owp] error: the stack in $venv does not import (see above). pip trusts its records of" \
       "what is installed, so a damaged environment is not repaired by installing again:" \
       "remove it (rm -rf $venv) and run this again." >&2
  exit 1
fi
"$venv/bin/python" -c "import mmcv.ops, mmdet, mmengine, owp; print('[owp] stack OK: mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmengine', mmengine.__version__)"
req_hash > "$stamp"

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

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(req_hash)" ]; then
  echo "[owp] reusing environment $venv"
  exit 0
fi

python="${PYTHON:-python3}"
echo "[owp] creating/updating virtual environment at $venv with $($python --version)"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)

torch_req=$(grep -E '^torch==' "$repo/requirements.txt" | cut -d' ' -f1)
"${pip[@]}" install "$torch_req"

mmcv_req=$(grep -E '^mmcv==' "$repo/requirements.txt" | cut -d' ' -f1)
if "$venv/bin/python" -c "import mmcv.ops" 2>/dev/null; then
  echo "[owp] mmcv with compiled ops already present"
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
"$venv/bin/python" -c "import mmcv.ops, mmdet, mmengine, owp; print('[owp] stack OK: mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmengine', mmengine.__version__)"
req_hash > "$stamp"

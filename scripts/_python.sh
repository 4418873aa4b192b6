# Sourced by the scripts here (needs $repo): the Python to run, $PYTHON, else the
# repository's .venv, else python3.
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then py="$repo/.venv/bin/python"; else py=python3; fi
fi

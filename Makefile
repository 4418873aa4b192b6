# Two commands for a fresh machine (see README):
#   make quickstart   set up .venv (once) and run the shapes open-world quickstart
#   make test         set up .venv (once) and run the test suite
#   make lint         ruff (rules in pyproject.toml); `make lint-fix` applies its safe fixes
VENV ?= .venv
PY := $(VENV)/bin/python
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k head -x"`.
PYTEST_ARGS ?=

.PHONY: setup quickstart test lint lint-fix data bench clean-outputs

setup:
	bash scripts/setup_env.sh $(VENV)

quickstart: setup
	$(PY) scripts/quickstart.py

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .

lint-fix: setup
	$(PY) -m ruff check --fix .

data: setup
	$(PY) -m owp.datasets.shapes --out data/shapes

bench: setup
	$(PY) benchmarks/head_overhead.py
	$(PY) benchmarks/eval_speed.py

clean-outputs:
	rm -rf outputs work_dirs

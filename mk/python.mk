# Python layer: the groupkv package (bindings/python + python/groupkv), built by maturin into a
# virtualenv of its own, its pytest suite, and the stub check.
#
#   make python-dev    create .venv (maturin, pytest, hypothesis, mypy) and build groupkv into it
#   make test-python   pytest tests/python, mypy.stubtest (stubs match the module), mypy --strict
#   make demo-python   examples/demo.py: 16 threads writing with sync=True, then the statistics

PYTHON ?= python3
VENV ?= .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.groupkv-tools
PY_TOOLS := "maturin>=1.9,<2" "pytest>=8" "hypothesis>=6.100" "mypy>=1.10" "typing_extensions>=4.15"

.PHONY: python-venv python-dev test-python demo-python

python-venv: $(VENV_STAMP)

# Some distributions ship python3 without ensurepip; virtualenv (from PyPI) works there too.
$(VENV_STAMP): mk/python.mk
	$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --quiet --user virtualenv && \
	  $(PYTHON) -m virtualenv $(VENV); }
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet $(PY_TOOLS)
	touch $@

# An editable install: python/groupkv from the tree, the extension built in release mode
# (cargo makes this a no-op when nothing changed).
python-dev: $(VENV_STAMP)
	VIRTUAL_ENV="$(abspath $(VENV))" PATH="$(abspath $(VENV))/bin:$$PATH" \
	  $(VENV)/bin/maturin develop --release --quiet

test-python: python-dev
	$(VENV_PY) -m pytest -q
	$(VENV_PY) -m mypy.stubtest groupkv._groupkv
	$(VENV_PY) -m mypy

demo-python: python-dev
	@echo "== Python demo: 16 threads writing with sync=True, then the statistics"
	$(VENV_PY) examples/demo.py

TEST_TARGETS += test-python
DEMO_TARGETS += demo-python

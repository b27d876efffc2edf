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
from sim.waves import DEFAULT_SIGNALS, cut_vcd

__all__ = ["run_programs_on_rtl", "run_program_with_waves", "chip_build_dir"]


def chip_build_dir(config, *, waves=False):
    """Where the chip's Verilator model for ``config`` is built (a traced one apart)."""
    return BUILD / "sim" / f"chip-{config_directory(config).name}{'-waves' if waves else ''}"


def run_program_with_waves(config, program, target, *, first=0, last=None,
                           patterns=DEFAULT_SIGNALS, progress=None, name="waves"):
    """Run ``program`` on the traced chip model (a separate cached build) and write its
    waveform to ``target``: the signals matching ``patterns`` over program cycles ``first``
    .. ``last`` (to the end when ``None``; :func:`sim.waves.cut_vcd`). Returns ``(RunOutcome,
    signals written, clock periods written)``."""
    build_dir = chip_build_dir(config, waves=True)
    (outcome,), run_dir = _run(config, [program], progress, name, build_dir, waves=True)
    dump = run_dir / "dump.vcd"
    try:
        if progress:
            progress(f"cutting the waveform ({dump.stat().st_size / 1e6:.0f} MB) to cycles "
                     f"{first} .. {'the end' if last is None else last}")
        signals, periods = cut_vcd(dump, target, first=first,
                                   last=outcome.cycles if last is None else last,
                                   patterns=patterns)
    finally:
        dump.unlink(missing_ok=True)
    return outcome, signals, periods


def run_programs_on_rtl(config, programs, *, progress=None, name="programs", build_dir=None):
    """Load and run each :class:`~compiler.program.Program` in turn on one simulated chip.

    Returns one :class:`~isa.host.RunOutcome` per program, with its output regions and the
    wall-clock time of its run phase.
    """
    results, _ = _run(config, programs, progress, name, build_dir or chip_build_dir(config))
    return results


def _run(config, programs, progress, name, build_dir, *, waves=False):
    """``(outcomes, run directory)`` of ``programs`` on the model built in ``build_dir``."""
    verilog = export_chip(config, progress=progress)
    build_dir.mkdir(parents=True, exist_ok=True)
    # One pair of files per process: test workers and benchmarks may share a build.
    stem = build_dir / f"{name}-{os.getpid()}"
    inputs = stem.with_suffix(".in.pickle")
    outputs = stem.with_suffix(".out.pickle")
    with open(inputs, "wb") as handle:
        pickle.dump({"config": config, "programs": list(programs)}, handle)
    outputs.unlink(missing_ok=True)
    run_dir = run_cocotb(toplevel=CHIP_MODULE, sources=[verilog],
                         test_module="verification.tb_chip", build_dir=build_dir, run_name=name,
                         progress=progress, waves=waves,
                         extra_env={"LPU_PROGRAMS": str(inputs), "LPU_RESULTS": str(outputs)})
    with open(outputs, "rb") as handle:
        results = pickle.load(handle)
    inputs.unlink()
    outputs.unlink()
    return results, run_dir

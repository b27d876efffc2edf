"""Run compiled programs on the RTL (Verilator) from a pytest process or a command.

The chip's Verilog is the file ``make verilog`` writes (:func:`sim.verilog.export_chip`); the
Verilator build is cached per configuration under ``build/sim``.
"""

import contextlib
import os
import pickle
import threading

from hdl.chip import CHIP_MODULE
from sim.env import BUILD
from sim.runner import run_cocotb
from sim.verilog import config_directory, export_chip
from sim.waves import DEFAULT_SIGNALS, cut_vcd

__all__ = ["run_programs_on_rtl", "run_program_with_waves", "chip_build_dir",
           "progress_file"]


def chip_build_dir(config, *, waves=False):
    """Where the chip's Verilator model for ``config`` is built (a traced one apart)."""
    return BUILD / "sim" / f"chip-{config_directory(config).name}{'-waves' if waves else ''}"


@contextlib.contextmanager
def progress_file(path, say, *, every=20.0):
    """While the block runs, pass the last line a testbench wrote to ``path`` to ``say``
    every ``every`` seconds (when it changed): long simulator launches show they are alive.
    Yields ``path``; the file is removed afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    stop = threading.Event()

    def watch():
        shown = None
        while not stop.wait(every):
            lines = path.read_text().splitlines() if path.exists() else []
            if lines and lines[-1] != shown:
                shown = lines[-1]
                say(f"  {shown}")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield path
    finally:
        stop.set()
        watcher.join()
        path.unlink(missing_ok=True)


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


def run_programs_on_rtl(config, programs, *, progress=None, name="programs", build_dir=None,
                        progress_path=None):
    """Load and run each :class:`~compiler.program.Program` in turn on one simulated chip
    (reset once, before the first).

    Returns one :class:`~isa.host.RunOutcome` per program, with its output regions and the
    wall-clock time of its run phase. ``progress_path``, if given, gets a line per program as
    it completes (``LPU_PROGRESS`` of :mod:`verification.tb_chip`; see :func:`progress_file`).
    """
    results, _ = _run(config, programs, progress, name, build_dir or chip_build_dir(config),
                      progress_path=progress_path)
    return results


def _run(config, programs, progress, name, build_dir, *, waves=False, progress_path=None):
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
                         extra_env={"LPU_PROGRAMS": str(inputs), "LPU_RESULTS": str(outputs),
                                    **({"LPU_PROGRESS": str(progress_path)}
                                       if progress_path else {})})
    with open(outputs, "rb") as handle:
        results = pickle.load(handle)
    inputs.unlink()
    outputs.unlink()
    return results, run_dir

"""Run programs on several chips joined by links, on the RTL (Verilator), from a pytest
process or a command: the chips' Verilog is the one ``make verilog`` writes, the top
(:class:`~verification.system_top.SystemTop`) is exported beside it, the testbench is
:mod:`verification.tb_system`. The Verilator build is cached per configuration and chip count
under ``build/sim``.
"""

import hashlib
import os
import pickle
from pathlib import Path

from sim.env import BUILD
from sim.runner import run_cocotb
from sim.verilog import config_directory, export_chip, export_component
from .system_top import SystemTop, system_module

__all__ = ["run_system_on_rtl", "system_build_dir"]


def system_build_dir(config, chips):
    """Where the Verilator model of ``chips`` chips of ``config`` is built."""
    return BUILD / "sim" / f"system{chips}-{config_directory(config).name}"


def run_system_on_rtl(config, connections, programs, *, seed=0, progress=None, name="system",
                      progress_path=None):
    """Run one :class:`~compiler.program.Program` per chip of ``config`` (``programs``), the
    chips joined by ``connections`` (:class:`~golden.archsim.system.Connection`) through
    channels drawn from ``seed``, all started in one cycle.

    Returns ``{"outcomes": [RunOutcome per chip, with its outputs], "links": {(chip, port):
    {register: value}}, "up_cycles": int}`` (:mod:`verification.tb_system`)."""
    programs = list(programs)
    chips = len(programs)
    module = system_module(config, chips)
    # The top is part of the exported design: its source is part of the cache key.
    top = hashlib.sha256(Path(__file__).with_name("system_top.py").read_bytes())
    sources = [export_chip(config, progress=progress),
               export_component(module, lambda: SystemTop(config, chips), config=config,
                                parameters=f"chips={chips} {top.hexdigest()[:16]}", memories=False)]
    build_dir = system_build_dir(config, chips)
    build_dir.mkdir(parents=True, exist_ok=True)
    stem = build_dir / f"{name}-{os.getpid()}"
    inputs, outputs = stem.with_suffix(".in.pickle"), stem.with_suffix(".out.pickle")
    with open(inputs, "wb") as handle:
        pickle.dump({"config": config, "connections": list(connections),
                     "programs": programs, "seed": seed}, handle)
    outputs.unlink(missing_ok=True)
    run_cocotb(toplevel=module, sources=sources, test_module="verification.tb_system",
               build_dir=build_dir, run_name=name, progress=progress,
               extra_env={"LPU_SYSTEM": str(inputs), "LPU_RESULTS": str(outputs),
                          **({"LPU_PROGRESS": str(progress_path)} if progress_path else {})})
    with open(outputs, "rb") as handle:
        results = pickle.load(handle)
    inputs.unlink()
    outputs.unlink()
    return results

"""Build and run cocotb testbenches on Verilator.

Builds are cached per directory: an unchanged rebuild costs a fraction of a second. Only the top
module's ports are visible to the testbench (a Verilator control file), not every signal as the
cocotb runner would make them: full visibility made a 16x16 array build four times slower and
simulate three to five times slower.
"""

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

from hdl.sram import MODULE_NAME as SRAM_MODULE
from .env import BUILD, setup_verilator
from .verilog import locked

__all__ = ["VERILATOR_ARGS", "build_model", "run_cocotb", "module_ports", "CocotbFailure"]

#: Warnings in Amaranth's generated Verilog are waived for simulation builds; `make lint`
#: checks the same files with `-Wall` and the documented waivers. Splitting generated functions
#: at 1000 statements cut the C++ compile of the `tiny` chip from 170 s to 35 s: g++ is
#: superlinear in function size.
VERILATOR_ARGS = ["-Wno-lint", "-Wno-style", "-O3", "--x-assign", "fast", "--x-initial", "fast",
                  "--output-split-cfuncs", "1000"]


class CocotbFailure(AssertionError):
    """A cocotb testbench reported failures (details in its log and results file)."""


def _runner_class():
    # cocotb comes with the `sim` extra; the rest of the module works without it.
    from cocotb_tools.runner import Verilator

    class PortsOnlyVerilator(Verilator):
        def _build_command(self):
            commands = super()._build_command()
            commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
            return commands

    return PortsOnlyVerilator


def module_ports(sources, module):
    """The port names of ``module``, read from its header in the Verilog ``sources``."""
    pattern = re.compile(rf"^module {re.escape(module)}\s*\(([^)]*)\);", re.M)
    for source in sources:
        match = pattern.search(Path(source).read_text())
        if match:
            return [name.strip() for name in match[1].split(",") if name.strip()]
    raise ValueError(f"module {module} not found in {[str(s) for s in sources]}")


def _control_file(sources, toplevel):
    # Only the top's ports are made visible: a signal that VPI may write is an input to
    # Verilator, and logic depending on inputs is re-evaluated at every eval() call (making the
    # chip top's internal wiring public halved simulation speed).
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{toplevel}" -var "{port}"'
              for port in module_ports(sources, toplevel)]
    # The SRAM arrays too, for fault injection (verification/faults.py): only the clocked
    # read depends on them, so nothing more is re-evaluated.
    if any(re.search(rf"^module {SRAM_MODULE}\b", Path(source).read_text(), re.M)
           for source in sources):
        lines.append(f'public_flat_rw -module "{SRAM_MODULE}" -var "mem"')
    return "\n".join(lines) + "\n"


#: Verilator's runtime library, compiled into every model: identical across models built with
#: the same flags, so compiled once and copied (about 30 s of every build otherwise). cocotb's
#: `verilator.o` includes the model's header and is not shared.
_RUNTIME = ("verilated", "verilated_dpi", "verilated_threads", "verilated_vpi")


def _runtime_cache(waves):
    root = os.environ.get("VERILATOR_ROOT", "")
    key = hashlib.sha256(f"{root} {os.environ.get('MAKEFLAGS', '')} {waves} "
                         f"{' '.join(VERILATOR_ARGS)}".encode()).hexdigest()[:12]
    return BUILD / "sim" / "_runtime" / key


def _share_runtime(build_dir, waves, *, store):
    """Copy the runtime objects into ``build_dir`` from the cache (or, with ``store``, from
    ``build_dir`` into the cache). Copies keep modification times, so make sees them fresh."""
    cache = _runtime_cache(waves)
    source, target = (build_dir, cache) if store else (cache, build_dir)
    if store:
        cache.mkdir(parents=True, exist_ok=True)
    for name in _RUNTIME:
        for suffix in (".o", ".d"):
            if (source / f"{name}{suffix}").exists() and not (target / f"{name}{suffix}").exists():
                if source.exists():
                    shutil.copy2(source / f"{name}{suffix}", target / f"{name}{suffix}")


def _up_to_date(build_dir, toplevel, sources):
    """Whether the model in ``build_dir`` is newer than every source (make will reuse it)."""
    model = build_dir / toplevel
    if not model.exists():
        return False
    built = model.stat().st_mtime
    return all(Path(source).stat().st_mtime <= built for source in sources)


def build_model(*, toplevel, sources, build_dir, waves=False, clean=False, progress=None):
    """Build (or reuse) the Verilator model of ``toplevel`` in ``build_dir``; returns the
    runner, ready to run tests, and the seconds the build took. ``progress(message)`` hears
    whether the model is cached or being built (and where the build's log is)."""
    setup_verilator()
    build_dir = Path(build_dir).resolve()
    if clean and build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    control = build_dir / "public.vlt"
    text = _control_file(sources, toplevel)
    runner = _runner_class()()
    with locked(build_dir):
        if not control.exists() or control.read_text() != text:
            control.write_text(text)
        log = build_dir / "build.log"
        start = time.monotonic()
        if progress:
            if _up_to_date(build_dir, toplevel, sources):
                progress(f"Verilator model of {toplevel}: cached ({build_dir})")
            else:
                progress(f"Verilator model of {toplevel}: building, a few minutes for a "
                         f"chip (log: {log})")
        with locked(_runtime_cache(waves)):
            _share_runtime(build_dir, waves, store=False)
        try:
            runner.build(sources=[Path(s).resolve() for s in sources], hdl_toplevel=toplevel,
                         build_dir=build_dir, build_args=VERILATOR_ARGS + [str(control)],
                         waves=waves, timescale=("1ns", "1ps"), log_file=log)
        except (SystemExit, Exception) as error:
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise CocotbFailure(f"Verilator build of {toplevel} failed ({error}); "
                                f"log {log}:\n{tail}") from None
        with locked(_runtime_cache(waves)):
            _share_runtime(build_dir, waves, store=True)
    seconds = time.monotonic() - start
    if progress and seconds > 5:
        progress(f"Verilator model of {toplevel}: built in {seconds:.0f} s")
    return runner, seconds


def run_cocotb(*, toplevel, sources, test_module, build_dir, extra_env=None, testcase=None,
               waves=False, run_name="run", progress=None):
    """Build ``sources`` (cached in ``build_dir``; ``progress`` as :func:`build_model` takes
    it) and run the cocotb module ``test_module``.

    Returns the directory the run wrote its files to. Raises :class:`CocotbFailure` when a
    cocotb test fails or the simulator exits with an error.
    """
    from cocotb_tools.check_results import get_results     # the `sim` extra, as above

    build_dir = Path(build_dir).resolve()
    runner, _ = build_model(toplevel=toplevel, sources=sources, build_dir=build_dir,
                            waves=waves, progress=progress)
    run_dir = build_dir / f"{run_name}-{os.getpid()}"
    run_dir.mkdir(exist_ok=True)
    results = run_dir / "results.xml"
    try:
        # cocotb rewrites assertions in every module it imports unless told which: only the
        # testbenches (about a second per run otherwise).
        env = {"COCOTB_REWRITE_ASSERTION_FILES": "tb_*.py", **(extra_env or {})}
        runner.test(hdl_toplevel=toplevel, test_module=test_module, build_dir=build_dir,
                    test_dir=run_dir, testcase=testcase, waves=waves,
                    timescale=("1ns", "1ps"), extra_env=env,
                    results_xml=str(results), log_file=run_dir / "sim.log")
    except SystemExit as exit:
        raise CocotbFailure(f"cocotb tests of {toplevel} failed (exit {exit.code}); "
                            f"see {run_dir / 'sim.log'}") from None
    tests, failed = get_results(results)
    if failed:
        raise CocotbFailure(f"{failed} of {tests} cocotb tests of {toplevel} failed; "
                            f"see {run_dir / 'sim.log'}")
    if tests == 0:
        raise CocotbFailure(f"no cocotb test of {toplevel} ran; see {run_dir / 'sim.log'}")
    return run_dir

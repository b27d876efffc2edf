"""``lpu run``: assemble a program, run it on the golden simulator, the RTL or both, and print
its cycle count, error flags and output regions.

    lpu run PROGRAM.s [--preset P] [--set FIELD=VALUE] [--engine golden|rtl|both]
                      [--data FILE.npz] [--save FILE.npz] [--lenient]
                      [--trace FILE.json] [--svg FILE.svg]
                      [--waves FILE.vcd [--from C] [--to C] [--streams UNIT,...]
                       [--signal PATTERN]]

The program's SRAM contents and the regions read back come from its ``.data`` and ``.output``
directives (:mod:`compiler.asm`) and from ``--data``: a NumPy ``.npz`` file whose arrays are
named ``<slice>@<address>`` (``mem_w0@16``) and hold bytes, ``[words, lanes]`` (or flat, whole
words). With ``--engine both`` the command compares the engines bit for bit and on the cycle
count (:func:`verification.compare.compare_runs`) and names the first difference; it exits 1
when they differ or a run raises an error flag. ``--trace`` and ``--svg`` write the schedule
as the golden simulator ran it (:mod:`compiler.schedule_trace`). ``--waves`` runs the RTL on
the traced chip model (a separate cached build) and writes a VCD of program cycles ``--from``
.. ``--to`` with the signals of :data:`sim.waves.DEFAULT_SIGNALS`, the stream registers beside
the ``--streams`` units and any ``--signal`` pattern (:mod:`sim.waves`).
"""

import argparse
import re
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from compiler.asm import UNSIGNED_NUMBER, AsmError
from compiler.schedule_trace import record
from golden.archsim import ArchSim
from golden.archsim.checks import ChipError, ProgramError
from isa.geometry import floorplan
from sim.runner import CocotbFailure
from sim.waves import DEFAULT_SIGNALS, WavesError, stream_signals
from verification.compare import compare_runs
from verification.system import run_program_with_waves, run_programs_on_rtl
from .asm import assemble_file
from .arguments import (Progress, add_config_arguments, add_view_arguments,
                        config_from_arguments, wants_views, write_views)

__all__ = ["main", "load_data"]

ENGINES = ("golden", "rtl", "both")
#: Words of a region printed in full; longer regions show their first words.
SHOWN_WORDS = 8


class InputError(Exception):
    """Bad input named on one line."""


def load_data(program, path):
    """Add the SRAM images of the ``.npz`` file ``path`` (arrays named ``<slice>@<address>``)
    to ``program``; a bad array raises :class:`InputError` and adds none of the file's."""
    config = program.config
    names = [unit.name for unit in floorplan(config).mem_units]
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        reason = "no such file" if not Path(path).exists() else f"not an .npz archive ({error})"
        raise InputError(f"--data {path}: {reason}") from None
    images = []
    with archive:
        for key in archive.files:
            match = re.fullmatch(rf"(\w+)@({UNSIGNED_NUMBER})", key)
            if not match or match[1] not in names:
                raise InputError(f"--data {path}: array {key!r} is not named <slice>@<address> "
                                 f"with a slice of preset {config.name!r} ({names[0]} .. "
                                 f"{names[-1]})")
            try:
                values = archive[key]
            except (OSError, ValueError, zipfile.BadZipFile, zlib.error) as error:
                raise InputError(f"--data {path}: array {key!r} does not read ({error})") from None
            if not np.issubdtype(values.dtype, np.integer) or values.size % config.lanes or \
                    not values.size:
                raise InputError(f"--data {path}: array {key!r} must hold integers filling "
                                 f"whole words of {config.lanes} lanes, not {values.size} "
                                 f"{values.dtype} values")
            if values.min() < -128 or values.max() > 255:
                raise InputError(f"--data {path}: array {key!r} must hold bytes (-128 .. 255)")
            words = (values.astype(np.int64).reshape(-1, config.lanes) & 0xFF).astype(np.uint8)
            address = int(match[2], 0)
            if address + len(words) > config.words:
                raise InputError(f"--data {path}: array {key!r} of {len(words)} words runs "
                                 f"past the {config.words} words of a slice")
            images.append((names.index(match[1]), address, words))
    program.sram.extend(images)


def _run(program, args, progress):
    """``({engine: RunOutcome}, ScheduleRecord or None)`` of the engines ``args.engine``
    names; the golden run is recorded for the views when they are asked for (one run
    serves both)."""
    engine, strict = args.engine, not args.lenient
    runs, schedule = {}, None
    if engine in ("golden", "both"):
        progress("golden simulator ...")
        try:
            if wants_views(args):
                schedule = record(program, strict=strict)
                runs["golden"] = schedule.outcome
            else:
                runs["golden"] = ArchSim(program.config, strict=strict).execute(program)
        except ProgramError as error:
            raise InputError(f"the golden simulator stopped the program: {error} (--lenient "
                             f"runs it as the RTL does)") from None
        except ChipError as error:
            raise InputError(f"the program does not load: {error}") from None
    if engine in ("rtl", "both"):
        if args.waves:
            progress("RTL (Verilator, traced) ...")
            patterns = DEFAULT_SIGNALS + stream_signals(args.streams) + tuple(args.signal)
            runs["rtl"], signals, periods = run_program_with_waves(
                program.config, program, args.waves, first=args.first, last=args.last,
                patterns=patterns, progress=progress, name="lpu-waves")
            progress(f"wrote {args.waves}: {signals} signals over {periods} clock periods")
        else:
            progress("RTL (Verilator) ...")
            runs["rtl"], = run_programs_on_rtl(program.config, [program], progress=progress,
                                               name="lpu-run")
    return runs, schedule


def _units(text):
    units = [unit.strip() for unit in text.split(",") if unit.strip()]
    if not units:
        raise argparse.ArgumentTypeError("name at least one unit (vxm, mem_w0, sxm_e0, ...)")
    return units


def _cycle(text):
    try:
        value = int(text, 0)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a cycle number (0 or more), not {text!r}")
    return value


def _region_text(region, words, plan):
    lines = [f"  {region.name}: {plan.mem_units[region.slice].name} words "
             f"{region.address} .. {region.address + region.count - 1}"]
    for k, word in enumerate(words[:SHOWN_WORDS]):
        lines.append(f"    [{region.address + k}] " + " ".join(f"{b:3d}" for b in word))
    if len(words) > SHOWN_WORDS:
        lines.append(f"    ... {len(words) - SHOWN_WORDS} more words (--save writes them all)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu run", description=(
        "Assemble a program and run it on the golden simulator, the RTL or both."))
    parser.add_argument("program", type=Path, help="the assembly file")
    parser.add_argument("--engine", choices=ENGINES, default="golden",
                        help="where to run it (both: and compare them); default golden")
    parser.add_argument("--data", type=Path, action="append", default=[], metavar="FILE.npz",
                        help="SRAM images: arrays named <slice>@<address> (repeatable)")
    parser.add_argument("--save", type=Path, metavar="FILE.npz",
                        help="write every output region read back (of the first engine)")
    parser.add_argument("--lenient", action="store_true",
                        help="let the golden simulator run a program that reads what nothing "
                             "wrote, as the RTL does (it reads zeros)")
    add_config_arguments(parser, allow_all=False)
    add_view_arguments(parser)
    waves = parser.add_argument_group("waveforms (RTL runs)")
    waves.add_argument("--waves", type=Path, metavar="FILE.vcd",
                       help="write a VCD of the run (GTKWave, Surfer)")
    waves.add_argument("--from", dest="first", type=_cycle, default=0, metavar="CYCLE",
                       help="first program cycle of the waveform (default 0)")
    waves.add_argument("--to", dest="last", type=_cycle, default=None, metavar="CYCLE",
                       help="last program cycle of the waveform (default: the end)")
    waves.add_argument("--streams", type=_units, default=["vxm"], metavar="UNIT,...",
                       help="units beside which to show the stream registers (default vxm)")
    waves.add_argument("--signal", action="append", default=[], metavar="PATTERN",
                       help="also show the signals matching this pattern of dotted paths "
                            "below the chip top, e.g. 'mxm_w0.unit.*' (repeatable)")
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)
    if args.waves and args.engine == "golden":
        parser.error("--waves records the RTL: add --engine rtl or --engine both")
    if args.last is not None and args.last < args.first:
        parser.error(f"--to {args.last} is before --from {args.first}")
    progress = Progress()
    path = args.program
    try:
        program = assemble_file(path, config)
        for data in args.data:
            load_data(program, data)
        runs, schedule = _run(program, args, progress)
    except (AsmError, InputError, OSError, WavesError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except CocotbFailure as error:
        # The simulation itself failed (a program that never halts within its budget, a
        # build error): the first line names the log.
        print(f"error: the RTL run failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    plan = floorplan(config)
    first = next(iter(runs.values()))
    for engine, outcome in runs.items():
        flags = "none" if not outcome.errors else (
            f"{outcome.errors!r} (first in queue {outcome.error_queue} at cycle "
            f"{outcome.error_cycle})")
        print(f"{engine}: {outcome.cycles} cycles, error flags: {flags}")
    if not program.outputs:
        print("no output regions (name them with .output NAME SLICE ADDRESS COUNT)")
    else:
        print(f"output regions ({next(iter(runs))}):")
        for region in program.outputs:
            print(_region_text(region, first.outputs[region.name], plan))
    if args.save:
        try:
            np.savez(args.save, **first.outputs)
        except OSError as error:
            print(f"error: cannot write {args.save}: {error.strerror}", file=sys.stderr)
            return 1
        print(f"saved {len(first.outputs)} regions to {args.save}")
    if len(runs) > 1:
        comparison = compare_runs(program, runs, errors="equal", name=path.name)
        if comparison.outputs or comparison.timing or comparison.errors:
            print(f"the engines differ:\n{comparison.report()}")
            return 1
        print(f"the engines agree: every output word and the cycle count "
              f"({first.cycles}) are equal")
    status = write_views(program, args, path.name, strict=not args.lenient,
                         schedule=schedule)
    return 1 if status or any(outcome.errors for outcome in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

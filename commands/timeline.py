"""A picture of a program's schedule (:func:`compiler.timeline.timeline`): which queue issues
what in which cycle, for a GEMM or for the composed program of
:func:`verification.programs.composed_case` (GEMM, requantisation, row sums).

    python -m commands.timeline --gemm 64 96 64 --preset tiny --cycles 0:160
    python -m commands.timeline --composed 4 --preset tiny
    python -m commands.timeline --layer 16 --preset default --bucket 50

``--layer T`` compiles a small encoder layer (width 64, two heads, feed-forward 128, random
integer weights) on ``T`` tokens and draws its occupancy, ``--bucket`` cycles per column.
``--trace FILE.json`` also writes the schedule as a Chrome trace (Perfetto,
``chrome://tracing``), ``--svg FILE.svg`` as a picture (:mod:`compiler.schedule_trace`).
"""

import argparse
import sys

from compiler.layer import compile_encoder_layer
from compiler.queues import ScheduleError
from compiler.timeline import occupancy, timeline
from golden.transformer.quantize import build_tables
from isa import ConfigError, preset
from verification.gemm_cases import gemm_case
from verification.model_cases import integer_only_layer, integer_sequence
from verification.programs import composed_case
from .arguments import add_view_arguments, write_views

__all__ = ["main"]


def _positive(text):
    """An argument that must be a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def _cycles(text):
    """``first:last``, two cycle numbers with ``0 <= first <= last``."""
    first, sep, last = text.partition(":")
    try:
        first, last = int(first), int(last)
    except ValueError:
        sep = ""
    if not sep or not 0 <= first <= last:
        raise argparse.ArgumentTypeError(f"must be first:last with 0 <= first <= last, "
                                         f"not {text!r}")
    return first, last


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu timeline")
    parser.add_argument("--preset", default="tiny")
    program = parser.add_mutually_exclusive_group(required=True)
    program.add_argument("--gemm", nargs=3, type=_positive, metavar=("M", "K", "N"),
                         help="a GEMM of these dimensions")
    program.add_argument("--composed", type=_positive, metavar="M",
                         help="the composed program (GEMM, requantisation, row sums) of M rows")
    program.add_argument("--layer", type=_positive, metavar="T",
                         help="a small encoder layer on T tokens (drawn as occupancy)")
    parser.add_argument("--cycles", type=_cycles, default=None,
                        help="first:last cycle to draw")
    parser.add_argument("--bucket", type=_positive, default=100,
                        help="cycles per column of a layer's occupancy (default 100)")
    add_view_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = preset(args.preset)
    except ConfigError as error:
        parser.error(str(error))
    try:
        if args.layer:
            params = integer_only_layer(1, width=64, heads=2, ffn=128)
            kernel = compile_encoder_layer(config, params, build_tables(), args.layer)
            program = kernel.bind({"x": integer_sequence(1, args.layer, 64)})
            title = f"encoder layer (width 64) on {args.layer} tokens"
            print(occupancy(program, args.bucket))
        else:
            if args.gemm:
                case = gemm_case(config, *args.gemm, seed=0)
                title = "GEMM {} x {} x {}".format(*args.gemm)
            else:
                case = composed_case(config, m=args.composed, seed=0)
                title = f"GEMM, requantisation, row sums of {args.composed} rows"
            program = case.program
            first, last = args.cycles or (0, None)
            print(timeline(program, first, last))
    except ScheduleError as error:
        # The program does not fit the preset: one line, not a traceback.
        print(f"lpu timeline: {error}", file=sys.stderr)
        return 1
    return write_views(program, args, title)


if __name__ == "__main__":
    sys.exit(main())

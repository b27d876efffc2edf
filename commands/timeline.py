"""A picture of a program's schedule (:func:`compiler.timeline.timeline`): which queue issues
what in which cycle, for a GEMM or for the composed program of
:func:`verification.programs.composed_case` (GEMM, requantisation, row sums).

    python -m commands.timeline --gemm 64 96 64 --preset tiny --cycles 0:160
    python -m commands.timeline --composed 4 --preset tiny
"""

import argparse
import sys

from compiler.timeline import timeline
from isa import ConfigError, preset
from verification.gemm_cases import gemm_case
from verification.programs import composed_case

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m commands.timeline")
    parser.add_argument("--preset", default="tiny")
    program = parser.add_mutually_exclusive_group(required=True)
    program.add_argument("--gemm", nargs=3, type=int, metavar=("M", "K", "N"),
                         help="a GEMM of these dimensions")
    program.add_argument("--composed", type=int, metavar="M",
                         help="the composed program (GEMM, requantisation, row sums) of M rows")
    parser.add_argument("--cycles", default=None, help="first:last cycle to draw")
    args = parser.parse_args(argv)
    try:
        config = preset(args.preset)
    except ConfigError as error:
        parser.error(str(error))
    if args.gemm:
        case = gemm_case(config, *args.gemm, seed=0)
    else:
        case = composed_case(config, m=args.composed, seed=0)
    first, last = 0, None
    if args.cycles:
        first, last = (int(x) for x in args.cycles.split(":"))
    print(timeline(case.program, first, last))
    return 0


if __name__ == "__main__":
    sys.exit(main())

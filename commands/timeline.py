"""A picture of a GEMM's schedule (:func:`compiler.timeline.timeline`): which queue issues
what in which cycle.

    python -m commands.timeline --gemm 64 96 64 --preset tiny --cycles 0:160
"""

import argparse
import sys

from compiler.timeline import timeline
from isa import ConfigError, preset
from verification.gemm_cases import gemm_case

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m commands.timeline")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--gemm", nargs=3, type=int, metavar=("M", "K", "N"), required=True)
    parser.add_argument("--cycles", default=None, help="first:last cycle to draw")
    args = parser.parse_args(argv)
    try:
        config = preset(args.preset)
    except ConfigError as error:
        parser.error(str(error))
    case = gemm_case(config, *args.gemm, seed=0)
    first, last = 0, None
    if args.cycles:
        first, last = (int(x) for x in args.cycles.split(":"))
    print(timeline(case.program, first, last))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make soak``: random programs back to back on one simulated chip (reset once) for at least
a million cycles, each bit-exact and cycle-exact against the golden simulator and NumPy
(:mod:`verification.soak`).

    python -m commands.soak [--preset tiny] [--set FIELD=VALUE] [--cycles 1000000] [--seed 0]

Prints the programs run, the cycles simulated and the wall time; exits 1 if a program differs.
"""

import argparse
import sys

from verification.soak import run_soak
from .arguments import Progress, add_config_arguments, config_from_arguments

__all__ = ["main", "DEFAULT_CYCLES"]

#: The soak's length unless told otherwise.
DEFAULT_CYCLES = 1_000_000


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu soak", description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.set_defaults(preset="tiny")
    parser.add_argument("--cycles", type=int, default=DEFAULT_CYCLES,
                        help=f"run at least this many cycles (default {DEFAULT_CYCLES:,})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random programs")
    args = parser.parse_args(argv)
    if args.cycles < 1:
        parser.error(f"--cycles must be at least 1, not {args.cycles}")
    config = config_from_arguments(parser, args)
    progress = Progress()
    report = run_soak(config, cycles=args.cycles, seed=args.seed, progress=progress)
    print(report.table())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

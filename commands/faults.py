"""``make faults``: the ECC fault campaign on the RTL: single and double bit flips in stored SRAM
words while programs of the regression run, each classified against the golden simulator's
read schedule (:mod:`verification.fault_campaign`).

    python -m commands.faults [--preset tiny] [--set FIELD=VALUE] [--count 10000] [--seed 0]

Prints the injections, their verdicts and the time; exits 1 unless every single flip was
corrected and every double flip flagged.
"""

import argparse
import sys

from verification.fault_campaign import run_campaign
from .arguments import Progress, add_config_arguments, config_from_arguments

__all__ = ["main", "DEFAULT_COUNT"]

#: Injections of a campaign unless told otherwise.
DEFAULT_COUNT = 10_000


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu faults", description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.set_defaults(preset="tiny")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT,
                        help=f"injections (default {DEFAULT_COUNT:,}), half single, half double")
    parser.add_argument("--seed", type=int, default=0, help="seed of the injections")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, not {args.count}")
    config = config_from_arguments(parser, args)
    report = run_campaign(config, args.count, seed=args.seed, progress=Progress())
    print(report.table())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

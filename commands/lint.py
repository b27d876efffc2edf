"""``make lint``: ``verilator --lint-only -Wall`` on the exported Verilog.

    python -m commands.lint --preset tiny
    python -m commands.lint --preset all

Lints the very file ``make verilog`` writes with the waivers of :data:`sim.lint.WAIVERS` (one
file, one reason per line, each scoped to generated Verilog), and the hand-written ``lpu_sram``
module on its own with no waiver at all. Clean means: Verilator exits 0 and prints no warning.
"""

import argparse
import sys

from hdl.sram import MODULES
from sim.lint import lint_chip, lint_sram
from .arguments import Progress, add_config_arguments, configs_from_arguments

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu lint",
                                     description=__doc__.split("\n")[0])
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    configs = configs_from_arguments(parser, args)
    progress = Progress()
    failed = 0
    for module in MODULES:
        sram = lint_sram(module)
        print(f"{module} (hand-written, no waivers): {sram.summary()}")
        failed += not sram.clean
    for config in configs:
        result = lint_chip(config, progress=progress)
        print(f"{config.name}: {result.path}: {result.summary()}")
        if not result.clean:
            failed += 1
            print(result.output[-4000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""``make verilog``: write the chip's Verilog for one preset, or for all of them.

    python -m commands.verilog --preset tiny          # build/verilog/tiny/lpu_chip.v
    python -m commands.verilog --preset all           # every preset in isa.config.PRESETS
    python -m commands.verilog --preset tiny --set vxm_alus=2 --set words=1024

The file is the one :func:`sim.verilog.export_chip` writes and the regression simulates: one
self-contained Verilog file (chip top, shared cells, the ``lpu_sram`` module) whose header
records the configuration and a cache key. ``--set`` derives a configuration from the preset
(its files go to ``build/verilog/<preset>-<hash>``), for trying other geometries.
"""

import argparse
import re
import sys
import time

from sim.verilog import export_chip
from .arguments import Progress, add_config_arguments, configs_from_arguments

__all__ = ["main"]


def _module_count(path):
    with open(path) as handle:
        return sum(1 for line in handle if re.match(r"module\s", line))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu verilog",
                                     description=__doc__.split("\n")[0])
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    progress = Progress()
    for config in configs_from_arguments(parser, args):
        begin = time.monotonic()
        path = export_chip(config, progress=progress)
        size = path.stat().st_size
        print(f"{config.name}: {path} ({size / 1e6:.1f} MB, {_module_count(path)} modules, "
              f"{time.monotonic() - begin:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

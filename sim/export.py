"""``make verilog``: write the chip's Verilog for one preset, or for all of them.

    python -m sim.export --preset tiny          # build/verilog/tiny/lpu_chip.v
    python -m sim.export --preset all           # every preset in isa.config.PRESETS
    python -m sim.export --preset tiny --set vxm_alus=2 --set words=1024

The file is the one :func:`sim.verilog.export_chip` writes and the regression simulates: one
self-contained Verilog file (chip top, shared cells, the ``lpu_sram`` module) whose header
records the configuration and a cache key. ``--set`` derives a configuration from the preset
(its files go to ``build/verilog/<preset>-<hash>``), for trying other geometries.
"""

import argparse
import re
import sys
import time

from isa.config import ConfigError, PRESETS, preset
from .verilog import export_chip

__all__ = ["resolve_config", "add_config_arguments", "configs_from_arguments",
           "config_from_arguments", "Progress",
           "main"]


def resolve_config(name, overrides=()):
    """The preset ``name`` with ``overrides`` (``"field=value"`` strings) applied.

    Raises :class:`~isa.config.ConfigError` naming the bad preset, field or value."""
    config = preset(name)
    changes = {}
    for item in overrides:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise ConfigError(f"Override must be written field=value, not {item!r}")
        try:
            changes[field.strip()] = int(value, 0)
        except ValueError:
            raise ConfigError(f"Override {field.strip()} must be an integer, "
                              f"not {value!r}") from None
    return config.derive(**changes) if changes else config


def add_config_arguments(parser, *, allow_all=True):
    """Add ``--preset`` and ``--set`` to an :class:`argparse.ArgumentParser`."""
    names = ", ".join(sorted(PRESETS)) + (", or all" if allow_all else "")
    parser.add_argument("--preset", default="default", help=f"preset name ({names})")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="FIELD=VALUE",
                        help="override one configuration field of the preset (repeatable)")


def configs_from_arguments(parser, args):
    """The configurations selected by ``--preset``/``--set``; exits with the error message."""
    names = sorted(PRESETS) if args.preset == "all" else [args.preset]
    try:
        return [resolve_config(name, args.overrides) for name in names]
    except ConfigError as error:
        parser.error(str(error))


def config_from_arguments(parser, args):
    """The one configuration selected by ``--preset``/``--set`` (for commands that run a single
    chip, whose parser got ``add_config_arguments(parser, allow_all=False)``)."""
    if args.preset == "all":
        parser.error("--preset all is not available here: name one preset")
    [config] = configs_from_arguments(parser, args)
    return config


class Progress:
    """Timestamped progress lines on stderr (long runs must show they are alive)."""

    def __init__(self, stream=None):
        self.start = time.monotonic()
        self.stream = stream or sys.stderr

    def __call__(self, message):
        print(f"[{time.monotonic() - self.start:7.1f} s] {message}", file=self.stream,
              flush=True)


def _module_count(path):
    with open(path) as handle:
        return sum(1 for line in handle if re.match(r"module\s", line))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.export", description=__doc__.split("\n")[0])
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

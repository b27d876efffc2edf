"""What every command shares: ``--preset`` / ``--set`` configuration arguments, and
timestamped progress lines for long runs."""

import sys
import time

from isa.config import ConfigError, PRESETS, preset

__all__ = ["resolve_config", "add_config_arguments", "configs_from_arguments",
           "config_from_arguments", "Progress"]


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

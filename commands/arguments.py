"""What every command shares: ``--preset`` / ``--set`` configuration arguments, ``--trace`` /
``--svg`` views of a program's schedule, and timestamped progress lines for long runs."""

import sys
import time
from pathlib import Path

from tqdm import tqdm

from compiler.schedule_trace import record, schedule_svg, write_chrome_trace
from isa.config import ConfigError, PRESETS, preset

__all__ = ["resolve_config", "add_config_arguments", "configs_from_arguments",
           "config_from_arguments", "add_view_arguments", "wants_views", "write_views",
           "Progress"]


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


def add_view_arguments(parser):
    """``--trace`` and ``--svg``: the schedule as a Chrome trace and as a picture."""
    parser.add_argument("--trace", type=Path, metavar="FILE.json",
                        help="write the schedule as a Chrome trace (open it in Perfetto)")
    parser.add_argument("--svg", type=Path, metavar="FILE.svg",
                        help="write the schedule as an SVG picture")


def wants_views(args):
    """Whether :func:`add_view_arguments`' options ask for a view."""
    return bool(args.trace or args.svg)


def write_views(program, args, title, *, strict=True, schedule=None):
    """Write the views :func:`add_view_arguments` asked for, of ``schedule`` (recorded here
    when not given: :func:`compiler.schedule_trace.record`); the exit status."""
    if not wants_views(args):
        return 0
    schedule = schedule or record(program, strict=strict)
    try:
        if args.trace:
            write_chrome_trace(schedule, args.trace)
            print(f"wrote {args.trace} ({len(schedule.issues)} issues over {schedule.cycles} "
                  f"cycles: open it at https://ui.perfetto.dev)")
        if args.svg:
            args.svg.write_text(schedule_svg(schedule, title=title), encoding="utf-8")
            print(f"wrote {args.svg}")
    except OSError as error:
        print(f"error: cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


class Progress:
    """Progress of a long run on stderr (long runs must show they are alive): timestamped
    lines for its steps, and :meth:`counter` for a count of items (one updating line on a
    terminal, through tqdm; a line at every tenth otherwise, which logs keep readable)."""

    def __init__(self, stream=None):
        self.start = time.monotonic()
        self.stream = stream or sys.stderr

    def __call__(self, message):
        print(f"[{time.monotonic() - self.start:7.1f} s] {message}", file=self.stream,
              flush=True)

    def counter(self, total, what):
        """``advance(done)``: report that ``done`` of ``total`` ``what`` are done (call it
        with ``done == total`` last)."""
        if self.stream.isatty():
            bar = tqdm(total=total, desc=what, unit="", file=self.stream, leave=True)

            def advance(done):
                bar.update(done - bar.n)
                if done >= total:
                    bar.close()
            return advance
        step = max(1, total // 10)

        def advance(done):
            if done % step == 0 or done == total:
                self(f"{what}: {done}/{total}")
        return advance

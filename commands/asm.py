"""Assemble a program in the text form of :mod:`compiler.asm` and check it against a
configuration: every instruction legal for the preset, every REPEAT inside SRAM.

    python -m commands.asm PROGRAM.s [--preset NAME] [--set FIELD=VALUE] [--disassemble]

Prints each queue's instruction count, or with ``--disassemble`` the canonical text form (which
assembles back to the same words). An error names the file, the line and the offending token
on one line, and the command exits with status 1.
"""

import argparse
import sys
from pathlib import Path

from compiler.asm import AsmError, assemble, disassemble
from isa.geometry import floorplan
from .arguments import add_config_arguments, config_from_arguments

__all__ = ["main", "assemble_file"]


def assemble_file(path, config):
    """The :class:`~compiler.program.Program` of the assembly file ``path`` for ``config``.
    Raises :class:`OSError` naming a directory, a missing file, a file that does not read or
    is not UTF-8 text, and what :func:`~compiler.asm.assemble` raises."""
    if path.is_dir():
        raise OSError(f"{path} is a directory, not a file")
    if not path.exists():
        raise OSError(f"{path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise OSError(f"{path} is not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise OSError(f"{path} does not read: {error.strerror or error}") from None
    return assemble(text, config, filename=str(path))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu asm",
                                     description="Assemble and check a program.")
    parser.add_argument("program", type=Path, help="the assembly file")
    parser.add_argument("--disassemble", action="store_true",
                        help="print the canonical text form instead of the instruction counts")
    add_config_arguments(parser, allow_all=False)
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)
    path = args.program
    try:
        program = assemble_file(path, config)
    except (AsmError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.disassemble:
        print(disassemble(program), end="")
        return 0
    queues = floorplan(config).queues
    total = sum(len(words) for words in program.queues.values())
    print(f"{path}: {total} instructions in {len(program.queues)} queues "
          f"(preset {config.name})")
    for number, words in sorted(program.queues.items()):
        print(f"  {queues[number].name:16s} {len(words):6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

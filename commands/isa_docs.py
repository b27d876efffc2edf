"""Write ``docs/isa.md`` from the ISA package (:func:`isa.docs.render`).

    python -m commands.isa_docs            # writes docs/isa.md
    python -m commands.isa_docs --check    # exits 1 if docs/isa.md is out of date
"""

import argparse
import sys
from pathlib import Path

from isa.docs import render

__all__ = ["DOCUMENT", "main"]

#: The generated document.
DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "isa.md"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu isa-docs")
    parser.add_argument("--check", action="store_true", help="fail if docs/isa.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            print(f"{DOCUMENT} is out of date: run `python -m commands.isa_docs`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text)
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

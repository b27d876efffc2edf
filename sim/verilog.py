"""Verilog export, cached under ``build/verilog``.

``make verilog PRESET=<name>`` writes ``build/verilog/<name>/lpu_chip.v``: one self-contained
file (the chip top, its shared cells and the SRAM module), with the configuration in a header
comment. The regression simulates these very files. A file is regenerated only when its key
changes: the configuration, the Amaranth version, or the source of ``isa/`` and ``hdl/``.
"""

import contextlib
import fcntl
import hashlib
import os
import time

import amaranth
from amaranth.back import verilog

from hdl import sram
from hdl.cells import CellLibrary
from hdl.chip import CHIP_MODULE, Chip
from isa.config import PRESETS
from .env import BUILD, ROOT

__all__ = ["source_digest", "config_directory", "export_chip", "export_component",
           "chip_verilog"]



def source_digest():
    """Digest of everything the Verilog depends on besides the configuration."""
    digest = hashlib.sha256(amaranth.__version__.encode())
    for package in ("isa", "hdl"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def config_directory(config):
    """``build/verilog/<name>``, suffixed with a hash for configurations that are not presets."""
    name = config.name
    if PRESETS.get(name) != config:
        name += "-" + hashlib.sha256(config.summary().encode()).hexdigest()[:8]
    return BUILD / "verilog" / name


@contextlib.contextmanager
def locked(directory):
    """Hold an exclusive lock on ``directory`` (parallel test workers share build outputs)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _header(title, config, key):
    lines = [f"// {title}",
             "// Generated from the Amaranth sources by `make verilog`; do not edit.",
             f"// Configuration: {config.summary()}" if config is not None else None,
             f"// Key: {key}"]
    return "\n".join(line for line in lines if line) + "\n"


def _write_if_changed(path, text):
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


def _cached(path, key, generate):
    """Return ``path``, regenerating it with ``generate()`` unless its header holds ``key``."""
    with locked(path.parent):
        if path.exists():
            with open(path) as handle:
                for _ in range(6):
                    if handle.readline().strip() == f"// Key: {key}":
                        return path
        _write_if_changed(path, generate())
    return path


def chip_verilog(config, *, progress=None):
    """The Verilog text of a chip of configuration ``config`` (without the header).

    ``progress(message)`` is told when each shared cell starts converting (the ``groq``
    preset's matrix units take minutes each)."""
    class ReportingLibrary(CellLibrary):
        def instantiate(self, m, name, module, build, bind):
            def reporting_build():
                progress(f"converting shared cell {module}")
                return build()
            return super().instantiate(m, name, module, reporting_build, bind)

    library = CellLibrary() if progress is None else ReportingLibrary()
    top = verilog.convert(Chip(config, library=library), name=CHIP_MODULE, emit_src=False,
                          strip_internal_attrs=True)
    if progress:
        progress(f"converted the chip top {CHIP_MODULE}")
    return "\n".join([sram.VERILOG, *library.verilog(), top])


def export_chip(config, *, progress=None):
    """Write (if needed) and return the path of the chip's Verilog for ``config``."""
    path = config_directory(config) / f"{CHIP_MODULE}.v"
    key = f"{source_digest()} {hashlib.sha256(config.summary().encode()).hexdigest()[:16]}"

    def generate():
        start = time.monotonic()
        if progress:
            progress(f"elaborating {config.name} ({config.summary()})")
        text = _header("Open LPU chip", config, key) + chip_verilog(config, progress=progress)
        if progress:
            progress(f"wrote {path} ({len(text) // 1024} KiB) in {time.monotonic() - start:.1f} s")
        return text

    return _cached(path, key, generate)


def export_component(name, build, *, config=None, parameters="", memories=True):
    """Write (if needed) and return ``build/verilog/units/<name>/<name>.v``: the Verilog of
    the component made by ``build()``, with the SRAM module appended (unless ``memories`` is
    false: a top whose chips' Verilog, exported apart, has it). ``parameters`` must describe
    everything ``build`` depends on besides ``config``; it is part of the cache key."""
    path = BUILD / "verilog" / "units" / name / f"{name}.v"
    summary = config.summary() if config is not None else ""
    key = (f"{source_digest()} "
           f"{hashlib.sha256((summary + parameters + str(memories)).encode()).hexdigest()[:16]}")

    def generate():
        text = verilog.convert(build(), name=name, emit_src=False, strip_internal_attrs=True)
        return (_header(f"Open LPU unit {name}", config, key) +
                (sram.VERILOG + "\n" if memories else "") + text)

    return _cached(path, key, generate)

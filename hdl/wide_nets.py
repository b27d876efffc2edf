"""Let Amaranth 0.5 netlists hold cells wider than 65,536 bits.

Amaranth 0.5 numbers every net as ``cell << 16 | bit``, so no netlist cell may have more than
65,536 output bits. The top cell of a conversion outputs *all* the design's input ports at once,
so a unit that sees every stream of the ``groq`` preset (2 directions x 32 streams x 2,560 bits
= 163,840 input bits) cannot be converted at all. :func:`allow_wide_cells` widens the bit field
of that encoding to :data:`BIT_FIELD` bits. Nets stay plain integers ordered by (cell, bit),
which is all the rest of Amaranth relies on; only ``Net.from_cell``, ``Net.cell`` and
``Net.bit`` know the layout, and those are what is replaced. The patch is checked against the
Amaranth version it was written for, and ``tests/test_wide_nets.py`` converts a design that
needs it.
"""

from amaranth import __version__ as _amaranth_version
from amaranth.hdl import _nir

__all__ = ["BIT_FIELD", "allow_wide_cells"]

#: Bits of a net number that give the bit within its cell (Amaranth's own value is 16).
BIT_FIELD = 24


def _from_cell(cls, cell, bit):
    assert bit in range(1 << BIT_FIELD)
    assert cell >= 0
    if cell == 0:
        assert bit >= 2
    return cls((cell << BIT_FIELD) | bit)


def _cell(self):
    assert self >= 2
    return self >> BIT_FIELD


def _bit(self):
    assert self >= 2
    return self & ((1 << BIT_FIELD) - 1)


def allow_wide_cells():
    """Install the wider net encoding (idempotent). Call before any netlist is built."""
    if _nir.Net.from_cell.__func__ is _from_cell:
        return
    if not _amaranth_version.startswith("0.5."):
        raise RuntimeError(f"hdl.wide_nets patches Amaranth 0.5's net encoding; "
                           f"found Amaranth {_amaranth_version}")
    _nir.Net.from_cell = classmethod(_from_cell)
    _nir.Net.cell = property(_cell)
    _nir.Net.bit = property(_bit)

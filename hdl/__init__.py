"""Amaranth RTL of the chip: one unit per file, the stream fabric, the host port and the top."""

from .wide_nets import allow_wide_cells as _allow_wide_cells

# The groq preset's units take more input bits than Amaranth 0.5's netlist cells allow.
_allow_wide_cells()

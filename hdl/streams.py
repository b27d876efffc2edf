"""Reading the stream registers at a unit's position.

A unit reads any of ``2 x streams`` stream registers (both directions), and on FPGAs these
multiplexers are much of its logic. They shrink with the ISA's alignment rule: an ``n``-stream
group (an int16 or int32 value, a transpose block) starts at a multiple of ``n``
(:func:`isa.legality.stream_group_ok`), so stream ``k`` of a group is one of only
``streams / n`` candidates per direction. A single stream (offset 0, alignment 1) is any of
them: :func:`aligned_stream` is every unit's stream read.
"""

from amaranth import *

from isa.opcodes import DType

__all__ = ["aligned_stream", "group_size"]


def group_size(dtype):
    """The streams a value of the :class:`~isa.opcodes.DType` signal ``dtype`` occupies
    (``DType.bytes`` in hardware)."""
    return Mux(dtype == DType.I32, 4, Mux(dtype == DType.I16, 2, 1))


def aligned_stream(east, west, from_west, base, offset, alignment=None):
    """Stream ``base + offset`` of ``west`` if ``from_west`` else of ``east``.

    ``base`` must be a multiple of ``alignment`` (a power of two; by default the smallest
    aligned group holding element ``offset``: 1, 2, 4, 4, 8, ...) and ``base + offset`` below
    ``len(east)`` whenever the caller uses the value; otherwise the value is unspecified.
    """
    if alignment is None:
        alignment = 1 << offset.bit_length()
    if alignment & (alignment - 1) or alignment <= offset:
        raise ValueError(f"alignment must be a power of two above offset {offset}, "
                         f"not {alignment}")
    groups = range(0, len(east) - offset, alignment)
    candidates = Array([east[g + offset] for g in groups] + [west[g + offset] for g in groups])
    return candidates[Mux(from_west, len(groups), 0) + (base >> (alignment.bit_length() - 1))]

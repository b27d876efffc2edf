"""Tensors resident in SRAM across programs: a model's weights, per-channel constants and
lookup tables, and the KV caches a decoder appends to.

A :class:`Residency` places its tensors once, with its own allocator; the host loads their
values once (:meth:`Residency.images`). Every program compiled against it
(``Schedule(config, residency=...)``) finds those words taken, reads the tensors where they
lie and allocates its own words around them, so a sequence of programs (the tokens of a
decoder, the sentences of an encoder) never reloads the model.

Layouts follow how the kernels read:

- a weight matrix ``B [k, n]`` is read a tile row per weight stream by the matrix unit that
  owns its N-tile (tiles dealt round-robin over the units, as :mod:`compiler.gemm` deals
  them): each tile's rows are spread over the slices of that unit's hemisphere, so a unit
  loads up to one row per slice per cycle;
- a per-channel vector (a bias, a multiplier, a shift) has its four byte planes in four slices
  of one hemisphere, read together into a constant register;
- a cache (the values a decoder appends rows to, the transposed keys it appends columns to)
  spreads its vectors over the slices of one hemisphere.
"""

import numpy as np

from isa.config import LUT_ENTRIES
from isa.geometry import floorplan
from isa.opcodes import DType
from .calendar import Journal
from .queues import ScheduleError
from .sram import SramAllocator
from .tensors import Tensor, planar_tensor

__all__ = ["Residency"]


class Residency:
    """Tensors placed once for a sequence of programs of ``config``.

    Parameters
    ----------
    config : ChipConfig
    """

    def __init__(self, config):
        self.config = config
        self.plan = floorplan(config)
        self.sram = SramAllocator(config, Journal())
        #: ``{name: (Tensor, values or None)}``: every resident tensor, in placement order.
        self.tensors = {}

    # ---- Placement. ----

    def _add(self, tensor, values):
        if tensor.name in self.tensors:
            raise ValueError(f"resident tensor {tensor.name!r} placed twice")
        self.tensors[tensor.name] = (tensor, None if values is None else
                                     np.asarray(values, dtype=np.int64))
        return tensor

    def _spread(self, tensor, owners):
        """Place ``tensor`` (int8) vector by vector: vector ``(row, tile)`` in slice
        ``owners(tile)[(row + tile) mod len]``, consecutive words per slice in row-major
        order."""
        counts = {}
        order = []
        for row in range(tensor.stored_rows):
            for tile in range(tensor.tiles):
                slices = owners(tile)
                slice_index = slices[(row + tile) % len(slices)]
                order.append((row, tile, slice_index))
                counts[slice_index] = counts.get(slice_index, 0) + 1
        bases = {s: self.sram.allocate(s, count) for s, count in sorted(counts.items())}
        for row, tile, slice_index in order:
            tensor.place(tensor.vector(row, tile), 0, slice_index, bases[slice_index])
            bases[slice_index] += 1
        return tensor

    def weights(self, name, values, units=None, *, shared=False):
        """An int8 weight matrix ``[k, n]`` read by a GEMM on matrix ``units`` (indexes; all by
        default), N-tile ``j`` by unit ``units[j mod len(units)]``; ``shared``: read by GEMMs
        on every unit (its rows spread over every slice)."""
        values = np.asarray(values, dtype=np.int64)
        tensor = Tensor(name, DType.I8, values.shape, self.config.lanes)
        return self._add(self._spread(tensor, self._owners(units, shared)), values)

    def _owners(self, units, shared):
        """``owners(tile)``: the slices a matrix's column tile is spread over."""
        mxm = self.plan.mxm_units
        if not mxm:
            raise ScheduleError("the configuration has no matrix units")
        everywhere = list(range(len(self.plan.mem_units)))
        if shared:
            return lambda tile: everywhere
        units = list(range(len(mxm))) if units is None else list(units)
        groups = self.sram.hemispheres()
        return lambda tile: groups[mxm[units[tile % len(units)]].hemisphere]

    def vector(self, name, values, dtype=DType.I32):
        """A ``1 x n`` per-channel constant, its planes in the emptiest slices of a
        hemisphere (one slice per plane)."""
        values = np.asarray(values, dtype=np.int64).reshape(1, -1)
        return self._planar(name, values.shape, dtype, values)

    def bias(self, name, values, units=None):
        """A GEMM's int32 ``1 x n`` bias, read by matrix ``units`` as :meth:`weights` deals
        them: column tile ``j``'s four planes in four slices of the hemisphere of the unit
        that loads it (the emptiest), so that the unit loads them in one cycle from slices
        the other unit's weight rows do not keep busy."""
        values = np.asarray(values, dtype=np.int64).reshape(1, -1)
        tensor = Tensor(name, DType.I32, values.shape, self.config.lanes)
        owners = self._owners(units, False)
        groups = {}
        for tile in range(tensor.tiles):
            groups.setdefault(tuple(owners(tile)), []).append(tile)
        for slices, tiles in groups.items():
            chosen = sorted(slices, key=lambda i: (self.sram.used(i), i))[:DType.I32.bytes]
            if len(chosen) < DType.I32.bytes:
                raise ScheduleError(f"an int32 bias needs {DType.I32.bytes} MEM slices in a "
                                    f"hemisphere")
            for plane, slice_index in enumerate(chosen):
                base = self.sram.allocate(slice_index, len(tiles))
                for k, tile in enumerate(tiles):
                    tensor.place(tile, plane, slice_index, base + k)
        return self._add(tensor, values)

    def matrix(self, name, values, dtype):
        """A ``rows x cols`` matrix of ``dtype`` (position embeddings), plane ``b`` in
        consecutive words of the emptiest slice of a hemisphere."""
        values = np.asarray(values, dtype=np.int64)
        return self._planar(name, values.shape, dtype, values)

    def _planar(self, name, shape, dtype, values):
        """A tensor whose planes lie in the emptiest slices of the hemisphere with the most
        free words, one slice per plane."""
        slices = self.sram.roomiest_slices(dtype.bytes)
        if len(slices) < dtype.bytes:
            raise ScheduleError(f"a {dtype.name} tensor needs {dtype.bytes} MEM slices in a "
                                f"hemisphere")
        return self._add(planar_tensor(self.sram, name, dtype, shape, self.config.lanes,
                                       slices), values)

    def table(self, name, values):
        """A lookup table (``LUT_ENTRIES`` int32 values) as a ``1 x LUT_ENTRIES`` vector."""
        values = np.asarray(values, dtype=np.int64)
        if values.shape != (LUT_ENTRIES,):
            raise ValueError(f"table {name!r} must have {LUT_ENTRIES} entries")
        return self.vector(f"table.{name}", values[None, :])

    def cache(self, name, rows, cols, hemisphere):
        """An int8 ``rows x cols`` tensor without initial values (a KV cache that programs
        write), its vectors spread over the slices of ``hemisphere`` (a kernel that reads it
        together with another tensor finds the other hemisphere's slices free)."""
        tensor = Tensor(name, DType.I8, (rows, cols), self.config.lanes)
        slices = self.sram.hemispheres()[hemisphere]
        return self._add(self._spread(tensor, lambda tile: slices), None)

    def buffer(self, name, rows, cols, dtype):
        """A ``rows x cols`` tensor of ``dtype`` without initial values, which one program
        writes and the next reads (the residual stream between two programs of a model),
        laid out as :meth:`matrix`."""
        return self._planar(name, (rows, cols), dtype, None)

    # ---- Loading. ----

    def words(self):
        """``[(slice, address)]`` of every word the residency takes."""
        return sorted({(s, a) for tensor, _ in self.tensors.values()
                       for _, _, s, a in tensor.words})

    def images(self):
        """The SRAM images that load every resident tensor with values:
        ``[(slice, address, [n, lanes] uint8)]``."""
        images = []
        for tensor, values in self.tensors.values():
            if values is not None:
                images += tensor.images(values)
        return images

    def bytes(self):
        """SRAM bytes the resident tensors take."""
        return len(self.words()) * self.config.lanes

    @property
    def sram_bytes(self):
        """Bytes up to the highest word the resident tensors take in each slice, summed."""
        return self.sram.high_bytes()

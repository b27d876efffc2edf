"""Tensors in SRAM: where every word of a matrix lies, how to load values into them and how to
read them back.

A :class:`Tensor` is a ``rows x cols`` matrix of one element type. It is stored as vectors:
vector ``(r, j)`` (index ``r * tiles + j``) holds row ``r``, columns ``j * lanes`` ..
``(j + 1) * lanes - 1`` (zero past the last column), as ``dtype.bytes`` byte planes, least
significant first. Each plane of each vector is one SRAM word, anywhere: a kernel that writes a
tensor records where (:meth:`Tensor.place`) and in which cycle, and a kernel that reads it
looks the words up. The same word may be stored more than once (a kernel that reads an operand
from two slices keeps two copies). A one-dimensional tensor of ``length`` elements is a
``1 x length`` matrix: vector ``v`` holds elements ``v * lanes`` ..
"""

from collections import defaultdict

import numpy as np

from golden import vector
from .program import Region

__all__ = ["Tensor", "planar_tensor"]


class Tensor:
    """A matrix of ``shape`` = ``(rows, cols)`` elements of ``dtype`` in SRAM.

    Parameters
    ----------
    name : str
        Names the tensor's output regions.
    dtype : isa.opcodes.DType
    shape : (int, int)
    lanes : int
        Elements in a vector (the configuration's lane count).
    stored_rows : int, optional
        Rows stored (at least ``rows``; the rows past ``rows`` hold zeros), for kernels that
        read whole tiles of rows.
    """

    def __init__(self, name, dtype, shape, lanes, *, stored_rows=None):
        rows, cols = shape
        if rows < 1 or cols < 1:
            raise ValueError(f"tensor {name!r} must have a positive shape, not {shape}")
        self.name = name
        self.dtype = dtype
        self.shape = (rows, cols)
        self.lanes = lanes
        self.tiles = -(-cols // lanes)
        self.stored_rows = rows if stored_rows is None else stored_rows
        #: Every stored word: ``(vector, plane, slice, address)``.
        self.words = []
        self._where = {}
        #: ``{(vector, plane): cycle}`` of words a program writes (not the host): the cycle of
        #: the WRITE. A reader may read such a word from the next cycle on.
        self.written = {}
        #: The last cycle in which a placed instruction reads one of the tensor's words.
        self.last_read = -1
        #: The tensors whose words a view shares (a read of the view reads them).
        self.bases = ()

    def __repr__(self):
        return (f"<Tensor {self.name} {self.dtype.name.lower()} {self.shape[0]}x{self.shape[1]}"
                f", {len(self.words)} words>")

    @property
    def rows(self):
        return self.shape[0]

    @property
    def cols(self):
        return self.shape[1]

    @property
    def planes(self):
        return self.dtype.bytes

    @property
    def vectors(self):
        """Vectors stored: ``stored_rows * tiles``."""
        return self.stored_rows * self.tiles

    def vector(self, row, tile):
        """The index of vector ``(row, tile)``."""
        return row * self.tiles + tile

    # ---- Placement. ----

    def place(self, vector, plane, slice_index, address, written=None):
        """Record that plane ``plane`` of vector ``vector`` is at ``address`` of MEM slice
        ``slice_index``, written by the program in cycle ``written`` (``None``: loaded by the
        host before the run)."""
        self.words.append((vector, plane, slice_index, address))
        self._where.setdefault((vector, plane), (slice_index, address))
        if written is not None:
            self.written[(vector, plane)] = written

    def has(self, vector, plane):
        """Whether plane ``plane`` of vector ``vector`` is placed somewhere."""
        return (vector, plane) in self._where

    def location(self, vector, plane):
        """``(slice, address)`` of plane ``plane`` of vector ``vector`` (its first copy)."""
        try:
            return self._where[(vector, plane)]
        except KeyError:
            raise KeyError(f"plane {plane} of vector {vector} of tensor {self.name!r} is not "
                           f"placed") from None

    def read(self, cycle):
        """A kernel reads one of the tensor's words in ``cycle``."""
        self.last_read = max(self.last_read, cycle)
        for base in self.bases:
            base.read(cycle)

    # ---- Views. ----

    def view(self, name, rows=None, tiles=None, cols=None):
        """A tensor of some of this one's ``rows`` and column ``tiles`` (lists of indexes, all
        by default), in that order, sharing its words; ``cols``: fewer columns than the tiles
        hold (the lanes of the last tile past them are not the view's)."""
        rows = range(self.stored_rows) if rows is None else list(rows)
        tiles = range(self.tiles) if tiles is None else list(tiles)
        whole = sum(min(self.lanes, self.cols - t * self.lanes) for t in tiles)
        if tiles and tiles[-1] != self.tiles - 1 and whole < len(tiles) * self.lanes:
            raise ValueError("a view's column tiles must be whole but for its last")
        if cols is None:
            cols = whole
        elif not (len(tiles) - 1) * self.lanes < cols <= whole:
            raise ValueError(f"a view of {len(tiles)} column tiles has more than "
                             f"{(len(tiles) - 1) * self.lanes} and at most {whole} columns, "
                             f"not {cols}")
        view = Tensor(name, self.dtype, (len(rows), cols), self.lanes)
        view.bases = (self,)
        self._share(view, [(row, tile) for row in rows for tile in tiles])
        return view

    @classmethod
    def concatenate(cls, name, parts):
        """The tensor whose column tiles are those of ``parts`` (tensors of one row count and
        type, each of whole tiles but the last), side by side, sharing their words."""
        first = parts[0]
        if any(p.rows != first.rows or p.dtype is not first.dtype for p in parts):
            raise ValueError("concatenated tensors must have one row count and type")
        cols = sum(p.tiles * p.lanes for p in parts[:-1]) + parts[-1].cols
        whole = cls(name, first.dtype, (first.rows, cols), first.lanes)
        whole.bases = tuple(parts)
        sources = [(part, row, tile) for row in range(first.rows) for part in parts
                   for tile in range(part.tiles)]
        for index, (part, row, tile) in enumerate(sources):
            part._copy_vector(whole, part.vector(row, tile), index)
        return whole

    @classmethod
    def stack(cls, name, parts):
        """The tensor whose rows are those of ``parts`` (tensors of one width and type), one
        after the other, sharing their words."""
        first = parts[0]
        if any(p.cols != first.cols or p.dtype is not first.dtype for p in parts):
            raise ValueError("stacked tensors must have one width and type")
        whole = cls(name, first.dtype, (sum(p.rows for p in parts), first.cols), first.lanes)
        whole.bases = tuple(parts)
        index = 0
        for part in parts:
            for row in range(part.rows):
                for tile in range(part.tiles):
                    part._copy_vector(whole, part.vector(row, tile), index)
                    index += 1
        return whole

    @classmethod
    def gather(cls, name, sources):
        """The one-tile tensor whose row ``r`` is vector ``sources[r]`` = ``(tensor, row,
        tile)`` (tensors of one type), sharing their words: rows picked from several tensors,
        in any order, repeats allowed."""
        tensors = list(dict.fromkeys(tensor for tensor, _, _ in sources))
        if any(t.dtype is not tensors[0].dtype or t.lanes != tensors[0].lanes
               for t in tensors):
            raise ValueError("gathered tensors must have one type and lane count")
        gathered = cls(name, tensors[0].dtype, (len(sources), tensors[0].lanes),
                       tensors[0].lanes)
        gathered.bases = tuple(tensors)
        for index, (tensor, row, tile) in enumerate(sources):
            tensor._copy_vector(gathered, tensor.vector(row, tile), index)
        return gathered

    def _share(self, view, vectors):
        for index, (row, tile) in enumerate(vectors):
            self._copy_vector(view, self.vector(row, tile), index)

    def _copy_vector(self, other, vector, index):
        """Place vector ``vector``'s words as ``other``'s vector ``index``."""
        for plane in range(self.planes):
            if self.has(vector, plane):
                slice_index, address = self.location(vector, plane)
                other.place(index, plane, slice_index, address,
                            written=self.written.get((vector, plane)))

    # ---- Loading and reading back. ----

    def _planes(self, values):
        values = np.asarray(values, dtype=np.int64)
        if values.shape != self.shape:
            raise ValueError(f"tensor {self.name!r} takes values of shape {self.shape}, "
                             f"not {values.shape}")
        padded = np.zeros((self.stored_rows, self.tiles * self.lanes), dtype=np.int64)
        padded[:self.rows, :self.cols] = vector.wrap(values, self.dtype)
        return vector.to_bytes(padded.reshape(self.vectors, self.lanes), self.dtype)

    def _runs(self):
        """The stored words as runs of consecutive addresses in one slice:
        ``[(slice, address, [(vector, plane), ...])]``."""
        by_slice = defaultdict(list)
        for vector_index, plane, slice_index, address in self.words:
            by_slice[slice_index].append((address, vector_index, plane))
        runs = []
        for slice_index in sorted(by_slice):
            for address, vector_index, plane in sorted(by_slice[slice_index]):
                if runs and runs[-1][0] == slice_index and \
                        runs[-1][1] + len(runs[-1][2]) == address:
                    runs[-1][2].append((vector_index, plane))
                else:
                    runs.append((slice_index, address, [(vector_index, plane)]))
        return runs

    def images(self, values):
        """``[(slice, address, [n, lanes] uint8)]``: the SRAM images that load ``values``
        (``[rows, cols]``) into every stored word."""
        planes = self._planes(values)
        return [(slice_index, address,
                 np.stack([planes[plane][vector_index] for vector_index, plane in members]))
                for slice_index, address, members in self._runs()]

    def regions(self):
        """The :class:`~compiler.program.Region` s that read every stored word back, named
        ``<tensor>.<run>``."""
        return [Region(f"{self.name}.{k}", slice_index, address, len(members))
                for k, (slice_index, address, members) in enumerate(self._runs())]

    def unpack(self, regions):
        """The tensor's values (``[rows, cols]``) from ``{region name: [n, lanes] uint8}``
        read back as :meth:`regions` lists them."""
        planes = np.zeros((self.planes, self.vectors, self.lanes), dtype=np.uint8)
        for k, (_, _, members) in enumerate(self._runs()):
            data = regions[f"{self.name}.{k}"]
            for row, (vector_index, plane) in enumerate(members):
                planes[plane, vector_index] = data[row]
        values = vector.from_bytes(planes, self.dtype)
        return values.reshape(self.stored_rows, self.tiles * self.lanes)[:self.rows, :self.cols]


def planar_tensor(sram, name, dtype, shape, lanes, slices, *, after=None):
    """A tensor whose plane ``b`` is consecutive words of slice ``slices[b]`` (vector ``v`` at
    the plane's first address + ``v``), allocated from ``sram`` (words free after cycle
    ``after``). ``slices`` may name fewer slices than ``dtype`` has planes: only those planes
    are stored."""
    tensor = Tensor(name, dtype, shape, lanes)
    for plane, slice_index in enumerate(slices):
        base = sram.allocate(slice_index, tensor.vectors, after=after)
        for v in range(tensor.vectors):
            tensor.place(v, plane, slice_index, base + v)
    return tensor

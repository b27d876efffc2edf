"""A decoder layer's key/value cache resident in SRAM, and the kernels that append to it.

The cache holds the int8 keys and values of every token a decoder layer has seen
(:class:`golden.transformer.layers.KVCache`). It lives in the
:class:`~compiler.residency.Residency` with the layer's weights, so a prompt's program and
every later token's program find it where the previous one left it: nothing goes back to the
host between tokens.

- **Values** are stored as rows, ``capacity x H`` in token order: a token appends a row
  (:func:`store_rows`), and ``P V`` reads the rows up to the last token.
- **Keys** are stored transposed, ``H x capacity``: row ``d`` holds dimension ``d`` of every
  token's key, the token's position being the column. ``Q K^T`` reads a head's rows as they
  lie, so a token does not transpose the keys of the tokens before it. The prompt transposes
  its own keys (it needs them for its attention anyway) and stores the result
  (:func:`store_key_columns`); each later token appends its key as a column
  (:func:`append_key`): a switch unit broadcasts each dimension to every lane (``BCAST``)
  and the VXM selects the token's lane into the row's vector (``SEL``). The lanes of a
  row's last vector past the last token hold unspecified values; the scores' consumer masks
  them (softmax does).
"""

from dataclasses import dataclass

import numpy as np

from isa.geometry import Hemisphere
from isa.opcodes import DType, SwitchOp, VectorOp
from .elementwise import place_graph
from .graph import Graph
from .queues import ScheduleError
from .switch import place_switch_op
from .tensors import Tensor

__all__ = ["KVCacheTensors", "place_kv_cache", "store_rows", "store_key_columns",
           "append_key"]

#: The hemisphere of each part of the cache: a kernel reading both finds their slices apart.
_KEYS, _VALUES = Hemisphere.WEST, Hemisphere.EAST


@dataclass
class KVCacheTensors:
    """The resident ``keys`` (int8 ``H x capacity``, transposed) and ``values`` (int8
    ``capacity x H``) of one layer."""
    keys: object
    values: object
    capacity: int

    def check(self, position, tokens):
        """Raise :class:`ScheduleError` unless tokens ``position .. position + tokens - 1``
        fit."""
        if position + tokens > self.capacity:
            raise ScheduleError(f"{position + tokens} tokens exceed the KV cache capacity of "
                                f"{self.capacity} tokens")

    def key_columns(self, name, first, rows, tokens):
        """The view of the transposed keys' rows ``first .. first + rows - 1`` and columns
        ``0 .. tokens - 1``."""
        lanes = self.keys.lanes
        return self.keys.view(name, rows=range(first, first + rows),
                              tiles=range(-(-tokens // lanes)), cols=tokens)


def place_kv_cache(residency, width, capacity, *, prefix=""):
    """Place an empty cache of ``capacity`` tokens of width ``width`` in ``residency``."""
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError(f"KV cache capacity must be a positive integer, not {capacity!r}")
    return KVCacheTensors(residency.cache(f"{prefix}cache.keys", width, capacity, _KEYS),
                          residency.cache(f"{prefix}cache.values", capacity, width, _VALUES),
                          capacity)


def _copy_into(schedule, source, target):
    """Copy ``source`` into the resident ``target`` (a view of one shape) by the VXM."""
    graph = Graph(shape=source.shape)
    graph.output("y", graph.op(VectorOp.MOV, graph.input("x", source.dtype)))
    place_graph(schedule, graph, {"x": source}, into={"y": target})


def _after(written_view, view, first_vector, stride=1):
    """``view`` (created now, over words ``written_view`` shares) carries the writes placed to
    ``written_view``: vector ``v`` of it is vector ``first_vector + stride v`` of ``view``. A
    reader of ``view`` waits for those words."""
    for (v, plane), cycle in written_view.written.items():
        view.written[(first_vector + stride * v, plane)] = cycle
    return view


def store_rows(schedule, rows, cache, position, *, name):
    """Copy the int8 ``rows`` (``tokens x H``, a tensor a kernel wrote) into rows
    ``position ..`` of the resident ``cache`` tensor, by the VXM; returns the cache's rows
    ``0 .. position + tokens - 1`` as a view created after the copy is placed (a reader of it
    waits for the copied words)."""
    target = cache.view(f"{name}.rows", rows=range(position, position + rows.rows))
    _copy_into(schedule, rows, target)
    # The resident tensor stays as every program finds it (written by an earlier program);
    # the view carries this program's writes.
    upto = cache.view(f"{name}.upto{position + rows.rows}", rows=range(position + rows.rows))
    return _after(target, upto, position * upto.tiles)


def store_key_columns(schedule, key_columns, cache, first, *, name):
    """Copy a prompt's transposed keys ``key_columns`` (int8 ``rows x tokens``, a tensor a
    kernel wrote: dimensions ``first ..`` of its tokens' keys) into the cache's columns
    ``0 .. tokens - 1``, by the VXM."""
    _copy_into(schedule, key_columns, cache.key_columns(f"{name}.columns", first,
                                                        key_columns.rows, key_columns.cols))


def append_key(schedule, key, cache, first, position, *, name):
    """Append the int8 key ``key`` (``1 x n``, a tensor a kernel wrote: dimensions
    ``first .. first + n - 1`` of the token at ``position``) to the transposed keys as
    column ``position``; returns the view of rows ``first ..`` and columns
    ``0 .. position`` created after the writes are placed (``Q K^T`` of one head reads it).

    A switch unit broadcasts each dimension to every lane, into a block laid out like the
    cache's vectors of column tile ``position // lanes`` (in the keys' other hemisphere, so
    the select reads both at once); the VXM selects the token's lane from it and the others
    from the cache (or takes it whole when the token starts a new column tile: its other
    lanes are past the last token)."""
    lanes = key.lanes
    tile, lane = divmod(position, lanes)

    def column_tile(suffix):
        # The cache's vectors of the token's column tile; the select reads one view and
        # writes another, which carries the writes.
        return cache.keys.view(f"{name}.{suffix}", rows=range(first, first + key.cols),
                               tiles=[tile])

    target = column_tile(f"tile{tile}")
    broadcast = Tensor(f"{name}.broadcast", DType.I8, target.shape, lanes)
    plan = schedule.calendar.plan
    other = [i for i, unit in enumerate(plan.mem_units) if unit.hemisphere is not _KEYS]
    for d in range(key.cols):
        place_switch_op(schedule, key, key.vector(0, d // lanes), broadcast,
                        broadcast.vector(d, 0), SwitchOp.BCAST, d % lanes, targets=other)
    graph = Graph(shape=target.shape)
    fresh = graph.input("broadcast", DType.I8)
    if lane == 0:
        value = graph.op(VectorOp.MOV, fresh)
        inputs = {"broadcast": broadcast}
    else:
        mask = graph.constant_vector((np.arange(lanes) == lane).astype(int), DType.I8)
        value = graph.op(VectorOp.SEL, fresh, graph.input("cached", DType.I8), mask)
        inputs = {"broadcast": broadcast, "cached": column_tile("cached")}
    graph.output("y", value)
    place_graph(schedule, graph, inputs, into={"y": target})
    schedule.release(broadcast)
    columns = cache.key_columns(f"{name}.upto{position + 1}", first, key.cols, position + 1)
    return _after(target, columns, tile, columns.tiles)

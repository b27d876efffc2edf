"""A decoder layer's key/value cache resident in SRAM, and the kernel that appends to it.

The cache holds the int8 keys and values of every token a decoder layer has seen, in token
order, ``capacity x H`` each (:class:`golden.transformer.layers.KVCache`). It lives in the
:class:`~compiler.residency.Residency` with the layer's weights, so a prompt's program and
every later token's program find it where the previous one left it: nothing goes back to the
host between tokens. Keys are stored as rows, like values; a token's attention transposes the
keys it reads (:func:`~compiler.transpose.place_transpose`), one head at a time.
"""

from dataclasses import dataclass

from isa.geometry import Hemisphere
from isa.opcodes import VectorOp
from .elementwise import place_graph
from .graph import Graph
from .queues import ScheduleError

__all__ = ["KVCacheTensors", "place_kv_cache", "store_rows"]


@dataclass
class KVCacheTensors:
    """The resident ``keys`` and ``values`` tensors (int8 ``capacity x H``) of one layer."""
    keys: object
    values: object
    capacity: int

    def check(self, position, tokens):
        """Raise :class:`ScheduleError` unless tokens ``position .. position + tokens - 1``
        fit."""
        if position + tokens > self.capacity:
            raise ScheduleError(f"{position + tokens} tokens exceed the KV cache capacity of "
                                f"{self.capacity} tokens")


def place_kv_cache(residency, width, capacity, *, prefix=""):
    """Place an empty cache of ``capacity`` tokens of width ``width`` in ``residency``."""
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError(f"KV cache capacity must be a positive integer, not {capacity!r}")
    # Keys in one hemisphere, values in the other.
    return KVCacheTensors(residency.cache(f"{prefix}cache.keys", capacity, width,
                                          Hemisphere.WEST),
                          residency.cache(f"{prefix}cache.values", capacity, width,
                                          Hemisphere.EAST),
                          capacity)


def store_rows(schedule, rows, cache, position, *, name):
    """Copy the int8 ``rows`` (``tokens x H``, a tensor a kernel wrote) into rows
    ``position ..`` of the resident ``cache`` tensor, by the VXM; returns the cache's rows
    ``0 .. position + tokens - 1`` as a view created after the copy is placed (a reader of it
    waits for the copied words)."""
    graph = Graph(shape=rows.shape)
    graph.output("y", graph.op(VectorOp.MOV, graph.input("x", rows.dtype)))
    target = cache.view(f"{name}.rows", rows=range(position, position + rows.rows))
    place_graph(schedule, graph, {"x": rows}, into={"y": target})
    # The resident tensor stays as every program finds it (written by an earlier program);
    # the view carries this program's writes.
    upto = cache.view(f"{name}.upto{position + rows.rows}", rows=range(position + rows.rows))
    first = position * upto.tiles
    for (v, plane), cycle in target.written.items():
        upto.written[(first + v, plane)] = cycle
    return upto

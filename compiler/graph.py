"""Elementwise graphs: VXM operations over tensors, the input of the elementwise scheduler
(:mod:`compiler.elementwise`).

A :class:`Graph` has inputs, operation nodes and outputs, all of one shape: ``length``
elements, or a ``rows x cols`` matrix (a tensor an earlier kernel wrote, such as a GEMM's
result). An input may also be *broadcast*: one value per column (``"cols"``, a ``1 x cols``
tensor such as a per-channel multiplier) or one vector per row (``"rows"``, a ``rows x lanes``
tensor such as a row reduction's result: element ``(r, c)`` takes lane ``c mod lanes`` of
row ``r``). Operands of :meth:`Graph.op` are values of the graph or Python ints (scalar
constants, read as the operation's source type); ``LUT`` reads a :class:`Table` of the graph::

    g = Graph(length=1000)
    a, b = g.input("a", DType.I8), g.input("b", DType.I8)
    total = g.op(VectorOp.ADD, a, b, dtype=DType.I32)
    g.output("y", g.requantize(total, multiplier=1 << 30, shift=-3))
"""

from dataclasses import dataclass

import numpy as np

from isa.config import LUT_ENTRIES
from isa.formats import spec_for
from isa.geometry import QueueKind
from isa.opcodes import DType, VectorOp

__all__ = ["Graph", "Value", "Table", "GraphError", "BROADCASTS"]

#: How an input may be broadcast over the graph's ``rows x cols`` elements.
BROADCASTS = (None, "rows", "cols")


class GraphError(ValueError):
    """A malformed graph (wrong operand count, unsupported operation, mismatched graph) or
    input values that do not match it."""


@dataclass(frozen=True, eq=False)
class Table:
    """A lookup table: ``LUT_ENTRIES`` int32 values, named (a table of one name is loaded into
    an ALU once and shared by every kernel of a program)."""
    name: str
    values: np.ndarray

    def __repr__(self):
        return f"<table {self.name}>"


@dataclass(eq=False)
class Value:
    """A tensor in a :class:`Graph`: an input, an operation's result or a constant vector."""
    graph: object
    kind: str                   # "input", "node" or "vector"
    dtype: DType
    name: str = ""
    op: VectorOp = None
    stype: DType = None
    operands: tuple = ()
    values: np.ndarray = None   # per-lane constants (kind "vector")
    broadcast: str = None       # inputs: one of BROADCASTS
    table: Table = None         # LUT nodes: the table read

    def __repr__(self):
        return f"<{self.kind} {self.name or self.op.name} {self.dtype.name.lower()}>"


class Graph:
    """An elementwise program over tensors of ``length`` elements, or of ``shape`` =
    ``(rows, cols)`` elements (give one of the two).

    Operands of :meth:`op` are :class:`Value` s of this graph or Python ints (scalar constants,
    read as the operation's source type).
    """

    def __init__(self, length=None, *, shape=None):
        if (length is None) == (shape is None):
            raise GraphError("a graph needs a length or a shape (one of the two)")
        if shape is None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 1:
                raise GraphError(f"tensor length must be a positive integer, not {length!r}")
            self.shape = (1, length)
            self.value_shape = (length,)
        else:
            if (len(shape) != 2 or not all(isinstance(s, int) and not isinstance(s, bool)
                                           and s >= 1 for s in shape)):
                raise GraphError(f"tensor shape must be two positive integers, not {shape!r}")
            self.shape = self.value_shape = tuple(shape)
        self.inputs = {}
        self.nodes = []
        self.outputs = {}

    @property
    def length(self):
        """Elements in each tensor."""
        return self.shape[0] * self.shape[1]

    def input(self, name, dtype, broadcast=None):
        """An input of ``dtype``; ``broadcast`` (``"rows"`` or ``"cols"``) makes it one vector
        per row or one value per column (see the module docstring)."""
        if name in self.inputs:
            raise GraphError(f"input {name!r} defined twice")
        if broadcast not in BROADCASTS:
            raise GraphError(f"input {name!r}: broadcast must be one of "
                             f"{', '.join(map(repr, BROADCASTS))}, not {broadcast!r}")
        value = Value(self, "input", dtype, name=name, broadcast=broadcast)
        self.inputs[name] = value
        return value

    def input_shape(self, name, lanes):
        """The shape of input ``name``'s tensor for ``lanes``-lane vectors."""
        rows, cols = self.shape
        return {None: (rows, cols), "rows": (rows, lanes),
                "cols": (1, cols)}[self.inputs[name].broadcast]

    @staticmethod
    def table(name, values):
        """A lookup :class:`Table` of ``LUT_ENTRIES`` int32 ``values``."""
        values = np.asarray(values, dtype=np.int64)
        if values.shape != (LUT_ENTRIES,):
            raise GraphError(f"table {name!r} must have {LUT_ENTRIES} entries, not shape "
                             f"{values.shape}")
        return Table(name, values)

    def constant_vector(self, values, dtype=DType.I32):
        """Per-lane constants (one value per lane, the same for every vector)."""
        return Value(self, "vector", dtype, values=np.asarray(values, dtype=np.int64))

    def op(self, op, *operands, stype=None, dtype=None, table=None):
        """Add operation ``op``; ``stype`` defaults to the widest operand type, ``dtype`` to
        ``stype``. ``LUT`` needs its ``table``."""
        spec = spec_for(QueueKind.VXM_ALU, getattr(op, "value", None))
        if spec is None or not isinstance(op, VectorOp):
            raise GraphError(f"{op!r} is not a VXM operation")
        if not spec.result:
            raise GraphError(f"{op.name} is not supported in elementwise graphs")
        if op is VectorOp.LUT and not isinstance(table, Table):
            raise GraphError(f"LUT reads a table (table=Graph.table(...)), not {table!r}")
        if op is not VectorOp.LUT and table is not None:
            raise GraphError(f"{op.name} takes no table")
        if len(operands) != len(spec.operands):
            raise GraphError(f"{op.name} takes {len(spec.operands)} operand(s), "
                             f"got {len(operands)}")
        for operand in operands:
            if isinstance(operand, Value):
                if operand.graph is not self:
                    raise GraphError(f"operand {operand!r} belongs to another graph")
            elif not isinstance(operand, (int, np.integer)) or isinstance(operand, bool):
                raise GraphError(f"operand {operand!r} is neither a value nor an integer")
        if stype is None:
            widths = [o.dtype for o in operands if isinstance(o, Value)]
            stype = max(widths, key=lambda t: t.bytes) if widths else DType.I32
        node = Value(self, "node", dtype or stype, op=op, stype=stype,
                     operands=tuple(int(o) if not isinstance(o, Value) else o
                                    for o in operands), table=table)
        self.nodes.append(node)
        return node

    def requantize(self, value, *, multiplier, shift, dtype=DType.I8):
        """TFLite MultiplyByQuantizedMultiplier of an int32 ``value`` (scalar or per-lane
        ``multiplier`` and ``shift``), saturated to ``dtype``."""
        return self.op(VectorOp.REQ, value, multiplier, shift, stype=DType.I32, dtype=dtype)

    def output(self, name, value):
        if not isinstance(value, Value) or value.kind != "node":
            raise GraphError(f"output {name!r} must be an operation's result")
        if name in self.outputs:
            raise GraphError(f"output {name!r} defined twice")
        self.outputs[name] = value

    def check_inputs(self, inputs, lanes=None, names=None):
        """Raise :class:`GraphError` unless ``inputs`` gives every input in ``names`` (default:
        all of them) values of its shape (broadcast inputs: :meth:`input_shape` for ``lanes``),
        and nothing else."""
        names = set(self.inputs if names is None else names)
        for name in self.inputs:
            if name not in names:
                continue
            if name not in inputs:
                raise GraphError(f"missing input {name!r}")
            data = np.asarray(inputs[name])
            shape = (self.value_shape if self.inputs[name].broadcast is None
                     else self.input_shape(name, lanes))
            if data.shape != shape:
                raise GraphError(f"input {name!r} must have shape {shape}, "
                                 f"not {data.shape}")
        unknown = set(inputs) - names
        if unknown:
            raise GraphError(f"unknown input {sorted(unknown)[0]!r}")

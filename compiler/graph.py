"""Elementwise graphs: VXM operations over tensors, the input of the elementwise scheduler
(:mod:`compiler.elementwise`).

A :class:`Graph` has inputs, operation nodes and outputs, all of one shape: ``length``
elements, or a ``rows x cols`` matrix (a tensor an earlier kernel wrote, such as a GEMM's
result). Operands of :meth:`Graph.op` are values of the graph or Python ints (scalar constants,
read as the operation's source type)::

    g = Graph(length=1000)
    a, b = g.input("a", DType.I8), g.input("b", DType.I8)
    total = g.op(VectorOp.ADD, a, b, dtype=DType.I32)
    g.output("y", g.requantize(total, multiplier=1 << 30, shift=-3))
"""

from dataclasses import dataclass

import numpy as np

from isa.formats import spec_for
from isa.geometry import QueueKind
from isa.opcodes import DType, VectorOp

__all__ = ["Graph", "Value", "GraphError"]


class GraphError(ValueError):
    """A malformed graph (wrong operand count, unsupported operation, mismatched graph) or
    input values that do not match it."""


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

    def input(self, name, dtype):
        if name in self.inputs:
            raise GraphError(f"input {name!r} defined twice")
        value = Value(self, "input", dtype, name=name)
        self.inputs[name] = value
        return value

    def constant_vector(self, values, dtype=DType.I32):
        """Per-lane constants (one value per lane, the same for every vector)."""
        return Value(self, "vector", dtype, values=np.asarray(values, dtype=np.int64))

    def op(self, op, *operands, stype=None, dtype=None):
        """Add operation ``op``; ``stype`` defaults to the widest operand type, ``dtype`` to
        ``stype``."""
        spec = spec_for(QueueKind.VXM_ALU, getattr(op, "value", None))
        if spec is None or not isinstance(op, VectorOp):
            raise GraphError(f"{op!r} is not a VXM operation")
        if not spec.result or op is VectorOp.LUT:
            raise GraphError(f"{op.name} is not supported in elementwise graphs")
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
                                    for o in operands))
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

    def check_inputs(self, inputs, names=None):
        """Raise :class:`GraphError` unless ``inputs`` gives every input in ``names`` (default:
        all of them) values of the graph's shape, and nothing else."""
        names = set(self.inputs if names is None else names)
        for name in self.inputs:
            if name not in names:
                continue
            if name not in inputs:
                raise GraphError(f"missing input {name!r}")
            data = np.asarray(inputs[name])
            if data.shape != self.value_shape:
                raise GraphError(f"input {name!r} must have shape {self.value_shape}, "
                                 f"not {data.shape}")
        unknown = set(inputs) - names
        if unknown:
            raise GraphError(f"unknown input {sorted(unknown)[0]!r}")

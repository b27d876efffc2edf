"""NumPy references the regression checks compiled programs against, written from the
arithmetic's definition (:mod:`golden.vector`, :mod:`golden.matrix`), independently of the
compilers they check."""

import numpy as np

from golden import vector
from golden.matrix import matmul
from isa.opcodes import DType, VectorOp

__all__ = ["gemm_reference", "evaluate_graph"]


def gemm_reference(a, b, bias=None, multiplier=None, shift=None, out_dtype=None):
    """The NumPy definition of a GEMM: int32 ``a @ b + bias``, then (if ``multiplier`` is
    given) MultiplyByQuantizedMultiplier per output column, saturated to ``out_dtype``
    (default int8); without ``multiplier``, the accumulators wrapped to ``out_dtype`` (default
    int32)."""
    acc = matmul(a, b, None if bias is None else np.broadcast_to(bias, (len(a), b.shape[1])))
    if multiplier is None:
        return vector.wrap(acc, out_dtype or DType.I32)
    out_dtype = out_dtype or DType.I8
    n = b.shape[1]
    mult = np.broadcast_to(np.asarray(multiplier, dtype=np.int64), (n,))
    sh = np.broadcast_to(np.asarray(shift, dtype=np.int64), (n,))
    return vector.compute(VectorOp.REQ, DType.I32, out_dtype, acc, mult[None, :], sh[None, :])


def evaluate_graph(graph, inputs, lanes):
    """The NumPy definition of an elementwise :class:`~compiler.graph.Graph`: ``{output:
    values}``, every node computed with :func:`golden.vector.compute` on whole tensors.
    ``lanes`` places per-lane constant vectors and rows of ``"rows"``-broadcast inputs
    (element ``(r, c)`` takes lane ``c mod lanes``)."""
    graph.check_inputs(inputs, lanes)
    rows, cols = graph.shape
    lane_of_column = np.arange(cols) % lanes
    results = {}

    def value_of(operand):
        if not hasattr(operand, "kind"):
            return np.full((rows, cols), operand, dtype=np.int64)
        if operand.kind == "input":
            data = vector.wrap(np.asarray(inputs[operand.name], dtype=np.int64), operand.dtype)
            if operand.broadcast == "rows":
                return data[:, lane_of_column]
            if operand.broadcast == "cols":
                return np.broadcast_to(data, (rows, cols))
            return data.reshape(rows, cols)
        if operand.kind == "vector":
            row = np.resize(operand.values, -(-cols // lanes) * lanes)[:cols]
            return np.broadcast_to(row, (rows, cols))
        return results[id(operand)]

    for node in graph.nodes:
        operands = [value_of(o) for o in node.operands]
        operands += [0] * (3 - len(operands))
        table = node.table.values if node.table is not None else None
        results[id(node)] = vector.compute(node.op, node.stype, node.dtype, *operands,
                                           table=table)
    return {name: results[id(node)].reshape(graph.value_shape)
            for name, node in graph.outputs.items()}

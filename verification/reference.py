"""NumPy references the regression checks compiled programs against, written from the
arithmetic's definition (:mod:`golden.vector`, :mod:`golden.matrix`), independently of the
compilers they check."""

import numpy as np

from golden import vector
from golden.matrix import matmul
from isa.opcodes import DType, VectorOp

__all__ = ["gemm_reference"]


def gemm_reference(a, b, bias=None, multiplier=None, shift=None, out_dtype=DType.I8):
    """The NumPy definition of a GEMM: int32 ``a @ b + bias``, then (if ``multiplier`` is
    given) MultiplyByQuantizedMultiplier per output column, saturated to ``out_dtype``."""
    acc = matmul(a, b, None if bias is None else np.broadcast_to(bias, (len(a), b.shape[1])))
    if multiplier is None:
        return acc
    n = b.shape[1]
    mult = np.broadcast_to(np.asarray(multiplier, dtype=np.int64), (n,))
    sh = np.broadcast_to(np.asarray(shift, dtype=np.int64), (n,))
    return vector.compute(VectorOp.REQ, DType.I32, out_dtype, acc, mult[None, :], sh[None, :])

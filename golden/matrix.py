"""The arithmetic of the MXM: int8 x int8 products summed into wrapping int32 accumulators.

Products are exact (|a b| <= 2**14) and the sum is reduced modulo 2**32 at the end, which equals
wrapping after every addition because two's-complement addition is associative.
"""

import numpy as np

from isa.opcodes import DType
from .vector import wrap

__all__ = ["matmul"]


def matmul(activations, weights, accumulator=None):
    """``wrap32(accumulator + activations @ weights)``.

    ``activations`` is ``[M, K]`` int8, ``weights`` ``[K, N]`` int8, ``accumulator`` (optional)
    ``[M, N]`` int32. Returns ``[M, N]`` int64 values in the int32 range.
    """
    a = np.asarray(activations, dtype=np.int64)
    w = np.asarray(weights, dtype=np.int64)
    for name, x in (("activations", a), ("weights", w)):
        if x.size and (x.min() < -128 or x.max() > 127):
            raise ValueError(f"{name} must be int8 values")
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
        raise ValueError(f"cannot multiply shapes {a.shape} and {w.shape}")
    result = a @ w
    if accumulator is not None:
        result = result + np.asarray(accumulator, dtype=np.int64)
    return wrap(result, DType.I32)

"""The arithmetic of the VXM: the definition every other model of it must equal bit for bit.

Values are NumPy ``int64`` arrays holding integers in the range of their type. An operation
reads each operand *as* the instruction's source type (its low ``stype`` bits, sign-extended),
computes exactly (no intermediate overflow: every product of two int32 values fits in int64),
and converts the exact result to the destination type by one of two rules:

wrap
    keep the low ``dtype`` bits, two's complement (C integer conversion).
saturate
    clamp to the ``dtype`` range.

Rounding rules (gemmlowp / TFLite reference, stated in full so nobody has to look them up):

``RSHR`` (RoundingDivideByPOT)
    ``x / 2**e`` rounded to nearest, ties away from zero: with ``mask = 2**e - 1``,
    ``remainder = x & mask`` and ``threshold = (mask >> 1) + (x < 0)``, the result is
    ``(x >> e) + (remainder > threshold)``.
``MULQ`` (SaturatingRoundingDoublingHighMul)
    ``(a * b + nudge) / 2**31`` truncated towards zero, where ``nudge = 2**30`` if
    ``a * b >= 0`` else ``1 - 2**30``; the single overflowing case ``a = b = -2**31`` gives
    ``2**31 - 1``.
``REQ`` (MultiplyByQuantizedMultiplier, TFLite's reference "double rounding" form)
    with ``left = clamp(c, 0, 31)`` and ``right = clamp(-c, 0, 31)``:
    ``RSHR(MULQ(wrap32(a * 2**left), b), right)``, then saturated to ``dtype``. ``b`` is a Q31
    multiplier, ``c`` TFLite's signed shift (positive = left).

Shift amounts are taken modulo 32 (``b & 31``), after ``b`` is read as the source type.
"""

import numpy as np

from isa.config import LUT_ENTRIES
from isa.opcodes import DType, VectorOp

__all__ = [
    "INT32_MIN", "INT32_MAX", "type_range", "wrap", "saturate", "read_as",
    "rounding_divide_by_pot", "saturating_rounding_doubling_high_mul",
    "multiply_by_quantized_multiplier", "count_leading_zeros", "compute", "lut_write",
    "to_bytes", "from_bytes",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def type_range(dtype):
    """``(lowest, highest)`` value of ``dtype``."""
    half = 1 << (dtype.bits - 1)
    return -half, half - 1


def _int64(x):
    return np.asarray(x, dtype=np.int64)


def wrap(x, dtype):
    """``x`` reduced to ``dtype`` by two's-complement wrapping."""
    x = _int64(x)
    half = 1 << (dtype.bits - 1)
    return ((x + half) & ((half << 1) - 1)) - half


def saturate(x, dtype):
    """``x`` clamped to the range of ``dtype``."""
    lo, hi = type_range(dtype)
    return np.clip(_int64(x), lo, hi)


def read_as(x, stype):
    """An operand as an instruction reads it: the low ``stype`` bits, sign-extended."""
    return wrap(x, stype)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: ``x / 2**exponent``, ties away from zero. ``exponent``
    in 0..31."""
    x, exponent = _int64(x), _int64(exponent)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values."""
    a, b = _int64(a), _int64(b)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudged = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    # C division truncates towards zero; NumPy's >> floors, so divide the magnitude.
    high = np.sign(nudged) * (np.abs(nudged) >> 31)
    return np.where(overflow, np.int64(INT32_MAX), high)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier (reference, double rounding) on int32 values.
    The result is an int32 value (before any narrowing)."""
    shift = _int64(shift)
    left = np.clip(shift, 0, 31)
    right = np.clip(-shift, 0, 31)
    scaled = wrap(_int64(x) << left, DType.I32)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scaled, multiplier),
                                  right)


def count_leading_zeros(x):
    """Leading zero bits of ``x`` as a 32-bit word (32 for 0), by integer binary search."""
    word = _int64(x) & 0xFFFFFFFF
    count = np.zeros_like(word)
    for step in (16, 8, 4, 2, 1):
        small = word < (1 << (32 - step))
        count += np.where(small, step, 0)
        word = np.where(small, (word << step) & 0xFFFFFFFF, word)
    return count + (word == 0)


def compute(op, stype, dtype, a=0, b=0, c=0, table=None):
    """The result of VXM operation ``op`` (a :class:`~isa.opcodes.VectorOp` with a result).

    ``a``, ``b``, ``c`` are read as ``stype`` here; the result is in ``dtype``'s range.
    ``table`` is the ALU's lookup table (``LUT_ENTRIES`` int32 values) for ``LUT``.
    """
    a, b, c = read_as(a, stype), read_as(b, stype), read_as(c, stype)
    V = VectorOp
    if op is V.MOV:
        return wrap(a, dtype)
    if op is V.MOVS:
        return saturate(a, dtype)
    if op in (V.ADD, V.ADDS):
        exact = a + b
    elif op in (V.SUB, V.SUBS):
        exact = a - b
    elif op in (V.MUL, V.MULS):
        exact = a * b
    elif op is V.MIN:
        return wrap(np.minimum(a, b), dtype)
    elif op is V.MAX:
        return wrap(np.maximum(a, b), dtype)
    elif op is V.AND:
        return wrap(a & b, dtype)
    elif op is V.OR:
        return wrap(a | b, dtype)
    elif op is V.XOR:
        return wrap(a ^ b, dtype)
    elif op is V.SHL:
        return wrap(a << (b & 31), dtype)
    elif op is V.SHR:
        return wrap(a >> (b & 31), dtype)
    elif op is V.RSHR:
        return wrap(rounding_divide_by_pot(a, b & 31), dtype)
    elif op is V.MULQ:
        return saturate(saturating_rounding_doubling_high_mul(a, b), dtype)
    elif op is V.REQ:
        return saturate(multiply_by_quantized_multiplier(a, b, c), dtype)
    elif op is V.EQ:
        return wrap(a == b, dtype)
    elif op is V.LT:
        return wrap(a < b, dtype)
    elif op is V.LE:
        return wrap(a <= b, dtype)
    elif op is V.SEL:
        return wrap(np.where(c != 0, a, b), dtype)
    elif op is V.CLZ:
        return wrap(count_leading_zeros(a), dtype)
    elif op is V.LUT:
        if table is None:
            raise ValueError("LUT needs the ALU's table")
        return wrap(_int64(table)[a & (LUT_ENTRIES - 1)], dtype)
    else:
        raise ValueError(f"{op!r} produces no result")
    if op in (V.ADDS, V.SUBS, V.MULS):
        return saturate(exact, dtype)
    return wrap(exact, dtype)


def lut_write(table, base, values):
    """LUTW: ``table[base + lane] = values[lane]`` for lanes with ``base + lane < LUT_ENTRIES``
    (values read as int32). Returns the new table."""
    table = _int64(table).copy()
    values = read_as(values, DType.I32)
    count = max(0, min(len(values), LUT_ENTRIES - base))
    table[base:base + count] = values[:count]
    return table


def to_bytes(values, dtype):
    """An int vector as ``dtype.bytes`` byte vectors (uint8, one per stream, least significant
    first): the layout of a wide value across adjacent streams."""
    raw = wrap(values, dtype) & ((1 << dtype.bits) - 1)
    return np.stack([(raw >> (8 * i)) & 0xFF for i in range(dtype.bytes)]).astype(np.uint8)


def from_bytes(planes, dtype):
    """Inverse of :func:`to_bytes`: ``dtype.bytes`` byte vectors to int64 values."""
    planes = np.asarray(planes, dtype=np.int64)
    raw = sum(planes[i] << (8 * i) for i in range(dtype.bytes))
    return wrap(raw, dtype)

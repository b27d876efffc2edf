"""The VXM arithmetic (golden.vector): hand-computed vectors that pin every rounding rule, and
property tests against an independent implementation in exact Python integers."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from golden import vector
from golden.matrix import matmul
from isa.opcodes import DType, VectorOp

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# ---- An independent reference, written from the C definitions with Python integers. ----

def ref_wrap(x, dtype):
    bits = dtype.bits
    return ((x + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))


def ref_saturate(x, dtype):
    bits = dtype.bits
    return max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, x))


def ref_rounding_divide_by_pot(x, exponent):
    # Round to nearest, ties away from zero, as an exact rational.
    if exponent == 0:
        return x
    quotient, remainder = divmod(abs(x), 1 << exponent)
    if 2 * remainder >= (1 << exponent):
        quotient += 1
    return quotient if x >= 0 else -quotient


def _trunc_div(numerator, denominator):
    """C integer division: the quotient truncated towards zero."""
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient


def ref_srdhm(a, b):
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _trunc_div(ab + nudge, 1 << 31)


def ref_mbqm(x, multiplier, shift):
    left, right = max(0, min(31, shift)), max(0, min(31, -shift))
    return ref_rounding_divide_by_pot(ref_srdhm(ref_wrap(x << left, DType.I32), multiplier),
                                      right)


def one(op, stype, dtype, a=0, b=0, c=0, table=None):
    return int(vector.compute(op, stype, dtype, np.array([a]), np.array([b]), np.array([c]),
                              table=table)[0])


# ---- Hand-computed pins. ----

@pytest.mark.parametrize("x, exponent, expected", [
    (5, 1, 3), (-5, 1, -3),            # 2.5 -> 3, -2.5 -> -3: ties away from zero
    (4, 1, 2), (-4, 1, -2),
    (6, 2, 2), (-6, 2, -2),            # 1.5 -> 2, -1.5 -> -2
    (5, 2, 1), (-5, 2, -1),            # 1.25 -> 1
    (7, 0, 7), (-7, 0, -7),
    (INT32_MIN, 31, -1), (INT32_MAX, 31, 1), (1, 31, 0),
])
def test_rounding_divide_by_pot_pins(x, exponent, expected):
    assert vector.rounding_divide_by_pot(x, exponent) == expected
    assert one(VectorOp.RSHR, DType.I32, DType.I32, x, exponent) == expected


@pytest.mark.parametrize("a, b, expected", [
    (INT32_MIN, INT32_MIN, INT32_MAX),          # the one overflow
    (1 << 30, 1 << 30, 1 << 29),                # 0.5 * 0.5 = 0.25
    (INT32_MAX, INT32_MAX, INT32_MAX - 1),
    (3, 1 << 30, 2),                            # 1.5 -> 2
    (-3, 1 << 30, -1),                          # -1.5 -> -1: gemmlowp's nudge, not symmetric
    (-1, 1, 0),
    (INT32_MIN, 1 << 30, -(1 << 30)),
])
def test_saturating_rounding_doubling_high_mul_pins(a, b, expected):
    assert vector.saturating_rounding_doubling_high_mul(a, b) == expected
    assert one(VectorOp.MULQ, DType.I32, DType.I32, a, b) == expected


@pytest.mark.parametrize("x, multiplier, shift, expected", [
    # 1000 * 0.70710678 (Q31 1518500250) = 707.1068 -> 707; then / 8 = 88.38 -> 88
    (1000, 1518500250, -3, 88),
    (1000, 1518500250, 0, 707),
    # Left shift first: 3 << 2 = 12, * 0.5 = 6
    (3, 1 << 30, 2, 6),
    # 2**31 - 1 << 1 wraps to -2 (C int32 multiplication), * 0.5 = -1
    (INT32_MAX, 1 << 30, 1, -1),
])
def test_multiply_by_quantized_multiplier_pins(x, multiplier, shift, expected):
    assert vector.multiply_by_quantized_multiplier(x, multiplier, shift) == expected


def test_requantise_saturates_to_int8():
    assert one(VectorOp.REQ, DType.I32, DType.I8, 100_000, 1 << 30, 0) == 127
    assert one(VectorOp.REQ, DType.I32, DType.I8, -100_000, 1 << 30, 0) == -128
    assert one(VectorOp.REQ, DType.I32, DType.I8, 250, 1 << 30, 0) == 125


@pytest.mark.parametrize("op, stype, dtype, a, b, expected", [
    (VectorOp.ADD, DType.I8, DType.I8, 100, 100, -56),        # 200 wraps
    (VectorOp.ADDS, DType.I8, DType.I8, 100, 100, 127),
    (VectorOp.SUB, DType.I8, DType.I8, -100, 100, 56),
    (VectorOp.SUBS, DType.I8, DType.I8, -100, 100, -128),
    (VectorOp.SUB, DType.I8, DType.I8, 0, -128, -128),        # -(-128) wraps to -128
    (VectorOp.SUBS, DType.I8, DType.I8, 0, -128, 127),
    (VectorOp.MUL, DType.I16, DType.I16, 300, 300, 24464),    # 90000 - 65536
    (VectorOp.MULS, DType.I16, DType.I16, 300, 300, 32767),
    (VectorOp.MUL, DType.I8, DType.I32, -128, -128, 16384),   # widening multiply
    (VectorOp.MOV, DType.I32, DType.I8, -129, 0, 127),        # narrow by wrapping
    (VectorOp.MOVS, DType.I32, DType.I8, -129, 0, -128),      # narrow by saturating
    (VectorOp.MOV, DType.I8, DType.I32, 200, 0, -56),         # operand read as int8
    (VectorOp.SHL, DType.I8, DType.I8, 1, 7, -128),
    (VectorOp.SHR, DType.I8, DType.I8, -128, 1, -64),
    (VectorOp.SHL, DType.I32, DType.I32, 1, 33, 2),           # amount mod 32
    (VectorOp.MIN, DType.I8, DType.I8, -128, 127, -128),
    (VectorOp.MAX, DType.I16, DType.I16, -1, 1, 1),
    (VectorOp.AND, DType.I8, DType.I8, -1, 0x55, 0x55),
    (VectorOp.XOR, DType.I8, DType.I8, -1, 1, -2),
    (VectorOp.EQ, DType.I8, DType.I8, -128, 128, 1),          # 128 read as int8 is -128
    (VectorOp.LT, DType.I32, DType.I32, -5, 3, 1),
    (VectorOp.LE, DType.I32, DType.I32, 3, 3, 1),
    (VectorOp.CLZ, DType.I32, DType.I32, 0, 0, 32),
    (VectorOp.CLZ, DType.I32, DType.I32, 1, 0, 31),
    (VectorOp.CLZ, DType.I32, DType.I32, -1, 0, 0),
    (VectorOp.CLZ, DType.I32, DType.I32, 0x10000, 0, 15),
])
def test_elementwise_pins(op, stype, dtype, a, b, expected):
    assert one(op, stype, dtype, a, b) == expected


def test_select_and_lookup():
    assert one(VectorOp.SEL, DType.I32, DType.I32, 7, 9, 1) == 7
    assert one(VectorOp.SEL, DType.I32, DType.I32, 7, 9, 0) == 9
    table = np.arange(256) * 3 - 400
    assert one(VectorOp.LUT, DType.I8, DType.I32, -1, table=table) == 255 * 3 - 400
    assert one(VectorOp.LUT, DType.I8, DType.I8, 2, table=table) == ref_wrap(2 * 3 - 400, DType.I8)
    updated = vector.lut_write(np.zeros(256, dtype=np.int64), 250, np.arange(16))
    assert list(updated[248:256]) == [0, 0, 0, 1, 2, 3, 4, 5]      # lanes past 255 dropped


def test_bytes_round_trip():
    values = np.array([-1, 0, 1, INT32_MIN, INT32_MAX, 0x01020304])
    planes = vector.to_bytes(values, DType.I32)
    assert planes.shape == (4, 6)
    assert list(planes[:, 5]) == [4, 3, 2, 1]          # least significant byte first
    assert list(vector.from_bytes(planes, DType.I32)) == list(values)


def test_matmul_matches_exact_integers_and_wraps():
    rng = np.random.default_rng(7)
    a = rng.integers(-128, 128, (5, 40))
    w = rng.integers(-128, 128, (40, 3))
    exact = [[sum(int(a[i, k]) * int(w[k, j]) for k in range(40)) for j in range(3)]
             for i in range(5)]
    assert matmul(a, w).tolist() == exact
    big = np.full((1, 2), INT32_MAX)
    assert matmul(np.ones((1, 1)), np.ones((1, 2)), big).tolist() == [[INT32_MIN, INT32_MIN]]
    with pytest.raises(ValueError, match="activations must be int8"):
        matmul(np.full((1, 1), 200), np.ones((1, 1)))


# ---- Properties against the independent reference. ----

int32s = st.integers(INT32_MIN, INT32_MAX)
types = st.sampled_from(list(DType))


@settings(max_examples=300, deadline=None)
@given(a=int32s, b=int32s, c=st.integers(-40, 40), stype=types, dtype=types)
def test_arithmetic_matches_reference(a, b, c, stype, dtype):
    ra, rb, rc = ref_wrap(a, stype), ref_wrap(b, stype), ref_wrap(c, stype)
    expected = {
        VectorOp.ADD: ref_wrap(ra + rb, dtype), VectorOp.ADDS: ref_saturate(ra + rb, dtype),
        VectorOp.SUB: ref_wrap(ra - rb, dtype), VectorOp.SUBS: ref_saturate(ra - rb, dtype),
        VectorOp.MUL: ref_wrap(ra * rb, dtype), VectorOp.MULS: ref_saturate(ra * rb, dtype),
        VectorOp.MIN: ref_wrap(min(ra, rb), dtype), VectorOp.MAX: ref_wrap(max(ra, rb), dtype),
        VectorOp.SHL: ref_wrap(ra << (rb & 31), dtype),
        VectorOp.SHR: ref_wrap(ra >> (rb & 31), dtype),
        VectorOp.RSHR: ref_wrap(ref_rounding_divide_by_pot(ra, rb & 31), dtype),
        VectorOp.MULQ: ref_saturate(ref_srdhm(ra, rb), dtype),
        VectorOp.REQ: ref_saturate(ref_mbqm(ra, rb, rc), dtype),
        VectorOp.MOVS: ref_saturate(ra, dtype),
    }
    for op, value in expected.items():
        assert one(op, stype, dtype, a, b, c) == value, op

"""The arithmetic of one VXM lane: the RTL form of :func:`golden.vector.compute`.

:func:`lane_result` adds the combinational logic for one lane to a module. Operations share
the expensive parts: one 32 x 32 multiplier (MUL, MULS, MULQ, REQ), one left shifter (SHL and
REQ's input scaling), one rounding right shifter (SHR, RSHR, REQ), one 34-bit adder (ADD, SUB,
their saturating forms, MIN, MAX, LT, LE), and saturation by sign-bit reductions rather than
comparisons.

Written for simulation speed as much as for area: no intermediate is wider than 64 bits, and
sign extensions are explicit (:func:`sign_extend`) rather than Amaranth's implicit ones, which
Yosys writes as bit-by-bit concatenations that Verilator expands into long shift-and-or chains
(a 16-lane ALU compiled to 7 MB of C++ that way, per instance).
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.opcodes import DType, VectorOp

__all__ = ["sign_extend", "read_as", "lane_result", "lane_left_shift", "lane_scale",
           "lane_multiply", "lane_shift", "lane_high", "lane_arithmetic", "lane_select",
           "SATURATING_OPS", "LaneAlu"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

#: Operations whose exact result is saturated (not wrapped) to the destination type.
SATURATING_OPS = (VectorOp.MOVS, VectorOp.ADDS, VectorOp.SUBS, VectorOp.MULS, VectorOp.MULQ,
                  VectorOp.REQ)
#: Operations that take the lane's adder as a subtractor (a - b).
_SUBTRACTING = (VectorOp.SUB, VectorOp.SUBS, VectorOp.MIN, VectorOp.MAX, VectorOp.LT,
                VectorOp.LE)


def sign_extend(value, bits):
    """The low ``bits`` of ``value`` sign-extended to 32 bits, as an unsigned 32-bit value: the
    low bits OR'd with the upper bits' mask where the sign bit is set. That needs no bit
    replication (which Verilator evaluates bit by bit) and no adder (a carry chain on an FPGA,
    where this is plain wiring)."""
    if bits >= 32:
        return value[:32]
    upper = ((1 << 32) - 1) ^ ((1 << bits) - 1)
    return value[:bits] | Mux(value[bits - 1], Const(upper, 32), 0)


def read_as(value, dtype):
    """``value`` reduced to ``dtype`` and sign-extended: a ``signed(32)`` value."""
    return Mux(dtype == DType.I8, sign_extend(value, 8),
               Mux(dtype == DType.I16, sign_extend(value, 16), value[:32])).as_signed()


def _saturate(value, dtype):
    """``value`` (signed, any width) clamped to ``dtype``'s range, as 32 raw bits.

    ``value`` fits ``n`` bits when its bits ``n - 1`` and up are all equal to its sign: a
    reduction per type rather than a wide comparison against each bound (a carry chain each).
    """
    sign = value[-1]
    over, under = [], []
    for bits in (8, 16, 32):
        top = value[bits - 1:]
        over.append(~sign & top.any())
        under.append(sign & ~top.all())

    def by_type(choices):
        return Mux(dtype == DType.I8, choices[0], Mux(dtype == DType.I16, choices[1], choices[2]))

    highest = by_type([0x7F, 0x7FFF, 0x7FFF_FFFF])
    lowest = by_type([0xFFFF_FF80, 0xFFFF_8000, 0x8000_0000])
    return Mux(by_type(over), highest, Mux(by_type(under), lowest, value[:32]))


def _rounding_divide_by_pot(m, x, exponent, mask, name):
    """``(RoundingDivideByPOT(x, exponent), x >> exponent)``; ``mask`` is ``2**exponent - 1``
    (:func:`lane_shift`)."""
    shifted = Signal(signed(32), name=f"{name}_shifted")
    result = Signal(signed(32), name=name)
    m.d.comb += [
        shifted.eq(x >> exponent),
        result.eq(shifted + ((x.as_unsigned() & mask) > ((mask >> 1) + (x < 0)))),
    ]
    return result, shifted


def _count_leading_zeros(m, x, name):
    word = x.as_unsigned()
    count = Const(0, 6)
    for step in (16, 8, 4, 2, 1):
        small = Signal(name=f"{name}_small{step}")
        shifted = Signal(32, name=f"{name}_word{step}")
        m.d.comb += [small.eq(word < (1 << (32 - step))),
                     shifted.eq(Mux(small, word << step, word))]
        count = count + Mux(small, step, 0)
        word = shifted
    result = Signal(6, name=name)
    m.d.comb += result.eq(count + (word == 0))
    return result


def lane_result(m, op, dtype, a, b, c, table_value, name="lane"):
    """Add one lane's logic to ``m``; returns the result, a ``signed(32)`` signal holding the
    ``dtype`` value sign-extended.

    ``a``, ``b``, ``c`` are ``signed(32)`` operands as read (already reduced to the source type
    and sign-extended); ``table_value`` is this ALU's table entry at ``a mod 256`` (for LUT);
    ``op`` is the 6-bit opcode. The same logic as :func:`lane_left_shift`, :func:`lane_scale`,
    :func:`lane_shift`, :func:`lane_multiply`, :func:`lane_high`, :func:`lane_arithmetic` and
    :func:`lane_select` in turn, in one cycle.
    """
    scaled = lane_scale(m, a, lane_left_shift(m, op, b, c, name), name)
    product = lane_multiply(m, scaled, b, name)
    exponent, mask = lane_shift(m, op, b, c, name)
    high = lane_high(m, b, scaled, product, name)
    arithmetic = lane_arithmetic(m, op, a, b, high, exponent, mask, name)
    return lane_select(m, op, dtype, a, b, c, table_value, scaled, product, high, arithmetic,
                       name)


def lane_left_shift(m, op, b, c, name="lane"):
    """How far the lane's one left shifter shifts ``a`` (:func:`lane_scale`), from the
    operands alone: REQ's left shift (from ``c``), ``b mod 32`` for SHL, else 0; 5 bits. (A
    pipelined lane works it out in the cycle that selects the operands.)"""
    V = VectorOp
    left = Signal(5, name=f"{name}_left")
    amount = Signal(5, name=f"{name}_left_shift")
    m.d.comb += [
        left.eq(Mux(c > 31, 31, Mux(c < 0, 0, c[:5]))),
        # a << left for REQ's multiplier input, a << (b mod 32) for SHL (whose product is not
        # used), a itself for the other multiplications.
        amount.eq(Mux(op == V.REQ.value, left, Mux(op == V.SHL.value, b[:5], 0))),
    ]
    return amount


def lane_scale(m, a, amount, name="lane"):
    """The lane's one left shifter: ``a`` shifted left by :func:`lane_left_shift`'s
    ``amount``, ``signed(32)``. It is the multiplier's input (:func:`lane_multiply`) and SHL's
    result."""
    scaled = Signal(signed(32), name=f"{name}_scaled")
    m.d.comb += scaled.eq((a << amount)[:32])
    return scaled


def lane_multiply(m, scaled, b, name="lane"):
    """The lane's one multiplier: :func:`lane_scale`'s ``scaled`` times ``b``, ``signed(64)``
    (a*b for MUL, MULS and MULQ, (a << left) * b for REQ)."""
    product = Signal(signed(64), name=f"{name}_product")
    m.d.comb += product.eq(scaled * b)
    return product


def lane_shift(m, op, b, c, name="lane"):
    """What the rounding right shifter shifts by, from the operands alone: ``(exponent,
    mask)``, the shift (REQ's right shift, from ``c``; ``b mod 32`` for SHR and RSHR) and
    ``2**exponent - 1``, for :func:`lane_arithmetic`."""
    def sig(shape, suffix):
        return Signal(shape, name=f"{name}_{suffix}")

    right = sig(5, "right")
    exponent = sig(5, "exponent")
    mask = sig(32, "mask")
    m.d.comb += [
        right.eq(Mux(c < -31, 31, Mux(c > 0, 0, (-c)[:5]))),
        exponent.eq(Mux(op == VectorOp.REQ.value, right, b[:5])),
        # 2**exponent - 1, built without a 33-bit intermediate.
        mask.eq(~(Const(0xFFFF_FFFF, 32) << exponent)[:32]),
    ]
    return exponent, mask


def lane_high(m, b, scaled, product, name="lane"):
    """SaturatingRoundingDoublingHighMul of :func:`lane_scale`'s ``scaled`` and ``b`` from
    their ``product`` (:func:`lane_multiply`): the high word MULQ returns and REQ shifts,
    ``signed(32)``."""
    def sig(shape, suffix):
        return Signal(shape, name=f"{name}_{suffix}")

    # (product + nudge) / 2**31, truncated towards zero.
    # Apart from the overflow case a = b = -2**31 (handled on its own), |product| < 2**62, so
    # the product fits 63 bits and every intermediate fits 64.
    nudged = sig(signed(64), "nudged")
    floor = sig(signed(33), "floor")
    high = sig(signed(32), "high")
    m.d.comb += [
        nudged.eq(product[:63].as_signed() + Mux(product >= 0, Const(1 << 30, signed(63)),
                                                  Const(1 - (1 << 30), signed(63)))),
        floor.eq(nudged[31:].as_signed()),
        high.eq(Mux((scaled == INT32_MIN) & (b == INT32_MIN), INT32_MAX,
                    floor + ((nudged < 0) & (nudged[:31] != 0)))),
    ]
    return high


def lane_arithmetic(m, op, a, b, high, exponent, mask, name="lane"):
    """The lane's arithmetic after :func:`lane_high`: the rounding right shifter (RSHR and SHR
    of ``a``, or REQ's of ``high``), the adder (``a + b``, or ``a - b`` for the subtractions
    and comparisons; exact, 34 bits), the comparisons and the leading-zero count. Returns
    ``{"rounded", "shifted", "total", "less", "equal", "clz"}`` for :func:`lane_select` (a
    pipelined lane registers them between the two)."""
    is_req = op == VectorOp.REQ.value
    rounded, shifted = _rounding_divide_by_pot(m, Mux(is_req, high, a), exponent, mask,
                                               f"{name}_rounded")
    total = Signal(signed(34), name=f"{name}_sum")
    m.d.comb += total.eq(a + Mux(op.matches(*(o.value for o in _SUBTRACTING)), -b, b))
    less = Signal(name=f"{name}_less")
    equal = Signal(name=f"{name}_equal")
    m.d.comb += [less.eq(total[-1]), equal.eq(a == b)]
    clz = _count_leading_zeros(m, a, f"{name}_clz")
    return {"rounded": rounded, "shifted": shifted, "total": total, "less": less,
            "equal": equal, "clz": clz}


def lane_select(m, op, dtype, a, b, c, table_value, scaled, product, high, arithmetic,
                name="lane"):
    """The lane's last part: the choice of the result among the operands and the earlier
    parts' values (``arithmetic``, from :func:`lane_arithmetic`), and saturation. Returns the
    result as :func:`lane_result` does."""
    V = VectorOp

    def sig(shape, suffix):
        return Signal(shape, name=f"{name}_{suffix}")

    rounded, shifted = arithmetic["rounded"], arithmetic["shifted"]
    total, less, equal = arithmetic["total"], arithmetic["less"], arithmetic["equal"]

    # Wrapping operations: only the low 32 bits of the exact result matter.
    low = sig(32, "low")
    with m.Switch(op):
        with m.Case(V.MOV.value):
            m.d.comb += low.eq(a)
        with m.Case(V.ADD.value, V.SUB.value):
            m.d.comb += low.eq(total[:32])
        with m.Case(V.MUL.value):
            m.d.comb += low.eq(product[:32])
        with m.Case(V.MIN.value):
            m.d.comb += low.eq(Mux(less, a, b))
        with m.Case(V.MAX.value):
            m.d.comb += low.eq(Mux(less, b, a))
        with m.Case(V.AND.value):
            m.d.comb += low.eq(a & b)
        with m.Case(V.OR.value):
            m.d.comb += low.eq(a | b)
        with m.Case(V.XOR.value):
            m.d.comb += low.eq(a ^ b)
        with m.Case(V.SHL.value):
            m.d.comb += low.eq(scaled)
        with m.Case(V.SHR.value):
            m.d.comb += low.eq(shifted)
        with m.Case(V.RSHR.value):
            m.d.comb += low.eq(rounded)
        with m.Case(V.EQ.value):
            m.d.comb += low.eq(equal)
        with m.Case(V.LT.value):
            m.d.comb += low.eq(less)
        with m.Case(V.LE.value):
            m.d.comb += low.eq(less | equal)
        with m.Case(V.SEL.value):
            m.d.comb += low.eq(Mux(c != 0, a, b))
        with m.Case(V.CLZ.value):
            m.d.comb += low.eq(arithmetic["clz"])
        with m.Case(V.LUT.value):
            m.d.comb += low.eq(table_value)

    # Saturating operations, grouped by the width of their exact result.
    narrow = sig(signed(32), "narrow")
    m.d.comb += [
        narrow.eq(Mux(op == V.MOVS.value, a, Mux(op == V.MULQ.value, high, rounded))),
    ]
    saturated = sig(32, "saturated")
    with m.Switch(op):
        with m.Case(V.ADDS.value, V.SUBS.value):
            m.d.comb += saturated.eq(_saturate(total, dtype))
        with m.Case(V.MULS.value):
            m.d.comb += saturated.eq(_saturate(product, dtype))
        with m.Default():
            m.d.comb += saturated.eq(_saturate(narrow, dtype))

    is_saturating = sig(1, "is_saturating")
    m.d.comb += is_saturating.eq(op.matches(*(o.value for o in SATURATING_OPS)))
    result = sig(signed(32), "result")
    m.d.comb += result.eq(Mux(is_saturating, saturated, read_as(low, dtype).as_unsigned()))
    return result


class LaneAlu(wiring.Component):
    """One lane of the VXM ALU, on its own: a wrapper around :func:`lane_result` for tests.

    Members
    -------
    op : In(6)
    stype, dtype : In(DType)
    a, b, c : In(signed(32))
        Operands, read as ``stype`` inside (as the VXM does).
    table_value : In(signed(32))
    result : Out(signed(32))
    """

    def __init__(self):
        super().__init__({
            "op":          In(6),
            "stype":       In(DType),
            "dtype":       In(DType),
            "a":           In(signed(32)),
            "b":           In(signed(32)),
            "c":           In(signed(32)),
            "table_value": In(signed(32)),
            "result":      Out(signed(32)),
        })

    def elaborate(self, platform):
        m = Module()
        a, b, c = (Signal(signed(32), name=n) for n in "abc")
        m.d.comb += [a.eq(read_as(self.a, self.stype)), b.eq(read_as(self.b, self.stype)),
                     c.eq(read_as(self.c, self.stype))]
        result = lane_result(m, self.op, self.dtype, a, b, c, self.table_value)
        m.d.comb += self.result.eq(result)
        return m

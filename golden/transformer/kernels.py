"""Integer transformer kernels, composed only of operations the chip performs.

Every kernel here is a sequence of

* VXM operations, through :func:`vxm` (which calls :func:`golden.vector.compute`), elementwise on
  arrays of any shape; a lookup table is a :data:`~isa.config.LUT_ENTRIES`-entry int32 table
  indexed by the low 8 bits of the operand;
* MXM products, through :func:`mxm` (:func:`golden.matrix.matmul`: int8 x int8 -> int32);
* cross-lane reductions :func:`reduce_sum` and :func:`reduce_max` (wrapping int32; on the chip,
  SXM lane shifts feeding a VXM ``ADD`` or ``MAX`` tree; wrapping addition is associative, so
  every tree order gives the same bits);
* data movement (slicing, transposes, broadcasts), which the MEM and SXM do.

There is no float, no division other than by powers of two (``SHR``/``RSHR``) and no NumPy
arithmetic on data in this module. :func:`record_ops` lists which operations a computation used,
so tests can check each kernel against the operation lists in ``docs/numerics.md``.

Values are NumPy ``int64`` arrays holding integers of the stated type. Fixed-point formats are
written ``Qn``: an integer ``v`` in ``Qn`` stands for ``v / 2**n``. Constants that are computed
offline from real numbers (multipliers, tables) are made by
:mod:`golden.transformer.quantize`; the kernels only consume them.
"""

import contextlib
from dataclasses import dataclass, field

import numpy as np

from isa.config import LUT_ENTRIES
from isa.opcodes import DType, VectorOp
from .. import matrix, vector

__all__ = [
    "I8", "I16", "I32", "INT32_MIN", "INT32_MAX", "P_MAX", "MAX_KEYS", "EXP_FRACTION_BITS",
    "GELU_FRACTION_BITS", "GELU_LIMIT", "WIDE_BITS", "NORM_GAIN_BITS", "LN_GUARD_BITS",
    "OpRecord", "record_ops", "vxm", "mxm", "reduce_sum", "reduce_max", "Requant", "Linear",
    "SoftmaxParams", "LayerNormParams", "GeluParams", "Tables", "requantize",
    "linear_accumulate", "linear", "split_wide", "linear_wide_accumulate", "residual_add",
    "softmax", "layer_norm_input_limit", "layer_norm", "gelu", "l2_normalize", "EXP_BITS",
    "GELU_KNOT_SHIFT", "NEWTON_STEPS", "SQUARE_BITS", "square_shift", "HALF_SQRT_MULTIPLIER",
    "HALF_SQRT_SHIFT",
]

I8, I16, I32 = DType.I8, DType.I16, DType.I32
INT32_MIN, INT32_MAX = vector.INT32_MIN, vector.INT32_MAX

#: Softmax probabilities are int8 in ``0..P_MAX`` and stand for ``P / P_MAX``.
P_MAX = 127
#: Most keys one softmax row may have: each exponential is at most ``2**20`` (Q20), so a row
#: sums to at most ``2**29`` and the reciprocal's normalisation shift stays in ``0..31``.
MAX_KEYS = 512
#: The softmax exponent ``t`` is in Q16 base-2 units: ``exp(z) = 2**(t / 2**16)``.
EXP_FRACTION_BITS = 16
#: Each exponential is Q20 (at most ``2**EXP_BITS``).
EXP_BITS = 20
#: GELU works on Q12 real values; inputs in ``[-GELU_LIMIT, GELU_LIMIT)`` use the tables.
GELU_FRACTION_BITS = 12
GELU_LIMIT = 4
#: 256 GELU knots over ``[-4, 4)``: one every ``2**GELU_KNOT_SHIFT`` Q12 steps (1/32).
GELU_KNOT_SHIFT = 7
#: The normalised value of :func:`layer_norm` is ``q * sqrt(H) / 2**(15.5 + NORM_GAIN_BITS)``.
NORM_GAIN_BITS = 15
#: Wide activations (the GELU output) have this many bits and feed the MXM as two int8 halves.
WIDE_BITS = 15
#: Extra fraction bits kept between the LayerNorm's gamma multiply and its final rounding.
LN_GUARD_BITS = 8
#: Newton-Raphson iterations after a table seed (reciprocal, inverse square root).
NEWTON_STEPS = 2
#: Bits of each deviation kept for the sum of squares of :func:`layer_norm`.
SQUARE_BITS = 15


# -- operation recording --------------------------------------------------------------------

@dataclass
class OpRecord:
    """The operations a computation used.

    Members
    -------
    vector : set of VectorOp
        VXM operations.
    reductions : set of str
        Cross-lane reductions, ``"SUM"`` and/or ``"MAX"``.
    matmul : bool
        Whether the MXM was used.
    operand_kinds : set of str
        NumPy dtype kinds (``"i"``, ``"u"``, ``"b"``, ...) of every operand seen; a float
        (``"f"``) here means float data leaked into the integer path.
    """
    vector: set = field(default_factory=set)
    reductions: set = field(default_factory=set)
    matmul: bool = False
    operand_kinds: set = field(default_factory=set)


_recorders = []


@contextlib.contextmanager
def record_ops():
    """Context manager yielding an :class:`OpRecord` of the operations used inside it."""
    record = OpRecord()
    _recorders.append(record)
    try:
        yield record
    finally:
        _recorders.remove(record)


def vxm(op, stype, dtype, a=0, b=0, c=0, table=None):
    """One VXM operation (:func:`golden.vector.compute`), recorded."""
    for record in _recorders:
        record.vector.add(op)
        record.operand_kinds.update(np.asarray(x).dtype.kind for x in (a, b, c))
    return vector.compute(op, stype, dtype, a, b, c, table=table)


def mxm(activations, weights):
    """One MXM product ``activations [M, K] @ weights [K, N]`` (int8, wrapping int32)."""
    for record in _recorders:
        record.matmul = True
        record.operand_kinds.update(np.asarray(x).dtype.kind for x in (activations, weights))
    return matrix.matmul(activations, weights)


def _reduce(op, identity, name, x, axis):
    for record in _recorders:
        record.reductions.add(name)
    x = np.moveaxis(np.asarray(x, dtype=np.int64), axis, 0)
    while x.shape[0] > 1:
        if x.shape[0] % 2:      # shift in one lane of the identity (SXM shift with fill)
            x = np.concatenate([x, np.full((1,) + x.shape[1:], identity, dtype=np.int64)])
        half = x.shape[0] // 2
        x = vxm(op, I32, I32, x[:half], x[half:])
    return np.moveaxis(vector.wrap(x, I32), 0, axis)


def reduce_sum(x, axis=-1):
    """Wrapping int32 sum along ``axis`` (kept, length 1): a tree of VXM ``ADD``."""
    return _reduce(VectorOp.ADD, 0, "SUM", x, axis)


def reduce_max(x, axis=-1):
    """int32 maximum along ``axis`` (kept, length 1): a tree of VXM ``MAX``."""
    return _reduce(VectorOp.MAX, INT32_MIN, "MAX", x, axis)


# -- parameters -----------------------------------------------------------------------------

def _int_array(value, name, lo, hi):
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer array, not {array.dtype}")
    array = array.astype(np.int64)
    if array.size and (array.min() < lo or array.max() > hi):
        raise ValueError(f"{name} must lie in {lo}..{hi}, found {array.min()}..{array.max()}")
    return array


@dataclass(frozen=True)
class Requant:
    """A Q31 multiplier and a TFLite shift (positive = left), per tensor or per channel.

    ``REQ(x, multiplier, shift)`` multiplies ``x`` by ``multiplier * 2**(shift - 31)``; see
    :mod:`golden.vector` for the rounding. ``multiplier`` and ``shift`` have the same shape:
    ``()`` for one value, ``(channels,)`` for one per channel (the last axis of the data).
    """
    multiplier: np.ndarray = field(metadata={"dtype": "int32"})
    shift: np.ndarray = field(metadata={"dtype": "int32"})

    def __post_init__(self):
        multiplier = _int_array(self.multiplier, "Requant multiplier", INT32_MIN + 1, INT32_MAX)
        shift = _int_array(self.shift, "Requant shift", -31, 31)
        if multiplier.shape != shift.shape:
            raise ValueError(f"Requant multiplier shape {multiplier.shape} differs from shift "
                             f"shape {shift.shape}")
        object.__setattr__(self, "multiplier", multiplier)
        object.__setattr__(self, "shift", shift)


@dataclass(frozen=True)
class Linear:
    """int8 weights ``[in, out]`` (per-output-channel scale) and int32 bias ``[out]`` at the
    accumulator's scale."""
    weight: np.ndarray = field(metadata={"dtype": "int8"})
    bias: np.ndarray = field(metadata={"dtype": "int32"})

    def __post_init__(self):
        weight = _int_array(self.weight, "Linear weight", -128, 127)
        bias = _int_array(self.bias, "Linear bias", INT32_MIN, INT32_MAX)
        if weight.ndim != 2 or bias.shape != (weight.shape[1],):
            raise ValueError(f"Linear needs weight [in, out] and bias [out], got "
                             f"{weight.shape} and {bias.shape}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)

    @property
    def shape(self):
        """``(in, out)``."""
        return self.weight.shape


@dataclass(frozen=True)
class SoftmaxParams:
    """Scores to the base-2 exponent: ``t = REQ(max(s - max(s), floor))`` in Q16.

    ``floor`` (negative) bounds the difference so that ``REQ``'s left shift cannot wrap; at the
    floor the exponential is already 0 in Q20.
    """
    scale: Requant
    floor: np.ndarray = field(metadata={"dtype": "int32"})

    def __post_init__(self):
        if self.scale.multiplier.shape != ():
            raise ValueError("Softmax scale must be one multiplier, not per channel")
        floor = _int_array(self.floor, "Softmax floor", INT32_MIN + 1, -1)
        if floor.shape != ():
            raise ValueError("Softmax floor must be a scalar")
        object.__setattr__(self, "floor", floor)


@dataclass(frozen=True)
class LayerNormParams:
    """Integer LayerNorm over the last axis of width ``H``.

    ``gamma`` (per channel) multiplies the normalised value ``q`` (see :func:`layer_norm`) by
    ``gamma_i * sqrt(H) / 2**(15.5 + NORM_GAIN_BITS)`` divided by the output scale, times
    ``2**LN_GUARD_BITS``; ``beta`` is the bias at that scale.
    """
    gamma: Requant
    beta: np.ndarray = field(metadata={"dtype": "int32"})

    def __post_init__(self):
        beta = _int_array(self.beta, "LayerNorm beta", INT32_MIN, INT32_MAX)
        if beta.ndim != 1 or self.gamma.multiplier.shape != beta.shape:
            raise ValueError(f"LayerNorm gamma and beta must both be [H], got "
                             f"{self.gamma.multiplier.shape} and {beta.shape}")
        object.__setattr__(self, "beta", beta)

    @property
    def width(self):
        """``H``."""
        return self.beta.shape[0]


@dataclass(frozen=True)
class GeluParams:
    """GELU of an int32 accumulator: ``input`` brings it to Q12 real values (per channel),
    ``output`` from Q12 to the 15-bit result (one scale)."""
    input: Requant
    output: Requant


@dataclass(frozen=True)
class Tables:
    """The lookup tables (``LUT_ENTRIES`` int32 entries each) the kernels use.

    Members
    -------
    exp2_coarse : ``round(2**(i/256) * 2**30)``, Q30.
    exp2_fine : ``round(2**(i/65536) * 2**30)``, Q30.
    reciprocal_seed : ``1 / ((i + 0.5) / 256)`` in Q30 (at most ``2**31 - 1``) for
        ``i >= 128``, the seed of the reciprocal's Newton-Raphson iteration.
    rsqrt_seed : ``1 / sqrt((i + 0.5) / 256)`` in Q29 for ``i >= 64``.
    gelu_value : ``GELU(-4 + i/32)`` in Q12, the knots of the interpolated GELU.
    gelu_slope : ``gelu_value[i + 1] - gelu_value[i]`` (``GELU(4)`` past the last knot).
    """
    exp2_coarse: np.ndarray = field(metadata={"dtype": "int32"})
    exp2_fine: np.ndarray = field(metadata={"dtype": "int32"})
    reciprocal_seed: np.ndarray = field(metadata={"dtype": "int32"})
    rsqrt_seed: np.ndarray = field(metadata={"dtype": "int32"})
    gelu_value: np.ndarray = field(metadata={"dtype": "int32"})
    gelu_slope: np.ndarray = field(metadata={"dtype": "int32"})

    def __post_init__(self):
        for name in ("exp2_coarse", "exp2_fine", "reciprocal_seed", "rsqrt_seed",
                     "gelu_value", "gelu_slope"):
            table = _int_array(getattr(self, name), f"Table {name}", INT32_MIN, INT32_MAX)
            if table.shape != (LUT_ENTRIES,):
                raise ValueError(f"Table {name} must have {LUT_ENTRIES} entries, not "
                                 f"shape {table.shape}")
            object.__setattr__(self, name, table)


# -- kernels --------------------------------------------------------------------------------

def requantize(x, requant, dtype):
    """``REQ(x, multiplier, shift)`` saturated to ``dtype``.

    Rounding: TFLite's double rounding (``MULQ`` rounds to nearest at bit 31 with ties towards
    +infinity, then ``RSHR`` rounds to nearest with ties away from zero), exactly as
    :mod:`golden.vector` defines ``REQ``.
    A positive shift wraps ``x << shift`` in int32 first; the quantiser proves it cannot.
    """
    return vxm(VectorOp.REQ, I32, dtype, x, requant.multiplier, requant.shift)


def linear_accumulate(x, layer):
    """``x @ weight + bias`` as wrapping int32: the MXM product, then VXM ``ADD`` of the bias.

    ``x`` is int8 ``[tokens, in]``; the result ``[tokens, out]`` is int32.
    """
    return vxm(VectorOp.ADD, I32, I32, mxm(x, layer.weight), layer.bias)


def linear(x, layer, requant, dtype=I8):
    """:func:`linear_accumulate` requantised per output channel to ``dtype``."""
    return requantize(linear_accumulate(x, layer), requant, dtype)


def split_wide(x):
    """A wide activation ``x`` in ``[-2**14, 2**14)`` as int8 ``(high, low)`` with
    ``x = 128 * high + low``: ``high = x >> 7`` (``SHR``, in -128..127) and ``low = x & 127``
    (``AND``, in 0..127)."""
    return (vxm(VectorOp.SHR, I32, I8, x, 7),
            vxm(VectorOp.AND, I32, I8, x, (1 << 7) - 1))


def linear_wide_accumulate(x, layer):
    """``x @ weight + bias`` for 15-bit ``x`` as two int8 MXM passes.

    Returns ``(high, low)`` int32 accumulators with ``x @ weight + bias ==
    128 * high + low`` exactly (as integers; the two are kept apart because ``128 * high``
    can pass int32): ``high = x_high @ weight``, ``low = x_low @ weight + bias``. Each is
    requantised separately (the caller gives ``high`` a multiplier 128 times larger).
    """
    high, low = split_wide(x)
    return mxm(high, layer.weight), linear_accumulate(low, layer)


def residual_add(terms, limit):
    """``clamp(sum of REQ(value, requant) for value, requant in terms, -limit, limit)``, int32.

    Every term is brought to the common int32 scale of the sum by its own :class:`Requant`
    (per channel allowed) and added with saturation (``ADDS``); the clamp keeps the sum in the
    input range of :func:`layer_norm`. Rounding: one ``REQ`` rounding per term; the adds are
    exact.
    """
    (value, requant), *rest = terms
    total = requantize(value, requant, I32)
    for value, requant in rest:
        total = vxm(VectorOp.ADDS, I32, I32, total, requantize(value, requant, I32))
    return vxm(VectorOp.MAX, I32, I32, vxm(VectorOp.MIN, I32, I32, total, limit), -limit)


def _reciprocal(m, tables):
    """``1/u`` in Q30 (saturated at ``2**31 - 1``) for ``m = u * 2**31``, ``u`` in [0.5, 1)."""
    V = VectorOp
    r = vxm(V.LUT, I32, I32, vxm(V.SHR, I32, I32, m, 23), table=tables.reciprocal_seed)
    for _ in range(NEWTON_STEPS):    # r += r * (1 - u r): the error squares each step
        error = vxm(V.SUB, I32, I32, 1 << 30, vxm(V.MULQ, I32, I32, m, r))       # Q30
        r = vxm(V.ADDS, I32, I32, r,
                vxm(V.MULQ, I32, I32, r, vxm(V.SHL, I32, I32, error, 1)))
    return r


def softmax(scores, params, tables, mask=None):
    """Softmax along the last axis of int32 ``scores``, as int8 probabilities ``0..P_MAX``.

    Algorithm (per row of ``n <= MAX_KEYS`` keys):

    1. masked scores (``mask == 0``) become ``INT32_MIN`` (``SEL``);
    2. ``d = max(s - max(s), floor)`` (``SUBS``, ``MAX``); ``t = REQ(d)`` is the base-2
       exponent in Q16 (the multiplier folds in the scores' scale, ``1/sqrt(d_head)`` and
       ``log2 e``);
    3. ``2**t``: integer part ``t >> 16``, fraction ``f = t & 0xFFFF``;
       ``2**(f/2**16) = exp2_coarse[f >> 8] * exp2_fine[f & 255]`` (two ``LUT``, ``MULQ``:
       Q29), then ``RSHR`` by ``9 - (t >> 16)`` (at most 31) to Q20;
    4. ``sum`` (``reduce_sum``), normalised by ``CLZ`` and ``SHL`` to ``m`` in
       ``[2**30, 2**31)``; ``1/m`` by table seed and two Newton steps (Q30);
    5. ``p = e * (1/sum) * P_MAX``: two ``MULQ`` and one ``RSHR`` by ``33 - clz(sum)``,
       saturated to int8 (``MOVS``).

    Rounding: to nearest at each ``MULQ`` (ties up), ``RSHR`` (ties away from zero) and
    ``REQ`` (both). Masked keys get exactly 0, so a causal row equals the same row computed
    over only its visible keys.
    """
    V = VectorOp
    scores = np.asarray(scores, dtype=np.int64)
    if scores.shape[-1] > MAX_KEYS:
        raise ValueError(f"Softmax rows may have at most {MAX_KEYS} keys, not "
                         f"{scores.shape[-1]}")
    if mask is not None:
        scores = vxm(V.SEL, I32, I32, scores, INT32_MIN, mask)
    d = vxm(V.SUBS, I32, I32, scores, reduce_max(scores))
    t = requantize(vxm(V.MAX, I32, I32, d, params.floor), params.scale, I32)
    whole = vxm(V.SHR, I32, I32, t, EXP_FRACTION_BITS)                       # <= 0
    fraction = vxm(V.AND, I32, I32, t, (1 << EXP_FRACTION_BITS) - 1)
    e = vxm(V.MULQ, I32, I32,
            vxm(V.LUT, I32, I32, vxm(V.SHR, I32, I32, fraction, 8), table=tables.exp2_coarse),
            vxm(V.LUT, I32, I32, fraction, table=tables.exp2_fine))            # Q29
    shift = vxm(V.MIN, I32, I32, vxm(V.SUB, I32, I32, 29 - EXP_BITS, whole), 31)
    e = vxm(V.RSHR, I32, I32, e, shift)                                        # Q20
    total = reduce_sum(e)                                                      # 2**20..2**29
    zeros = vxm(V.CLZ, I32, I32, total)                                        # 2..11
    r = _reciprocal(vxm(V.SHL, I32, I32, total, vxm(V.SUB, I32, I32, zeros, 1)), tables)
    # e * 2**10 * r / 2**31 = e r 2**9;  * P_MAX/2**8;  p = that * 2**(zeros - 33)
    w = vxm(V.MULQ, I32, I32, vxm(V.SHL, I32, I32, e, 10), r)
    w = vxm(V.MULQ, I32, I32, w, (P_MAX << 23))
    p = vxm(V.RSHR, I32, I32, w, vxm(V.SUB, I32, I32, 33, zeros))
    return vxm(V.MOVS, I32, I8, p)


def layer_norm_input_limit(width):
    """Largest ``|x|`` :func:`layer_norm` accepts on a row of ``width``: a power of two with
    ``width * limit <= 2**30``, so ``width * x - sum(x)`` fits int32 (``2**21`` for
    ``width = 384``)."""
    return 1 << (30 - width.bit_length())


def square_shift(width):
    """Even right shift applied to each square (at most ``2**30``) so that ``width`` of them sum
    below ``2**31``."""
    shift = 0
    while width * (1 << (30 - shift)) > INT32_MAX:
        shift += 2
    return shift


def _inverse_rms(d, tables):
    """``q = d / rms(d) * 2**(15.5 + NORM_GAIN_BITS) / sqrt(H)`` per row, as int32.

    ``d`` is int32 (``|d| < 2**31``); ``|q| < 2**30.5``. Steps: the row's largest
    magnitude sets a signed shift ``k`` so that ``d * 2**-k`` (``SHL`` or ``RSHR``) has 15
    bits; each square (at most ``2**30``) is ``RSHR``-ed by an even ``j`` (8 for ``H = 384``)
    so the row sum ``v`` fits int32; ``v`` is normalised by an even ``CLZ`` shift ``s`` to
    ``m = v 2**s`` in ``[2**29, 2**31)``; ``1/sqrt(m/2**31)`` (Q29) comes from a table seed and
    two Newton steps;
    ``d`` is scaled up to 30 bits, multiplied (``MULQ``) and shifted back by the exponents.
    """
    V = VectorOp
    width = d.shape[-1]
    magnitude = reduce_max(vxm(V.MAX, I32, I32, d, vxm(V.SUB, I32, I32, 0, d)))
    length = vxm(V.SUB, I32, I32, 32, vxm(V.CLZ, I32, I32, magnitude))        # bits of max|d|
    k = vxm(V.SUB, I32, I32, length, SQUARE_BITS)                # signed: d * 2**-k has 15 bits
    reduced = vxm(V.RSHR, I32, I32, vxm(V.SHL, I32, I32, d, vxm(V.MAX, I32, I32,
                                                                  vxm(V.SUB, I32, I32, 0, k), 0)),
                  vxm(V.MAX, I32, I32, k, 0))                                 # |.| <= 2**15
    j = square_shift(width)
    v = reduce_sum(vxm(V.RSHR, I32, I32, vxm(V.MUL, I32, I32, reduced, reduced), j))
    s = vxm(V.AND, I32, I32, vxm(V.SUB, I32, I32, vxm(V.CLZ, I32, I32, v), 1), -2)  # even
    m = vxm(V.SHL, I32, I32, v, s)
    r = vxm(V.LUT, I32, I32, vxm(V.SHR, I32, I32, m, 23), table=tables.rsqrt_seed)  # Q29
    for _ in range(NEWTON_STEPS):    # r += r (1 - u r**2) / 2
        square = vxm(V.MULQ, I32, I32, r, r)                                      # Q27
        error = vxm(V.SUB, I32, I32, 1 << 27, vxm(V.MULQ, I32, I32, m, square))    # Q27
        r = vxm(V.ADD, I32, I32, r,
                vxm(V.MULQ, I32, I32, r, vxm(V.SHL, I32, I32, error, 3)))
    up = vxm(V.MAX, I32, I32, vxm(V.SUB, I32, I32, 30, length), 0)              # |d << up| < 2**31
    p = vxm(V.MULQ, I32, I32, vxm(V.SHL, I32, I32, d, up), r)                   # d r 2**(up-2)
    exponent = vxm(V.SUB, I32, I32,
                   vxm(V.ADD, I32, I32, NORM_GAIN_BITS + 2 - (j >> 1),
                       vxm(V.SHR, I32, I32, s, 1)),
                   vxm(V.ADD, I32, I32, up, k))
    left = vxm(V.MAX, I32, I32, exponent, 0)
    right = vxm(V.MAX, I32, I32, vxm(V.SUB, I32, I32, 0, exponent), 0)
    return vxm(V.RSHR, I32, I32, vxm(V.SHL, I32, I32, p, left), right)


def layer_norm(x, params, tables, dtype=I16):
    """LayerNorm over the last axis of int32 ``x`` (``|x| <= layer_norm_input_limit(H)``).

    Algorithm: the deviations are centred exactly, without dividing by ``H``:
    ``d = H * x - sum(x)`` (``MUL``, ``reduce_sum``, ``SUB``); LayerNorm does not depend on the
    scale of ``d``. ``q = _inverse_rms(d)``; ``y = REQ(q, gamma_i) + beta_i`` carries
    ``LN_GUARD_BITS`` extra fraction bits; the result is ``RSHR(y, LN_GUARD_BITS)`` saturated
    to ``dtype`` (``MOVS``). The epsilon of the float LayerNorm is omitted (a constant row
    gives ``beta``).
    """
    V = VectorOp
    x = np.asarray(x, dtype=np.int64)
    width = params.width
    if x.shape[-1] != width:
        raise ValueError(f"LayerNorm of width {width} got rows of {x.shape[-1]}")
    d = vxm(V.SUB, I32, I32, vxm(V.MUL, I32, I32, x, width), reduce_sum(x))
    q = _inverse_rms(d, tables)
    y = vxm(V.ADD, I32, I32, requantize(q, params.gamma, I32), params.beta)
    return vxm(V.MOVS, I32, dtype, vxm(V.RSHR, I32, I32, y, LN_GUARD_BITS))


def gelu(accumulator, params, tables):
    """GELU of an int32 accumulator, as a wide (15-bit) activation in ``[-2**14, 2**14)``.

    Algorithm: ``u = REQ(acc)`` is the real input in Q12. Inside ``[-4, 4)`` GELU is linearly
    interpolated between 256 knots 1/32 apart: with ``w = clamp(u) + 2**14``, knot
    ``w >> 7`` (``LUT`` of value and slope) and ``value + RSHR(slope * (w & 127), 7)``. At or
    above 4 the result is ``u`` itself, below -4 it is 0 (``LE``/``LT`` + ``SEL``). The Q12
    result is requantised (``REQ``) and clamped (``MIN``/``MAX``) to the 15-bit range, ready for
    :func:`linear_wide_accumulate`. Error before the final rounding: at most ``3e-4``
    (interpolation ``1e-4``, knot rounding ``1.2e-4``, tails ``1.3e-4``).
    """
    V = VectorOp
    low, high = -GELU_LIMIT << GELU_FRACTION_BITS, GELU_LIMIT << GELU_FRACTION_BITS
    u = requantize(accumulator, params.input, I32)
    w = vxm(V.ADD, I32, I32,
            vxm(V.MAX, I32, I32, vxm(V.MIN, I32, I32, u, high - 1), low), high)   # 0..2**15-1
    knot = vxm(V.SHR, I32, I32, w, GELU_KNOT_SHIFT)
    step = vxm(V.MUL, I32, I32, vxm(V.LUT, I32, I32, knot, table=tables.gelu_slope),
               vxm(V.AND, I32, I32, w, (1 << GELU_KNOT_SHIFT) - 1))
    y = vxm(V.ADD, I32, I32, vxm(V.LUT, I32, I32, knot, table=tables.gelu_value),
            vxm(V.RSHR, I32, I32, step, GELU_KNOT_SHIFT))
    y = vxm(V.SEL, I32, I32, u, y, vxm(V.LE, I32, I32, high, u))
    y = vxm(V.SEL, I32, I32, 0, y, vxm(V.LT, I32, I32, u, low))
    wide = 1 << (WIDE_BITS - 1)
    return vxm(V.MAX, I32, I32, vxm(V.MIN, I32, I32, requantize(y, params.output, I32),
                                     wide - 1), -wide)


#: ``2**-0.5`` as a Q31 multiplier with shift -15: ``q * 2**-15.5`` (see :func:`l2_normalize`).
HALF_SQRT_MULTIPLIER, HALF_SQRT_SHIFT = 1518500250, -15


def l2_normalize(x, tables):
    """``x / ||x||`` along the last axis of int32 ``x`` (``|x| < 2**30``), as int16 Q15.

    ``x / ||x|| = q * 2**-30.5`` with ``q`` from :func:`_inverse_rms` (``d = x``), so the Q15
    result is ``REQ(q, 2**-15.5)`` saturated to int16 (a unit component gives 32767).
    """
    q = _inverse_rms(np.asarray(x, dtype=np.int64), tables)
    return vxm(VectorOp.REQ, I32, I16, q, HALF_SQRT_MULTIPLIER, HALF_SQRT_SHIFT)

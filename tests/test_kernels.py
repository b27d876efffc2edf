"""Integer kernels (golden/transformer/kernels.py) against exact integer math, float math with
stated bounds, hand-computed vectors, and the operation lists of docs/numerics.md."""

import ast
import hashlib
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from golden.transformer import kernels as K
from golden.transformer import quantize as Q
from golden.transformer import reference as R
from isa.opcodes import VectorOp

ROOT = Path(__file__).resolve().parents[1]
TABLES = Q.build_tables()
INT32 = st.integers(K.INT32_MIN, K.INT32_MAX)
FAST = settings(max_examples=60, deadline=None)


def exact_requant(x, multiplier, shift):
    """``x * multiplier * 2**(shift - 31)`` in exact rational arithmetic (no rounding)."""
    return Fraction(int(x) * int(multiplier)) * Fraction(2) ** (int(shift) - 31)


def real_multiplier(requant):
    """The real factor a Requant represents (float, for float oracles)."""
    return requant.multiplier * 2.0 ** (requant.shift - 31)


# -- reductions -----------------------------------------------------------------------------

@FAST
@given(st.lists(INT32, min_size=1, max_size=70))
def test_reduce_sum_wraps_like_int32(values):
    expected = (sum(values) + 2 ** 31) % 2 ** 32 - 2 ** 31
    assert K.reduce_sum(np.array(values)).tolist() == [expected]


@FAST
@given(st.lists(INT32, min_size=1, max_size=70))
def test_reduce_max_is_the_maximum(values):
    assert K.reduce_max(np.array(values)).tolist() == [max(values)]


def test_reductions_along_any_axis_keep_it():
    x = np.arange(2 * 3 * 5).reshape(2, 3, 5)
    assert np.array_equal(K.reduce_sum(x, axis=1), x.sum(axis=1, keepdims=True))
    assert np.array_equal(K.reduce_max(x, axis=0), x.max(axis=0, keepdims=True))


# -- requantisation and linear layers ---------------------------------------------------------

def test_requantize_hand_vectors_pin_double_rounding():
    half = K.Requant(np.array(1 << 30), np.array(0))          # x * 0.5
    quarter = K.Requant(np.array(1 << 30), np.array(-1))      # x * 0.25
    # MULQ rounds ties towards +infinity (gemmlowp): 1.5 -> 2 but -1.5 -> -1, -0.5 -> 0.
    assert K.requantize(np.array([100, 3, -3, 1, -1]), half, K.I32).tolist() == [50, 2, -1, 1, 0]
    # 1 * 0.25: MULQ rounds 0.5 up to 1, RSHR rounds 0.5 up to 1 again (exact answer: 0);
    # -6 * 0.25: MULQ gives -3 exactly, RSHR rounds -1.5 away from zero.
    assert K.requantize(np.array([1, 2, 6, -6]), quarter, K.I32).tolist() == [1, 1, 2, -2]
    # Saturation to int8, including -128.
    assert K.requantize(np.array([300, -300, -256]), half, K.I8).tolist() == [127, -128, -128]


@FAST
@given(INT32, st.integers(1 << 30, (1 << 31) - 1), st.integers(-31, 0))
def test_requantize_within_one_lsb_of_exact(x, multiplier, shift):
    result = K.requantize(np.array(x), K.Requant(np.array(multiplier), np.array(shift)), K.I32)
    # MULQ rounds at 2**-31 of the value, RSHR rounds once more: |error| <= 1/2 + 1/2**(1-shift).
    assert abs(int(result) - exact_requant(x, multiplier, shift)) <= Fraction(1, 2) + \
        Fraction(1, 2 ** (1 - shift))


def test_linear_matches_exact_integer_product():
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (5, 40))
    layer = K.Linear(rng.integers(-127, 128, (40, 6)), rng.integers(-5000, 5000, 6))
    requant = Q.requant(rng.uniform(1e-4, 1e-2, 6))
    result = K.linear(x, layer, requant, K.I8)
    accumulator = [[sum(int(a) * int(w) for a, w in zip(row, column)) + int(b)
                    for column, b in zip(layer.weight.T, layer.bias)] for row in x]
    for r, acc_row in zip(result, accumulator):
        for value, acc, m, s in zip(r, acc_row, requant.multiplier, requant.shift):
            exact = exact_requant(acc, m, s)
            assert abs(value - max(-128, min(127, exact))) <= 1


@FAST
@given(st.lists(st.integers(-(1 << 14), (1 << 14) - 1), min_size=1, max_size=30))
def test_split_wide_reassembles_into_int8_halves(values):
    high, low = K.split_wide(np.array(values))
    assert high.min() >= -128 and high.max() <= 127 and low.min() >= 0 and low.max() <= 127
    assert (128 * high + low).tolist() == values


def test_split_wide_edges():
    high, low = K.split_wide(np.array([-(1 << 14), -1, 0, 127, 128, (1 << 14) - 1]))
    assert high.tolist() == [-128, -1, 0, 0, 1, 127]
    assert low.tolist() == [0, 127, 0, 127, 0, 127]


def test_linear_wide_equals_the_exact_product():
    rng = np.random.default_rng(3)
    x = rng.integers(-(1 << 14), 1 << 14, (4, 50))
    layer = K.Linear(rng.integers(-127, 128, (50, 7)), rng.integers(-10 ** 6, 10 ** 6, 7))
    high, low = K.linear_wide_accumulate(x, layer)
    exact = x.astype(object) @ layer.weight.astype(object) + layer.bias.astype(object)
    assert ((128 * high.astype(object) + low.astype(object)) == exact).all()


def test_residual_add_hand_vector_and_clamp():
    one = K.Requant(np.array(1 << 30), np.array(1))           # x * 1
    half = K.Requant(np.array([1 << 30, 1 << 30]), np.array([0, 0]))
    total = K.residual_add([(np.array([[10, -10]]), one), (np.array([[5, 5]]), half)], 1000)
    assert total.tolist() == [[13, -7]]                     # 10 + 2.5 -> 13, -10 + 2.5 -> -7
    clamped = K.residual_add([(np.array([[900, -900]]), one), (np.array([[300, -300]]), one)],
                             1000)
    assert clamped.tolist() == [[1000, -1000]]


# -- softmax --------------------------------------------------------------------------------

def softmax_params(real_per_unit):
    """Softmax parameters for scores whose unit is ``real_per_unit`` logits."""
    real = real_per_unit * math.log2(math.e) * 2 ** K.EXP_FRACTION_BITS
    floor = -min(math.ceil(33 * 2 ** K.EXP_FRACTION_BITS / real), K.INT32_MAX)
    return K.SoftmaxParams(Q.requant(real, -floor), np.array(floor))


def softmax_error(scores, params, tables=TABLES):
    """Largest |P - 127 softmax| over ``scores``, the float oracle using the represented scale."""
    logits = scores * real_multiplier(params.scale) / 2 ** K.EXP_FRACTION_BITS * math.log(2)
    return np.abs(K.softmax(scores, params, tables) - K.P_MAX * R.softmax(logits)).max()


#: Error bound of the softmax kernel, in units of 1/127 (measured worst: 0.500003).
SOFTMAX_BOUND = 0.501


def test_softmax_hand_vectors():
    params = softmax_params(0.01)
    assert K.softmax(np.array([[5]]), params, TABLES).tolist() == [[127]]
    # Two equal scores: 63.5 each, rounded half away from zero.
    assert K.softmax(np.array([[7, 7]]), params, TABLES).tolist() == [[64, 64]]
    # A difference of 1000 units = 10 logits: exp(-10) * 127 = 0.006 -> 0.
    assert K.softmax(np.array([[0, 1000]]), params, TABLES).tolist() == [[0, 127]]
    # ln 3 = 1.0986 logits apart: 127/4 = 31.75 -> 32 and 95.25 -> 95.
    assert K.softmax(np.array([[0, 110]]), params, TABLES).tolist() == [[32, 95]]


def test_softmax_within_half_lsb_of_float():
    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 17, 100, 512):
        for unit, spread in ((0.01, 300), (0.002, 3000), (0.5, 3)):
            scores = np.round(rng.normal(0, spread, (4, n))).astype(np.int64)
            assert softmax_error(scores, softmax_params(unit)) <= SOFTMAX_BOUND


def test_softmax_error_check_detects_a_wrong_table():
    rng = np.random.default_rng(12)
    scores = np.round(rng.normal(0, 300, (8, 40))).astype(np.int64)
    params = softmax_params(0.01)
    t = Q.build_tables()
    # A plausible bug: the reciprocal seed written in Q29 instead of Q30. Two Newton steps
    # cannot recover from a 50 % seed error.
    broken = K.Tables(t.exp2_coarse, t.exp2_fine, t.reciprocal_seed // 2, t.rsqrt_seed,
                      t.gelu_value, t.gelu_slope)
    assert softmax_error(scores, params) <= SOFTMAX_BOUND
    assert softmax_error(scores, params, broken) > SOFTMAX_BOUND


@FAST
@given(st.lists(st.integers(-10 ** 6, 10 ** 6), min_size=1, max_size=20),
       st.integers(-10 ** 6, 10 ** 6))
def test_softmax_is_shift_invariant(scores, offset):
    params = softmax_params(0.003)
    scores = np.array([scores])
    assert np.array_equal(K.softmax(scores, params, TABLES),
                          K.softmax(scores + offset, params, TABLES))


@FAST
@given(st.lists(INT32, min_size=1, max_size=20))
def test_softmax_extremes_stay_in_range_and_favour_the_maximum(scores):
    p = K.softmax(np.array([scores]), softmax_params(0.01), TABLES)[0]
    assert p.min() >= 0 and p.max() <= K.P_MAX
    assert p[int(np.argmax(scores))] == p.max() >= K.P_MAX // len(scores)


def test_softmax_masked_keys_get_zero_and_match_the_visible_row():
    rng = np.random.default_rng(5)
    scores = rng.integers(-3000, 3000, (6, 6))
    mask = np.tril(np.ones((6, 6), dtype=np.int64))
    params = softmax_params(0.01)
    masked = K.softmax(scores, params, TABLES, mask)
    for i in range(6):
        assert (masked[i, i + 1:] == 0).all()
        assert np.array_equal(masked[i, :i + 1],
                              K.softmax(scores[i:i + 1, :i + 1], params, TABLES)[0])


def test_softmax_rejects_rows_longer_than_max_keys():
    with pytest.raises(ValueError, match="at most 512 keys, not 513"):
        K.softmax(np.zeros((1, K.MAX_KEYS + 1), dtype=np.int64), softmax_params(0.01), TABLES)


# -- LayerNorm ------------------------------------------------------------------------------

def norm_params(gamma, beta, out_scale):
    return Q._layer_norm(R.FloatLayerNorm(np.asarray(gamma, float), np.asarray(beta, float),
                                          0.0), out_scale)


def layer_norm_oracle(x, gamma, beta, out_scale):
    """Float LayerNorm (no epsilon) in output units, and the bound on the kernel's error:
    1/2 LSB of the final rounding, 1/256 LSB from rounding beta and gamma * q at the guard
    bits, and 2**-13 of ``|gamma * normalised|`` (15-bit deviations in the variance)."""
    x = x.astype(np.float64)
    d = x - x.mean(axis=-1, keepdims=True)
    var = (d * d).mean(axis=-1, keepdims=True)
    normalised = np.divide(d, np.sqrt(var), out=np.zeros_like(d), where=var > 0)
    scaled = normalised * gamma / out_scale
    return scaled + beta / out_scale, 0.5 + 2.0 ** -8 + np.abs(scaled) * 2.0 ** -13


def test_layer_norm_hand_vector():
    # (x - 2.5) / sqrt(1.25) = -1.3416, -0.4472, 0.4472, 1.3416, scaled by 1000.
    params = norm_params(np.ones(4), np.zeros(4), 1e-3)
    x = np.array([[1000, 2000, 3000, 4000], [-7, -6, -5, -4]])
    assert K.layer_norm(x, params, TABLES).tolist() == [[-1342, -447, 447, 1342]] * 2


def test_layer_norm_constant_row_gives_beta():
    params = norm_params(np.ones(4), [0.1, -0.2, 0.3, 0.0], 1e-3)
    assert K.layer_norm(np.full((1, 4), 12345), params, TABLES).tolist() == [[100, -200, 300, 0]]


@pytest.mark.parametrize("dtype, bits", [(K.I16, 16), (K.I8, 8)])
def test_layer_norm_within_bound_of_float(dtype, bits):
    rng = np.random.default_rng(bits)
    width = 384
    limit = K.layer_norm_input_limit(width)
    for trial in range(8):
        x = rng.normal(0, 1, (6, width)) * np.exp(rng.normal(0, 1.5, (6, width)))
        x = np.round(x / np.abs(x).max() * limit * 0.9 ** trial).astype(np.int64)
        gamma, beta = rng.uniform(-1.5, 1.5, width), rng.normal(0, 0.3, width)
        scale = (np.abs(gamma) * math.sqrt(width - 1) + np.abs(beta)).max() / (2 ** (bits - 1) - 1)
        exact, bound = layer_norm_oracle(x, gamma, beta, scale)
        error = np.abs(K.layer_norm(x, norm_params(gamma, beta, scale), TABLES, dtype) - exact)
        assert (error <= bound).all()


@FAST
@given(st.lists(st.integers(-(1 << 21), 1 << 21), min_size=8, max_size=8))
def test_layer_norm_is_odd_without_beta(values):
    """Odd up to one LSB: RSHR rounds ties away from zero, but MULQ rounds them towards
    +infinity, so an exact tie may round differently for ``-x``."""
    params = norm_params(np.linspace(0.2, 1.2, 8), np.zeros(8), 1e-3)
    x = np.array([values])
    assert np.abs(K.layer_norm(-x, params, TABLES) + K.layer_norm(x, params, TABLES)).max() <= 1


def test_layer_norm_saturates_to_the_output_type():
    params = norm_params(np.ones(4), np.zeros(4), 1e-6)   # outputs of +-1.3e6 do not fit int16
    result = K.layer_norm(np.array([[1, 2, 3, 4]]), params, TABLES)
    assert result.tolist() == [[-32768, -32768, 32767, 32767]]


def test_layer_norm_rejects_wrong_width():
    with pytest.raises(ValueError, match="width 4 got rows of 5"):
        K.layer_norm(np.zeros((1, 5), dtype=np.int64), norm_params(np.ones(4), np.zeros(4), 1),
                     TABLES)


# -- GELU -----------------------------------------------------------------------------------

#: GELU in Q12 with identity requantisations: REQ(x, 2**30, 1) = x.
IDENTITY_GELU = K.GeluParams(K.Requant(np.array([1 << 30]), np.array([1])),
                             K.Requant(np.array(1 << 30), np.array(1)))
#: Error bound of the Q12 GELU, in Q12 LSB (3e-4; measured worst 1.10 LSB near x = -0.02).
GELU_BOUND = 1.25


def test_gelu_hand_vectors():
    u = np.array([[0], [4096], [-4096], [(4 << 12) - 1], [5 << 12], [-(4 << 12) - 1],
                  [-(10 << 12)]])
    # GELU(1) = 0.841345 -> 3446.1; GELU(-1) = -0.158655 -> -649.9; >= 4: x; < -4: 0.
    # GELU(4 - 2**-12) = 3.99963 -> 16382.5 (interpolated: 16382).
    assert K.gelu(u, IDENTITY_GELU, TABLES)[:, 0].tolist() == [0, 3446, -650, 16382, 16383, 0, 0]


def test_gelu_within_bound_of_float():
    u = np.arange(-6 << 12, 6 << 12)[:, None]
    exact = np.clip(R.gelu(u / 4096.0) * 4096, -(1 << 14), (1 << 14) - 1)
    assert np.abs(K.gelu(u, IDENTITY_GELU, TABLES) - exact).max() <= GELU_BOUND


def test_gelu_clamps_to_fifteen_bits():
    double = K.GeluParams(IDENTITY_GELU.input, K.Requant(np.array(1 << 30), np.array(2)))
    result = K.gelu(np.array([[3 << 12], [-(1 << 27)], [1 << 27]]), double, TABLES)
    assert result[:, 0].tolist() == [(1 << 14) - 1, 0, (1 << 14) - 1]


# -- L2 normalisation -----------------------------------------------------------------------

def test_l2_normalize_hand_vectors():
    x = np.array([[3 << 20, 4 << 20], [0, -5], [0, 0], [-3, 4]])
    # 0.6 * 32768 = 19660.8, 0.8 * 32768 = 26214.4; a unit component saturates to 32767.
    assert K.l2_normalize(x, TABLES).tolist() == [[19661, 26214], [0, -32768], [0, 0],
                                                  [-19661, 26214]]


def test_l2_normalize_within_bound_of_float():
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(0, 1, (10, 384)) * np.exp(rng.normal(0, 1, (10, 384))) * 1e5)
    x = x.astype(np.int64)
    exact = x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True) * 32768
    assert (np.abs(K.l2_normalize(x, TABLES) - exact) <= 0.5 + np.abs(exact) * 2.0 ** -13).all()


# -- tables ---------------------------------------------------------------------------------

def test_tables_hand_values():
    t = TABLES
    assert t.exp2_coarse[0] == 1 << 30 and t.exp2_fine[0] == 1 << 30
    assert t.exp2_coarse[128] == round(math.sqrt(2) * 2 ** 30)          # 2**0.5
    assert t.reciprocal_seed[128] == round(2 ** 39 / 257)               # 1 / (128.5 / 256)
    assert t.rsqrt_seed[64] == round(2 ** 29 / math.sqrt(64.5 / 256))
    assert t.gelu_value[128] == 0 and t.gelu_value[160] == 3446         # GELU(0), GELU(1)
    assert (np.diff(t.exp2_coarse) > 0).all() and (np.diff(t.rsqrt_seed[64:]) < 0).all()


def test_tables_are_pinned():
    """The tables are exact integer/Decimal results: any platform must give these bytes."""
    digest = hashlib.sha256()
    for name in ("exp2_coarse", "exp2_fine", "reciprocal_seed", "rsqrt_seed", "gelu_value",
                 "gelu_slope"):
        digest.update(getattr(TABLES, name).astype("<i4").tobytes())
    assert digest.hexdigest() == TABLES_SHA256


TABLES_SHA256 = "3fe47aca6a5340f212b279db09881a612cd0ff54ef4552511220f5210647283b"


# -- operations per kernel ------------------------------------------------------------------

def _documented_operations():
    """``{kernel: (vector ops, reductions, matmul)}`` from docs/numerics.md's table."""
    text = (ROOT / "docs" / "numerics.md").read_text(encoding="utf-8")
    table = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`(\w+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|", line)
        if match:
            def names(cell):
                return {n.strip() for n in cell.split(",") if n.strip() not in ("", "-")}
            table[match.group(1)] = (names(match.group(2)), names(match.group(3)),
                                     match.group(4).strip() == "yes")
    return table


def _run_kernels():
    """Each kernel on inputs that reach all of its operations."""
    rng = np.random.default_rng(0)
    layer = K.Linear(rng.integers(-127, 128, (8, 4)), rng.integers(-100, 100, 4))
    requant = Q.requant(np.full(4, 0.01))
    causal = np.tril(np.ones((3, 5), dtype=np.int64))
    norm = norm_params(np.ones(8), np.zeros(8), 1e-3)
    return {
        "requantize": lambda: K.requantize(rng.integers(-999, 999, (3, 4)), requant, K.I8),
        "linear": lambda: K.linear(rng.integers(-128, 128, (3, 8)), layer, requant),
        "linear_wide": lambda: K.linear_wide_accumulate(
            rng.integers(-(1 << 14), 1 << 14, (3, 8)), layer),
        "residual_add": lambda: K.residual_add(
            [(np.ones((2, 4), dtype=np.int64), requant)] * 2, 1000),
        "softmax": lambda: K.softmax(rng.integers(-999, 999, (3, 5)), softmax_params(0.01),
                                     TABLES, causal),
        "layer_norm": lambda: K.layer_norm(rng.integers(-999, 999, (3, 8)), norm, TABLES),
        "gelu": lambda: K.gelu(rng.integers(-99999, 99999, (3, 1)), IDENTITY_GELU, TABLES),
        "l2_normalize": lambda: K.l2_normalize(rng.integers(-999, 999, (3, 8)), TABLES),
        "reduce_sum": lambda: K.reduce_sum(rng.integers(-999, 999, (3, 8))),
        "reduce_max": lambda: K.reduce_max(rng.integers(-999, 999, (3, 8))),
    }


@pytest.mark.parametrize("kernel", sorted(_run_kernels()))
def test_kernel_uses_exactly_the_documented_operations(kernel):
    documented = _documented_operations()
    assert kernel in documented, f"docs/numerics.md lists no operations for {kernel}"
    with K.record_ops() as record:
        _run_kernels()[kernel]()
    vector, reductions, matmul = documented[kernel]
    assert {op.name for op in record.vector} <= {op.name for op in VectorOp}
    assert ({op.name for op in record.vector}, record.reductions, record.matmul) == \
        (vector, reductions, matmul)
    assert record.operand_kinds <= {"i", "u", "b"}


def test_documented_kernels_all_exist():
    assert set(_documented_operations()) == set(_run_kernels())


def test_operation_check_detects_an_unlisted_operation():
    """A kernel that sneaks in an operation the docs do not list fails the comparison."""
    vector, _, _ = _documented_operations()["requantize"]
    with K.record_ops() as record:
        _run_kernels()["requantize"]()
        K.vxm(VectorOp.CLZ, K.I32, K.I32, 5)
    assert {op.name for op in record.vector} != vector


def test_integer_path_has_no_float():
    """kernels.py and layers.py: no float literal, no true division, no float functions."""
    banned = {"float", "exp", "log", "log2", "sqrt", "power", "divide", "true_divide", "float64",
              "float32", "math"}
    for name in ("kernels.py", "layers.py"):
        tree = ast.parse((ROOT / "golden" / "transformer" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            location = f"golden/transformer/{name}:{getattr(node, 'lineno', '?')}"
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), location
            assert not isinstance(node, ast.Div), location
            assert not (isinstance(node, ast.Name) and node.id in banned), location
            assert not (isinstance(node, ast.Attribute) and node.attr in banned), location
            if isinstance(node, ast.Import):
                assert all(alias.name not in banned for alias in node.names), location

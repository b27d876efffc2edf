"""Integer layers (golden/transformer/layers.py) on small seeded layers: against the float
reference with stated bounds, KV-cache decoding against the whole causal sequence, exact
symmetries, a pinned output, and clear errors for bad input."""

import functools
import hashlib
import math

import numpy as np
import pytest

from golden.transformer import kernels as K
from golden.transformer import quantize as Q
from golden.transformer import reference as R
from golden.transformer.layers import (IntegerEncoder, KVCache, LayerParams, decoder_layer,
                                      decoder_step, encoder_layer)

TABLES = Q.build_tables()
WIDTH, HEADS, FFN = 32, 4, 64


# -- small models ---------------------------------------------------------------------------

def float_layer(rng, width=WIDTH, ffn=FFN):
    """A random float BERT layer with realistic weight magnitudes."""
    def linear(n_in, n_out):
        return R.FloatLinear(rng.normal(0, 1 / math.sqrt(n_in), (n_in, n_out)),
                             rng.normal(0, 0.1, n_out))

    def norm():
        return R.FloatLayerNorm(rng.uniform(0.5, 1.5, width), rng.normal(0, 0.1, width), 1e-12)

    return R.FloatEncoderLayer(linear(width, width), linear(width, width), linear(width, width),
                               linear(width, width), norm(), linear(width, ffn),
                               linear(ffn, width), norm())


def float_inputs(rng, count, tokens, width=WIDTH):
    """Residual-stream-like inputs: layer-normalised random rows."""
    norm = R.FloatLayerNorm(np.ones(width), np.zeros(width))
    return [R.layer_norm(rng.normal(0, 1, (tokens, width)), norm) for _ in range(count)]


@functools.lru_cache
def quantised_layer(seed, causal=False):
    """``(float layer, integer LayerParams, input scale, output scale)``."""
    rng = np.random.default_rng(seed)
    layer = float_layer(rng)
    seen = {}
    for x in float_inputs(rng, 30, 12):
        R.encoder_layer(x, layer, HEADS, causal,
                        lambda name, value: seen.setdefault(name, []).append(value))
    acts = {name: np.concatenate(values) for name, values in seen.items()}
    in_scale = 2 * math.sqrt(WIDTH) / 32767
    params, out_scale, _ = Q.quantize_layer(layer, acts, in_scale, HEADS)
    return layer, params, in_scale, out_scale


def integer_input(seed, tokens, in_scale):
    x = float_inputs(np.random.default_rng(seed), 1, tokens)[0]
    return np.round(x / in_scale).astype(np.int64)


def relative_error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# -- against the float layer ----------------------------------------------------------------

#: Relative (Frobenius) error of a quantised small layer's output (measured 0.010-0.015).
LAYER_BOUND = 0.03


@pytest.mark.parametrize("seed", [1, 2])
def test_encoder_layer_close_to_float(seed):
    layer, params, in_scale, out_scale = quantised_layer(seed)
    x = integer_input(100 + seed, 9, in_scale)
    exact = R.encoder_layer(x * in_scale, layer, HEADS)
    assert relative_error(encoder_layer(x, params, TABLES) * out_scale, exact) < LAYER_BOUND


def test_decoder_layer_close_to_float():
    layer, params, in_scale, out_scale = quantised_layer(3, causal=True)
    x = integer_input(103, 9, in_scale)
    exact = R.encoder_layer(x * in_scale, layer, HEADS, causal=True)
    assert relative_error(decoder_layer(x, params, TABLES) * out_scale, exact) < LAYER_BOUND


def test_layer_error_check_detects_a_wrong_layer():
    """The float comparison fails for the right integers under the wrong float model."""
    layer, params, in_scale, out_scale = quantised_layer(1)
    x = integer_input(101, 9, in_scale)
    exact = R.encoder_layer(x * in_scale, layer, HEADS, causal=True)     # causal != encoder
    assert relative_error(encoder_layer(x, params, TABLES) * out_scale, exact) > LAYER_BOUND


# -- decoder with a KV cache ----------------------------------------------------------------

def integer_only_layer(seed, width=WIDTH, heads=HEADS, ffn=FFN):
    """A layer whose every constant is drawn as an integer (no float anywhere), with shifts
    that keep the activations in range: its output is the same on every platform."""
    rng = np.random.default_rng(seed)

    def requant(shift, channels=None):
        shape = () if channels is None else (channels,)
        return K.Requant(rng.integers(1 << 30, 1 << 31, shape), np.full(shape, shift))

    def linear(n_in, n_out):
        return K.Linear(rng.integers(-127, 128, (n_in, n_out)), rng.integers(-999, 1000, n_out))

    def norm():
        return K.LayerNormParams(requant(-9, width), rng.integers(-1 << 18, 1 << 18, width))

    output_scale = requant(-3, width)
    return LayerParams(
        heads=heads, input_quant=requant(-8, width),
        query=linear(width, width), query_out=requant(-9, width),
        key=linear(width, width), key_out=requant(-9, width),
        value=linear(width, width), value_out=requant(-9, width),
        softmax=K.SoftmaxParams(K.Requant(np.array(1 << 30), np.array(9)),      # t = 256 d
                                np.array(-(33 << 8))),
        context_out=requant(-6, width),
        attention_output=linear(width, width), attention_output_scale=requant(3, width),
        attention_residual_scale=requant(3), attention_norm=norm(),
        intermediate_quant=requant(-8, width), intermediate=linear(width, ffn),
        gelu=K.GeluParams(requant(0, ffn), requant(0)),
        output=linear(ffn, width), output_scale=output_scale,
        output_high_scale=K.Requant(output_scale.multiplier, output_scale.shift + 7),
        output_residual_scale=requant(3),
        output_norm=norm())


def integer_sequence(seed, tokens, width=WIDTH):
    return np.random.default_rng(seed).integers(-(1 << 13), 1 << 13, (tokens, width))


@pytest.mark.parametrize("tokens", [1, 2, 7, 16])
def test_kv_cache_steps_equal_the_whole_causal_sequence(tokens):
    for params in (integer_only_layer(tokens), quantised_layer(tokens, causal=True)[1]):
        x = integer_sequence(50 + tokens, tokens)
        cache = KVCache(16, WIDTH)
        steps = np.concatenate([decoder_step(x[i:i + 1], params, TABLES, cache)
                                for i in range(tokens)])
        assert np.array_equal(steps, decoder_layer(x, params, TABLES))
        assert cache.length == tokens


def test_decoder_rows_ignore_later_tokens():
    params = integer_only_layer(4)
    x = integer_sequence(4, 10)
    whole = decoder_layer(x, params, TABLES)
    assert np.array_equal(decoder_layer(x[:6], params, TABLES), whole[:6])
    changed = x.copy()
    changed[8] = -changed[8]
    assert np.array_equal(decoder_layer(changed, params, TABLES)[:8], whole[:8])
    assert not np.array_equal(decoder_layer(changed, params, TABLES)[8], whole[8])


def test_kv_cache_refuses_tokens_beyond_its_capacity():
    params = integer_only_layer(5)
    cache = KVCache(2, WIDTH)
    x = integer_sequence(5, 3)
    decoder_step(x[:1], params, TABLES, cache)
    decoder_step(x[1:2], params, TABLES, cache)
    with pytest.raises(ValueError, match="token 3 is beyond the context length of 2"):
        decoder_step(x[2:3], params, TABLES, cache)


def test_decoder_step_takes_one_token():
    with pytest.raises(ValueError, match="one token, not 2"):
        decoder_step(integer_sequence(1, 2), integer_only_layer(1), TABLES, KVCache(4, WIDTH))


# -- exact properties -----------------------------------------------------------------------

def test_encoder_layer_is_permutation_equivariant():
    """Without positions, permuting the tokens permutes the output rows, bit for bit."""
    params = integer_only_layer(6)
    x = integer_sequence(6, 9)
    order = np.random.default_rng(6).permutation(9)
    assert np.array_equal(encoder_layer(x[order], params, TABLES),
                          encoder_layer(x, params, TABLES)[order])


def test_layer_output_is_pinned_and_deterministic():
    """Integer-only constants and inputs: these bytes must come out on every platform."""
    params = integer_only_layer(7)
    x = integer_sequence(7, 8)
    out = encoder_layer(x, params, TABLES)
    assert np.array_equal(out, encoder_layer(x, params, TABLES))
    assert out.std() > 1000 and np.abs(out).max() < 32767           # not degenerate
    digest = hashlib.sha256(out.astype("<i2").tobytes()).hexdigest()
    assert digest == PINNED_LAYER_SHA256


PINNED_LAYER_SHA256 = "60d60a3accf1fa6227894d8fde2dce0050b7fef12ed62e1433c5fc9e188df5bf"


def test_layer_uses_only_chip_operations_on_integers():
    params = integer_only_layer(8)
    with K.record_ops() as record:
        decoder_layer(integer_sequence(8, 5), params, TABLES)
    assert record.matmul and record.reductions == {"SUM", "MAX"}
    assert record.operand_kinds <= {"i", "u", "b"}


# -- bad input ------------------------------------------------------------------------------

def test_layer_rejects_wrong_shapes_and_types():
    params = integer_only_layer(9)
    with pytest.raises(ValueError, match=r"Encoder layer input must be an integer array "
                                         r"\[tokens, 32\], not int64 of shape \(4, 31\)"):
        encoder_layer(np.zeros((4, 31), dtype=np.int64), params, TABLES)
    with pytest.raises(ValueError, match="not float64"):
        encoder_layer(np.zeros((4, 32)), params, TABLES)
    with pytest.raises(ValueError, match="int16 values, found -40000..7"):
        encoder_layer(np.concatenate([np.full((1, 32), -40000), np.full((1, 32), 7)]), params,
                      TABLES)


def test_layer_params_name_the_inconsistent_field():
    params = integer_only_layer(10)
    fields = {name: getattr(params, name) for name in LayerParams.__dataclass_fields__}
    fields["key"] = K.Linear(np.zeros((32, 16), dtype=np.int64), np.zeros(16, dtype=np.int64))
    with pytest.raises(ValueError, match=r"Layer key weight has shape \(32, 16\), expected "
                                         r"\(32, 32\)"):
        LayerParams(**fields)
    fields = {name: getattr(params, name) for name in LayerParams.__dataclass_fields__}
    fields["heads"] = 5
    with pytest.raises(ValueError, match="positive divisor of the width 32, not 5"):
        LayerParams(**fields)


# -- a whole small encoder ------------------------------------------------------------------

def small_float_model(seed, vocab=50, positions=24, layers=2):
    rng = np.random.default_rng(seed)
    return R.FloatBert(
        word_embeddings=rng.normal(0, 0.5, (vocab, WIDTH)),
        position_embeddings=rng.normal(0, 0.2, (positions, WIDTH)),
        token_type_embeddings=rng.normal(0, 0.1, (2, WIDTH)),
        embedding_norm=R.FloatLayerNorm(rng.uniform(0.5, 1.5, WIDTH), rng.normal(0, 0.1, WIDTH)),
        layers=tuple(float_layer(rng) for _ in range(layers)), heads=HEADS)


def small_token_lists(seed, count, vocab=50, longest=16):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, int(rng.integers(2, longest + 1))) for _ in range(count)]


@functools.lru_cache
def small_integer_model(seed=0, context_length=16):
    model = small_float_model(seed)
    encoder, _ = Q.quantize_model(model, Q.calibrate(model, small_token_lists(seed, 40)),
                                  context_length)
    return model, encoder


def test_small_encoder_embeddings_close_to_float():
    model, encoder = small_integer_model()
    for tokens in small_token_lists(99, 6):
        integer = encoder.sentence_embedding(tokens) / 32768
        exact = R.sentence_embedding(model, tokens)
        assert integer @ exact / np.linalg.norm(integer) > 0.995


def test_encoder_rejects_bad_tokens():
    _, encoder = small_integer_model()
    with pytest.raises(ValueError, match="17 tokens exceed the context length of 16"):
        encoder.sentence_embedding(np.zeros(17, dtype=np.int64))
    with pytest.raises(ValueError, match="Token ids must lie in 0..49, found 0..50"):
        encoder.encode(np.array([0, 50]))
    with pytest.raises(ValueError, match="non-empty 1-D integer array"):
        encoder.encode(np.array([], dtype=np.int64))


def test_encoder_rejects_a_context_longer_than_its_position_table():
    _, encoder = small_integer_model()
    with pytest.raises(ValueError, match="Context length 25 must be between 1 and the 24"):
        IntegerEncoder(encoder.word_embeddings, encoder.position_embeddings,
                       encoder.embedding_norm, encoder.layers, encoder.tables, 25)

"""Integer layers (golden/transformer/layers.py) on small seeded layers: against the float
reference with stated bounds, KV-cache decoding against the whole causal sequence, exact
symmetries, a pinned output, and clear errors for bad input."""

import hashlib

import numpy as np
import pytest

from golden.transformer import kernels as K
from golden.transformer import quantize as Q
from golden.transformer import reference as R
from golden.transformer.layers import (IntegerEncoder, KVCache, LayerParams, decoder_layer,
                                      decoder_step, encoder_layer)
from verification.model_cases import (HEADS, WIDTH, integer_input, integer_only_layer,
                                      integer_sequence, quantised_layer, small_integer_model,
                                      small_token_lists)

TABLES = Q.build_tables()


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

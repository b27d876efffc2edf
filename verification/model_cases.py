"""Small transformer models for tests, reproducible from seeds: random float layers and
encoders quantised by :mod:`golden.transformer.quantize`, layers whose every constant is an
integer drawn from a seed (no float anywhere, so their outputs are the same on every
platform), and residual-stream inputs.

The default geometry (:data:`WIDTH`, :data:`HEADS`, :data:`FFN`) is the golden model's test
layer; the chip's layer compiler needs heads of whole vectors, so its tests pass wider ones.
"""

import functools
import math

import numpy as np

from golden.transformer import kernels as K
from golden.transformer import quantize as Q
from golden.transformer import reference as R
from golden.transformer.layers import LayerParams

__all__ = ["WIDTH", "HEADS", "FFN", "float_layer", "float_inputs", "quantised_layer",
           "integer_input", "integer_only_layer", "integer_sequence", "small_float_model",
           "small_token_lists", "small_integer_model"]

WIDTH, HEADS, FFN = 32, 4, 64


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
def quantised_layer(seed, causal=False, width=WIDTH, heads=HEADS, ffn=FFN):
    """``(float layer, integer LayerParams, input scale, output scale)`` of a random layer,
    calibrated on random inputs."""
    rng = np.random.default_rng(seed)
    layer = float_layer(rng, width, ffn)
    seen = {}
    for x in float_inputs(rng, 30, 12, width):
        R.encoder_layer(x, layer, heads, causal,
                        lambda name, value: seen.setdefault(name, []).append(value))
    acts = {name: np.concatenate(values) for name, values in seen.items()}
    in_scale = 2 * math.sqrt(width) / 32767
    params, out_scale, _ = Q.quantize_layer(layer, acts, in_scale, heads)
    return layer, params, in_scale, out_scale


def integer_input(seed, tokens, in_scale, width=WIDTH):
    """int16 residual-stream input of ``tokens`` rows at ``in_scale``."""
    x = float_inputs(np.random.default_rng(seed), 1, tokens, width)[0]
    return np.round(x / in_scale).astype(np.int64)


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
    """A random int16 residual stream of ``tokens`` rows (14-bit values)."""
    return np.random.default_rng(seed).integers(-(1 << 13), 1 << 13, (tokens, width))


def small_float_model(seed, vocab=50, positions=24, layers=2, width=WIDTH, heads=HEADS,
                      ffn=FFN):
    """A random float encoder of ``layers`` layers."""
    rng = np.random.default_rng(seed)
    return R.FloatBert(
        word_embeddings=rng.normal(0, 0.5, (vocab, width)),
        position_embeddings=rng.normal(0, 0.2, (positions, width)),
        token_type_embeddings=rng.normal(0, 0.1, (2, width)),
        embedding_norm=R.FloatLayerNorm(rng.uniform(0.5, 1.5, width), rng.normal(0, 0.1, width)),
        layers=tuple(float_layer(rng, width, ffn) for _ in range(layers)), heads=heads)


def small_token_lists(seed, count, vocab=50, longest=16):
    """``count`` random token lists of 2 to ``longest`` tokens."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, int(rng.integers(2, longest + 1))) for _ in range(count)]


@functools.lru_cache
def small_integer_model(seed=0, context_length=16, width=WIDTH, heads=HEADS, ffn=FFN):
    """``(float model, IntegerEncoder)`` of :func:`small_float_model`, calibrated on random
    token lists."""
    model = small_float_model(seed, width=width, heads=heads, ffn=ffn)
    encoder, _ = Q.quantize_model(model, Q.calibrate(model, small_token_lists(seed, 40)),
                                  context_length)
    return model, encoder

"""Integer transformer layers built from :mod:`golden.transformer.kernels`: the arithmetic the
chip runs.

A layer maps the int16 residual stream ``[tokens, H]`` (one scale per tensor) to the next
int16 residual stream. It is a post-LayerNorm BERT block::

    x8  = REQ(x)                                    int16 -> int8 (per-channel scale)
    q, k, v = REQ(x8 @ W + b)                       int8, one scale each
    per head: P = softmax(q k^T) (int8 0..127), c = REQ(P v) (int8, per channel)
    a   = LayerNorm(clamp(REQ(x) + REQ(c @ Wo + bo)))          int32 sum -> int16
    g   = GELU(REQ(a) @ W1 + b1)                    15-bit (one scale)
    out = LayerNorm(clamp(REQ(a) + REQ(g_hi @ W2) + REQ(g_lo @ W2 + b2)))   int16

``g = 128 g_hi + g_lo`` feeds the MXM as two int8 passes: with an int8 GELU output the
worst sentence embedding of the evaluation set fell to cosine 0.90 (docs/numerics.md).

The decoder layer is the same block with causal attention; :func:`decoder_step` runs it one
token at a time against a :class:`KVCache` of int8 keys and values, and gives exactly the
integers :func:`decoder_layer` gives for the whole sequence at once.

:class:`IntegerEncoder` adds the embedding lookup (int16 tables; the lookup is a MEM gather),
the layers, mean pooling (a sum: the division by the token count cancels in the
normalisation) and L2 normalisation, giving an int16 Q15 sentence embedding.
"""

from dataclasses import dataclass, field

import numpy as np

from isa.opcodes import VectorOp
from .kernels import (I8, I16, I32, GeluParams, LayerNormParams, Linear, Requant, SoftmaxParams,
                      Tables, gelu, l2_normalize, layer_norm, layer_norm_input_limit, linear,
                      linear_accumulate, linear_wide_accumulate, mxm, reduce_sum, requantize,
                      residual_add, softmax, vxm)

__all__ = ["LayerParams", "IntegerEncoder", "KVCache", "encoder_layer", "decoder_layer",
           "decoder_step"]


@dataclass(frozen=True)
class LayerParams:
    """The integer constants of one transformer layer of width ``H``.

    Members
    -------
    heads : int
        Attention heads (``H`` must be a multiple).
    input_quant : Requant
        int16 residual to the int8 input of the Q/K/V projections (per channel).
    query, key, value : Linear
        ``[H, H]`` projections; ``query_out``, ``key_out``, ``value_out`` (per channel)
        requantise their accumulators to int8.
    softmax : SoftmaxParams
        Scores to the base-2 exponent.
    context_out : Requant
        ``P @ v`` accumulator to the int8 context (per channel).
    attention_output : Linear
        ``[H, H]``; ``attention_output_scale`` (per channel) brings its accumulator and
        ``attention_residual_scale`` the int16 input to the int32 sum.
    attention_norm : LayerNormParams
        First LayerNorm, to int16.
    intermediate_quant : Requant
        int16 to the int8 input of the feed-forward layer (per channel).
    intermediate : Linear
        ``[H, F]``; ``gelu`` turns its accumulator into a 15-bit activation.
    output : Linear
        ``[F, H]``, fed the 15-bit activation as two int8 passes (high and low halves);
        ``output_high_scale`` and ``output_scale`` (per channel) bring the two accumulators,
        ``output_residual_scale`` the int16 input of the feed-forward layer, to the int32 sum.
    output_norm : LayerNormParams
        Second LayerNorm, to int16 (the layer's output).
    """
    heads: int
    input_quant: Requant
    query: Linear
    query_out: Requant
    key: Linear
    key_out: Requant
    value: Linear
    value_out: Requant
    softmax: SoftmaxParams
    context_out: Requant
    attention_output: Linear
    attention_output_scale: Requant
    attention_residual_scale: Requant
    attention_norm: LayerNormParams
    intermediate_quant: Requant
    intermediate: Linear
    gelu: GeluParams
    output: Linear
    output_scale: Requant
    output_high_scale: Requant
    output_residual_scale: Requant
    output_norm: LayerNormParams

    def __post_init__(self):
        h = self.query.shape[0]
        f = self.intermediate.shape[1]
        if not isinstance(self.heads, int) or self.heads < 1 or h % self.heads:
            raise ValueError(f"Head count must be a positive divisor of the width {h}, "
                             f"not {self.heads!r}")
        expected = {
            "query": (h, h), "key": (h, h), "value": (h, h), "attention_output": (h, h),
            "intermediate": (h, f), "output": (f, h),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"Layer {name} weight has shape {getattr(self, name).shape}, "
                                 f"expected {shape}")
        per_channel = {
            "input_quant": h, "query_out": h, "key_out": h, "value_out": h, "context_out": h,
            "attention_output_scale": h, "intermediate_quant": h, "output_scale": h,
            "output_high_scale": h,
        }
        for name, width in per_channel.items():
            shape = getattr(self, name).multiplier.shape
            if shape != (width,):
                raise ValueError(f"Layer {name} needs {width} multipliers, found shape {shape}")
        for name in ("attention_residual_scale", "output_residual_scale"):
            if getattr(self, name).multiplier.shape != ():
                raise ValueError(f"Layer {name} must be one multiplier (the residual stream "
                                 f"has one scale)")
        if self.gelu.input.multiplier.shape != (f,) or self.gelu.output.multiplier.shape != ():
            raise ValueError(f"Layer GELU needs {f} input multipliers and one output "
                             f"multiplier")
        for name in ("attention_norm", "output_norm"):
            if getattr(self, name).width != h:
                raise ValueError(f"Layer {name} has width {getattr(self, name).width}, "
                                 f"expected {h}")

    @property
    def width(self):
        """``H``, the residual stream's width."""
        return self.query.shape[0]


def _check_stream(x, width, what):
    x = np.asarray(x)
    if x.dtype.kind not in "iu" or x.ndim != 2 or x.shape[1] != width or not len(x):
        raise ValueError(f"{what} must be an integer array [tokens, {width}], not "
                         f"{x.dtype} of shape {x.shape}")
    x = x.astype(np.int64)
    if x.min() < -(1 << 15) or x.max() >= 1 << 15:
        raise ValueError(f"{what} must hold int16 values, found {x.min()}..{x.max()}")
    return x


def _project(x, p):
    x8 = requantize(x, p.input_quant, I8)
    return (linear(x8, p.query, p.query_out), linear(x8, p.key, p.key_out),
            linear(x8, p.value, p.value_out))


def _attend(q, k, v, p, tables, mask=None):
    """Multi-head attention of int8 ``q [n, H]`` over int8 ``k, v [m, H]``; int8 context."""
    d = p.width // p.heads
    context = np.empty((q.shape[0], p.width), dtype=np.int64)
    for head in range(p.heads):
        lanes = slice(head * d, (head + 1) * d)
        probabilities = softmax(mxm(q[:, lanes], k[:, lanes].T), p.softmax, tables, mask)
        context[:, lanes] = mxm(probabilities, v[:, lanes])
    return requantize(context, p.context_out, I8)


def _finish(x, context, p, tables):
    """Output projection, add & norm, feed-forward, add & norm."""
    limit = layer_norm_input_limit(p.width)
    total = residual_add([(x, p.attention_residual_scale),
                          (linear_accumulate(context, p.attention_output),
                           p.attention_output_scale)], limit)
    a = layer_norm(total, p.attention_norm, tables, I16)
    g = gelu(linear_accumulate(requantize(a, p.intermediate_quant, I8), p.intermediate),
             p.gelu, tables)
    high, low = linear_wide_accumulate(g, p.output)
    total = residual_add([(a, p.output_residual_scale), (high, p.output_high_scale),
                          (low, p.output_scale)], limit)
    return layer_norm(total, p.output_norm, tables, I16)


def encoder_layer(x, params, tables):
    """One encoder layer (bidirectional attention) on int16 ``x [tokens, H]``; int16 out."""
    x = _check_stream(x, params.width, "Encoder layer input")
    return _finish(x, _attend(*_project(x, params), params, tables), params, tables)


def _causal_mask(n):
    """1 where key ``j <= `` query ``i`` (a constant the compiler precomputes)."""
    return np.tril(np.ones((n, n), dtype=np.int64))


def decoder_layer(x, params, tables):
    """One decoder layer (causal attention) on a whole int16 sequence ``x [tokens, H]``."""
    x = _check_stream(x, params.width, "Decoder layer input")
    q, k, v = _project(x, params)
    return _finish(x, _attend(q, k, v, params, tables, _causal_mask(len(x))), params, tables)


class KVCache:
    """The int8 keys and values of the tokens a decoder layer has seen (batch 1).

    Parameters
    ----------
    capacity : int
        Most tokens the cache holds (the context length).
    width : int
        ``H``.
    """

    def __init__(self, capacity, width):
        for name, value in (("capacity", capacity), ("width", width)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"KV cache {name} must be a positive integer, not {value!r}")
        self.capacity = capacity
        self._keys = np.zeros((capacity, width), dtype=np.int64)
        self._values = np.zeros((capacity, width), dtype=np.int64)
        self.length = 0

    @property
    def keys(self):
        """int8 keys ``[length, H]``."""
        return self._keys[:self.length]

    @property
    def values(self):
        """int8 values ``[length, H]``."""
        return self._values[:self.length]

    def append(self, keys, values):
        """Store one token's int8 ``keys`` and ``values`` (``[1, H]`` each).

        Raises
        ------
        ValueError
            If the cache is full or the shapes are wrong.
        """
        width = self._keys.shape[1]
        for name, value in (("keys", keys), ("values", values)):
            if np.shape(value) != (1, width):
                raise ValueError(f"KV cache {name} must have shape (1, {width}), not "
                                 f"{np.shape(value)}")
        if self.length == self.capacity:
            raise ValueError(f"KV cache is full: token {self.length + 1} is beyond the "
                             f"context length of {self.capacity}")
        self._keys[self.length] = keys[0]
        self._values[self.length] = values[0]
        self.length += 1


def decoder_step(x, params, tables, cache):
    """One token ``x [1, H]`` (int16) through a decoder layer, appending to ``cache``.

    Equals the corresponding row of :func:`decoder_layer` on the whole sequence, bit for bit.
    """
    x = _check_stream(x, params.width, "Decoder step input")
    if len(x) != 1:
        raise ValueError(f"Decoder step takes one token, not {len(x)}")
    q, k, v = _project(x, params)
    cache.append(k, v)
    return _finish(x, _attend(q, cache.keys, cache.values, params, tables), params, tables)


@dataclass(frozen=True)
class IntegerEncoder:
    """A whole integer sentence encoder.

    Members
    -------
    word_embeddings : int16 ``[vocab, H]``
    position_embeddings : int16 ``[positions, H]``, position plus token-type-0 embedding, at
        the word embeddings' scale.
    embedding_norm : LayerNormParams
    layers : tuple of LayerParams
    tables : Tables
    context_length : int
        Most tokens a sentence may have.
    """
    word_embeddings: np.ndarray = field(metadata={"dtype": "int16"})
    position_embeddings: np.ndarray = field(metadata={"dtype": "int16"})
    embedding_norm: LayerNormParams
    layers: tuple = field(metadata={"items": LayerParams})
    tables: Tables = None
    context_length: int = 0

    def __post_init__(self):
        h = self.embedding_norm.width
        if not isinstance(self.tables, Tables):
            raise ValueError("Encoder needs its lookup tables")
        for name in ("word_embeddings", "position_embeddings"):
            table = np.asarray(getattr(self, name))
            if table.ndim != 2 or table.shape[1] != h:
                raise ValueError(f"Encoder {name} must be [rows, {h}], not {table.shape}")
        if not 1 <= self.context_length <= self.position_embeddings.shape[0]:
            raise ValueError(f"Context length {self.context_length} must be between 1 and the "
                             f"{self.position_embeddings.shape[0]} position rows")
        for i, layer in enumerate(self.layers):
            if layer.width != h:
                raise ValueError(f"Layer {i} has width {layer.width}, expected {h}")

    def check_tokens(self, tokens):
        """``tokens`` as an int64 array, or a ValueError naming what is wrong."""
        tokens = np.asarray(tokens)
        if tokens.dtype.kind not in "iu" or tokens.ndim != 1 or not len(tokens):
            raise ValueError(f"Tokens must be a non-empty 1-D integer array, not {tokens.dtype} "
                             f"of shape {tokens.shape}")
        if len(tokens) > self.context_length:
            raise ValueError(f"{len(tokens)} tokens exceed the context length of "
                             f"{self.context_length}")
        vocab = self.word_embeddings.shape[0]
        if tokens.min() < 0 or tokens.max() >= vocab:
            raise ValueError(f"Token ids must lie in 0..{vocab - 1}, found "
                             f"{tokens.min()}..{tokens.max()}")
        return tokens.astype(np.int64)

    def embed(self, tokens):
        """The int16 residual stream entering layer 0: LayerNorm(word + position)."""
        tokens = self.check_tokens(tokens)
        total = vxm(VectorOp.ADD, I16, I32, self.word_embeddings[tokens],
                    self.position_embeddings[:len(tokens)])
        return layer_norm(total, self.embedding_norm, self.tables, I16)

    def encode(self, tokens):
        """Final int16 hidden states ``[tokens, H]``."""
        x = self.embed(tokens)
        for layer in self.layers:
            x = encoder_layer(x, layer, self.tables)
        return x

    def sentence_embedding(self, tokens):
        """The int16 Q15 unit-length sentence embedding ``[H]`` (sum pooling, then L2)."""
        pooled = reduce_sum(self.encode(tokens), axis=0)[0]
        return l2_normalize(pooled, self.tables)

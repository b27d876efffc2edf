"""Float reference of the BERT sentence encoder, in NumPy float64.

This is the model the integer pipeline is measured against: the same computation as Hugging Face
``BertModel`` followed by sentence-transformers' mean pooling and L2 normalisation, written out
so every step is visible. Linear weights are stored ``[in, out]`` (``y = x @ weight + bias``),
the transpose of PyTorch's layout. GELU is the exact erf form BERT uses.

Calibration observes the activations through the ``observe`` callback of
:func:`encoder_layer` and :func:`encode`: it is called as ``observe(name, array)`` for every
named tensor listed in :data:`ACTIVATIONS`.
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ACTIVATIONS", "FloatLinear", "FloatLayerNorm", "FloatEncoderLayer", "FloatBert",
    "from_safetensors", "layer_norm", "gelu", "softmax", "attention", "encoder_layer",
    "embed", "encode", "mean_pool", "l2_normalize", "sentence_embedding",
]

#: Activations reported to ``observe``, per layer, in the order they are computed.
ACTIVATIONS = ("input", "query", "key", "value", "context", "attention_sum",
               "attention_output", "intermediate_input", "intermediate", "output_sum",
               "output")


@dataclass(frozen=True)
class FloatLinear:
    """``y = x @ weight + bias`` with ``weight`` ``[in, out]`` and ``bias`` ``[out]``."""
    weight: np.ndarray
    bias: np.ndarray


@dataclass(frozen=True)
class FloatLayerNorm:
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axis."""
    gamma: np.ndarray
    beta: np.ndarray
    eps: float = 1e-12


@dataclass(frozen=True)
class FloatEncoderLayer:
    """One post-LayerNorm BERT layer: attention, add & norm, feed-forward, add & norm."""
    query: FloatLinear
    key: FloatLinear
    value: FloatLinear
    attention_output: FloatLinear
    attention_norm: FloatLayerNorm
    intermediate: FloatLinear
    output: FloatLinear
    output_norm: FloatLayerNorm


@dataclass(frozen=True)
class FloatBert:
    """A BERT encoder: embeddings, their LayerNorm, and ``layers``.

    ``token_type_embeddings`` row 0 is added to every token (single sentences only).
    """
    word_embeddings: np.ndarray
    position_embeddings: np.ndarray
    token_type_embeddings: np.ndarray
    embedding_norm: FloatLayerNorm
    layers: tuple
    heads: int


def from_safetensors(weights, config):
    """A :class:`FloatBert` (float64) from :func:`golden.transformer.minilm.load_weights`
    tensors."""
    def f64(name):
        return np.asarray(weights[name], dtype=np.float64)

    def linear(prefix):
        return FloatLinear(f64(prefix + ".weight").T.copy(), f64(prefix + ".bias"))

    def norm(prefix):
        return FloatLayerNorm(f64(prefix + ".weight"), f64(prefix + ".bias"),
                              config.layer_norm_eps)

    layers = []
    for i in range(config.layers):
        p = f"encoder.layer.{i}."
        layers.append(FloatEncoderLayer(
            query=linear(p + "attention.self.query"),
            key=linear(p + "attention.self.key"),
            value=linear(p + "attention.self.value"),
            attention_output=linear(p + "attention.output.dense"),
            attention_norm=norm(p + "attention.output.LayerNorm"),
            intermediate=linear(p + "intermediate.dense"),
            output=linear(p + "output.dense"),
            output_norm=norm(p + "output.LayerNorm")))
    return FloatBert(
        word_embeddings=f64("embeddings.word_embeddings.weight"),
        position_embeddings=f64("embeddings.position_embeddings.weight"),
        token_type_embeddings=f64("embeddings.token_type_embeddings.weight"),
        embedding_norm=norm("embeddings.LayerNorm"),
        layers=tuple(layers), heads=config.heads)


def layer_norm(x, norm):
    """LayerNorm over the last axis (population variance, as PyTorch)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + norm.eps) * norm.gamma + norm.beta


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    """``x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2))``, the exact GELU."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def softmax(x, axis=-1):
    """Softmax along ``axis`` (max-subtracted)."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _linear(x, layer):
    return x @ layer.weight + layer.bias


def _noop(name, value):
    pass


def attention(x, layer, heads, causal=False, observe=_noop):
    """Multi-head self-attention of ``x`` ``[tokens, hidden]``, before the output projection.

    Returns the concatenated per-head contexts ``[tokens, hidden]``. With ``causal`` a token
    attends only to itself and earlier tokens.
    """
    n, hidden = x.shape
    d = hidden // heads
    q, k, v = (_linear(x, p) for p in (layer.query, layer.key, layer.value))
    observe("query", q)
    observe("key", k)
    observe("value", v)
    split = lambda t: t.reshape(n, heads, d).transpose(1, 0, 2)  # noqa: E731  [heads, n, d]
    scores = split(q) @ split(k).transpose(0, 2, 1) / math.sqrt(d)
    if causal:
        scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    context = (softmax(scores) @ split(v)).transpose(1, 0, 2).reshape(n, hidden)
    observe("context", context)
    return context


def encoder_layer(x, layer, heads, causal=False, observe=_noop):
    """One BERT layer on ``x`` ``[tokens, hidden]``; ``observe`` sees :data:`ACTIVATIONS`."""
    observe("input", x)
    context = attention(x, layer, heads, causal, observe)
    attention_sum = x + _linear(context, layer.attention_output)
    observe("attention_sum", attention_sum)
    h = layer_norm(attention_sum, layer.attention_norm)
    observe("attention_output", h)
    pre = _linear(h, layer.intermediate)
    observe("intermediate_input", pre)
    inter = gelu(pre)
    observe("intermediate", inter)
    output_sum = h + _linear(inter, layer.output)
    observe("output_sum", output_sum)
    out = layer_norm(output_sum, layer.output_norm)
    observe("output", out)
    return out


def embed(model, tokens):
    """Word + position + token-type-0 embeddings of ``tokens``, layer-normalised."""
    tokens = np.asarray(tokens)
    n = len(tokens)
    x = (model.word_embeddings[tokens] + model.position_embeddings[:n]
         + model.token_type_embeddings[0])
    return layer_norm(x, model.embedding_norm)


def encode(model, tokens, observe=None):
    """Final hidden states ``[tokens, hidden]`` of one sentence.

    ``observe(name, array)`` receives ``"embeddings"`` and ``"layers.{i}.{activation}"``.
    """
    x = embed(model, tokens)
    if observe is not None:
        observe("embeddings", x)
    for i, layer in enumerate(model.layers):
        named = _noop if observe is None else (
            lambda name, value, i=i: observe(f"layers.{i}.{name}", value))
        x = encoder_layer(x, layer, model.heads, observe=named)
    return x


def mean_pool(hidden):
    """Mean over tokens of ``hidden`` ``[tokens, width]`` (one sentence, no padding)."""
    return hidden.mean(axis=0)


def l2_normalize(v):
    """``v / max(||v||, 1e-12)``, as ``torch.nn.functional.normalize``."""
    return v / max(float(np.linalg.norm(v)), 1e-12)


def sentence_embedding(model, tokens):
    """The unit-length sentence embedding of ``tokens`` (mean pooling + L2 normalisation)."""
    return l2_normalize(mean_pool(encode(model, tokens)))

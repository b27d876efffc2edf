"""Transformer programs with their golden expectations, run on the golden simulator and on
the RTL: the one path that the model tests, ``make sim``, ``make bench`` and the embedding
command share.

A :class:`ModelRun` is a bound program (a layer, a decoder token, a whole sentence) and what
:mod:`golden.transformer.layers` says its outputs must be. :func:`run_models` runs a list of
them in order on one golden simulator and one simulated chip (later programs find what earlier
ones left in SRAM: a decoder's weights and cache) and compares every run with
:func:`~verification.compare.compare_runs`.
"""

from dataclasses import dataclass

from compiler.decoder import DecoderLayer
from compiler.encoder import compile_encoder
from compiler.layer import compile_encoder_layer
from golden.archsim import ArchSim
from golden.transformer import minilm, quantize
from golden.transformer.layers import KVCache, decoder_layer, decoder_step, encoder_layer
from .compare import compare_runs
from .system import run_programs_on_rtl

__all__ = ["ModelRun", "minilm_model", "layer_run", "decoder_runs", "sentence_runs",
           "run_models"]


@dataclass
class ModelRun:
    """A program of ``kernel`` bound to inputs, and the outputs it must produce."""
    name: str
    kernel: object
    program: object
    expected: dict


def minilm_model(path=quantize.DEFAULT_MODEL_FILE, log=None):
    """``(IntegerEncoder, SentenceTokenizer)`` of all-MiniLM-L6-v2: the integer model stored
    at ``path`` (quantised first when the file is missing, as ``python -m commands.quantize``
    does) and the packaged tokenizer."""
    if not path.exists():
        quantize.build(path, log=log or (lambda message: None))
    encoder, _ = quantize.load(path)
    return encoder, minilm.SentenceTokenizer(None, encoder.context_length)


def layer_run(config, params, tables, x, *, causal=False, name="layer", kernel=None):
    """One encoder layer (``causal``: decoder layer) on the int16 rows ``x``; ``kernel``: a
    program compiled earlier for as many tokens (the same program on other data)."""
    kernel = kernel or compile_encoder_layer(config, params, tables, len(x), causal=causal)
    golden = decoder_layer if causal else encoder_layer
    return ModelRun(name, kernel, kernel.bind({"x": x}), {"y": golden(x, params, tables)})


def decoder_runs(config, params, tables, x, prompt, *, capacity=None, name="decoder"):
    """A decoder layer on the int16 rows ``x``: the first ``prompt`` rows as the prompt, then
    every later row as one step. Expected outputs are
    :func:`golden.transformer.layers.decoder_layer` on the prompt and
    :func:`~golden.transformer.layers.decoder_step` on each later token (with a golden
    :class:`KVCache`)."""
    capacity = capacity or len(x)
    layer = DecoderLayer(config, params, tables, capacity)
    cache = KVCache(capacity, params.width)
    for row in range(prompt):   # the golden cache after the prompt
        decoder_step(x[row:row + 1], params, tables, cache)
    kernel = layer.prefill(prompt)
    runs = [ModelRun(f"{name}.prompt", kernel, kernel.bind({"x": x[:prompt]}),
                     {"y": decoder_layer(x[:prompt], params, tables)})]
    for position in range(prompt, len(x)):
        kernel = layer.step(position)
        token = x[position:position + 1]
        runs.append(ModelRun(f"{name}.step{position}", kernel, kernel.bind({"x": token}),
                             {"y": decoder_step(token, params, tables, cache)}))
    return runs


def sentence_runs(config, encoder, tokens, *, name="sentence", kernels=None):
    """The whole ``encoder`` on the token ids ``tokens``: its programs (one, or one per layer:
    :func:`~compiler.encoder.compile_encoder`), the last giving the sentence embedding, the
    others the hidden states after their last layer. ``kernels``: programs compiled earlier
    for as many tokens."""
    kernels = kernels or compile_encoder(config, encoder, len(tokens))
    tokens = encoder.check_tokens(tokens)
    hidden = [encoder.embed(tokens)]
    for layer in encoder.layers:
        hidden.append(encoder_layer(hidden[-1], layer, encoder.tables))
    runs = []
    for index, kernel in enumerate(kernels):
        inputs = {"words": encoder.word_embeddings[tokens]} if index == 0 else {}
        if index == len(kernels) - 1:
            expected = {"embedding": encoder.sentence_embedding(tokens)[None, :]}
        else:
            expected = {"hidden": hidden[kernel.layers[-1] + 1]}
        suffix = "" if len(kernels) == 1 else f".program{index}"
        runs.append(ModelRun(f"{name}{suffix}", kernel, kernel.bind(inputs), expected))
    return runs


def run_models(config, runs, *, rtl=True, progress=None, name="models"):
    """Run ``runs`` in order on the golden simulator and (with ``rtl``) on the RTL; returns
    ``[(Comparison, {engine: RunOutcome})]``."""
    machine = ArchSim(config)
    golden = []
    for run in runs:
        if progress:
            progress(f"golden simulator: {run.name}")
        golden.append(machine.execute(run.program))
    engines = [{"golden": outcome} for outcome in golden]
    if rtl:
        if progress:
            progress(f"RTL: {len(runs)} programs")
        outcomes = run_programs_on_rtl(config, [run.program for run in runs], name=name,
                                       progress=progress)
        for found, outcome in zip(engines, outcomes):
            found["rtl"] = outcome
    return [(compare_runs(run.program, found, expected=run.expected,
                          decode=run.kernel.unbind, name=run.name), found)
            for run, found in zip(runs, engines)]

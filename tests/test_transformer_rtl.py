"""Transformer layers on the RTL (Verilator): RTL == golden simulator == golden.transformer,
bit for bit, and RTL cycles == golden cycles == the compiler's prediction, asserted for every
program; the same program on other data takes the same cycles.

The default tier runs one small layer on the ``default`` chip. ``make test-model`` runs
all-MiniLM-L6-v2's layer 0 at 1, 7, 16 and 128 tokens and the whole model on sentences of
``golden/transformer/data/evaluation.txt`` on the ``minilm`` chip (which holds the six layers),
random small layers across seeds, and a decoder's prompt followed by 16 tokens with its KV
cache resident on the chip.
"""

import functools

import numpy as np
import pytest

from compiler.encoder import compile_encoder
from compiler.layer import compile_encoder_layer
from golden.transformer import quantize as Q
from golden.transformer.evaluation import EVALUATION_FILE
from isa import preset
from verification.model_cases import integer_only_layer, integer_sequence
from verification.model_runs import (decoder_runs, layer_run, minilm_model, run_models,
                                     sentence_runs)

TABLES = Q.build_tables()
#: A layer with two heads of one vector each on the default chip (32 lanes).
GEOMETRY = {"width": 64, "heads": 2, "ffn": 128}


def assert_ok(results):
    for comparison, _ in results:
        assert comparison.ok, comparison.report()
        assert comparison.cycles["rtl"] == comparison.cycles["golden"] == \
            comparison.cycles["predicted"]


def assert_same_cycles(results):
    cycles = {engine: {found[engine].cycles for _, found in results} for engine in
              ("golden", "rtl")}
    assert all(len(counts) == 1 for counts in cycles.values()), cycles


@pytest.mark.verilator
@pytest.mark.xdist_group("system-default")
def test_small_layer_on_the_rtl():
    config = preset("default")
    params = integer_only_layer(1, **GEOMETRY)
    kernel = compile_encoder_layer(config, params, TABLES, 7)
    runs = [layer_run(config, params, TABLES, integer_sequence(seed, 7, GEOMETRY["width"]),
                      kernel=kernel, name=f"layer.data{seed}") for seed in (1, 2)]
    results = run_models(config, runs, name="layer")
    assert_ok(results)
    assert_same_cycles(results)


# -- make test-model -------------------------------------------------------------------------

def _sentences(count):
    return EVALUATION_FILE.read_text().splitlines()[:count]


@functools.lru_cache
def _minilm_results():
    """Every MiniLM program, run in one launch of the ``minilm`` chip."""
    config = preset("minilm")
    encoder, tokenizer = minilm_model()
    stream = np.concatenate([tokenizer.encode(s) for s in _sentences(20)])
    layer = encoder.layers[0]
    runs = {}
    for tokens in (1, 7, 16, 128):
        runs[f"layer{tokens}"] = [layer_run(config, layer, encoder.tables,
                                            encoder.embed(stream[:tokens]),
                                            name=f"minilm.layer0.t{tokens}")]
    # The 16-token program on two other token windows.
    kernel = runs["layer16"][0].kernel
    runs["layer16"] += [layer_run(config, layer, encoder.tables,
                                  encoder.embed(stream[start:start + 16]), kernel=kernel,
                                  name=f"minilm.layer0.t16.from{start}")
                        for start in (16, 40)]
    sentences = [tokenizer.encode(s) for s in _sentences(5)]
    runs["sentences"] = [run for i, tokens in enumerate(sentences)
                         for run in sentence_runs(config, encoder, tokens, name=f"sentence{i}")]
    # Two sentences of one length through the same programs.
    lists = [tokenizer.encode(s) for s in _sentences(40)]
    first, second = next((a, b) for i, a in enumerate(lists) for b in lists[i + 1:]
                         if len(a) == len(b))
    kernels = compile_encoder(config, encoder, len(first))
    for index, tokens in enumerate((first, second)):
        runs[f"same length {index}"] = sentence_runs(config, encoder, tokens, kernels=kernels,
                                                     name=f"same_length{index}")
    order = [run for group in runs.values() for run in group]
    results = dict(zip((run.name for run in order), run_models(config, order, name="minilm")))
    return {key: [results[run.name] for run in group] for key, group in runs.items()}


@pytest.mark.model
@pytest.mark.verilator
@pytest.mark.parametrize("tokens", [1, 7, 16, 128])
def test_minilm_layer_on_the_rtl(tokens):
    assert_ok(_minilm_results()[f"layer{tokens}"])


@pytest.mark.model
@pytest.mark.verilator
def test_minilm_layer_takes_the_same_cycles_on_other_sentences():
    results = _minilm_results()["layer16"]
    assert_ok(results)
    assert_same_cycles(results)


@pytest.mark.model
@pytest.mark.verilator
def test_whole_model_sentence_embeddings_on_the_rtl():
    results = _minilm_results()["sentences"]
    # Every sentence's last program reads its embedding back (compared with
    # IntegerEncoder.sentence_embedding); earlier ones, if any, the hidden states.
    assert {c.name.split(".")[0] for c, _ in results} == {f"sentence{i}" for i in range(5)}
    assert_ok(results)


@pytest.mark.model
@pytest.mark.verilator
def test_whole_model_takes_the_same_cycles_on_other_sentences():
    first, second = (_minilm_results()[f"same length {i}"] for i in (0, 1))
    assert_ok(first + second)
    for a, b in zip(first, second):
        assert_same_cycles([a, b])


@pytest.mark.model
@pytest.mark.verilator
def test_random_small_layers_on_the_rtl():
    config = preset("default")
    rng = np.random.default_rng(11)
    runs = []
    for seed in range(4):
        tokens = int(rng.integers(1, 40))
        params = integer_only_layer(10 + seed, **GEOMETRY)
        runs.append(layer_run(config, params, TABLES,
                              integer_sequence(20 + seed, tokens, GEOMETRY["width"]),
                              causal=seed % 2 == 1, name=f"seed{seed}.t{tokens}"))
    assert_ok(run_models(config, runs, name="random_layers"))


@pytest.mark.model
@pytest.mark.verilator
def test_decoder_prompt_and_sixteen_tokens_on_the_rtl():
    config = preset("default")
    params = integer_only_layer(5, **GEOMETRY)
    x = integer_sequence(6, 5 + 16, GEOMETRY["width"])
    runs = decoder_runs(config, params, TABLES, x, prompt=5)
    assert len(runs) == 17
    assert_ok(run_models(config, runs, name="decoder"))

"""Transformer layers compiled onto the chip (compiler/layer.py, decoder.py, encoder.py), run
on the golden simulator: bit-exact with golden.transformer.layers, cycle-exact with the
prediction, the same cycles on other data, and clear errors for what does not fit."""

import pytest

from compiler.decoder import DecoderLayer
from compiler.encoder import compile_encoder
from compiler.layer import compile_encoder_layer
from compiler.queues import ScheduleError
from golden.transformer import quantize as Q
from isa import preset
from verification.model_cases import integer_only_layer, integer_sequence, small_integer_model
from verification.model_runs import decoder_runs, layer_run, run_models, sentence_runs

TABLES = Q.build_tables()
CONFIG = preset("default")
#: A layer with two heads of one vector each on the default chip (32 lanes).
GEOMETRY = {"width": 64, "heads": 2, "ffn": 128}


def assert_all_ok(results):
    for comparison, _ in results:
        assert comparison.ok, comparison.report()


@pytest.mark.parametrize("tokens, causal", [(1, False), (7, False), (16, True), (33, False)])
def test_layer_is_bit_exact_and_cycle_exact(tokens, causal):
    params = integer_only_layer(1, **GEOMETRY)
    x = integer_sequence(tokens, tokens, width=GEOMETRY["width"])
    assert_all_ok(run_models(CONFIG, [layer_run(CONFIG, params, TABLES, x, causal=causal)],
                             rtl=False))


@pytest.mark.parametrize("vxm_fold, mxm_fold", [(1, 8), (4, 4)])
def test_layer_on_folded_units(vxm_fold, mxm_fold):
    # Folded units run the same layer more slowly: every kernel spaces a unit's operations by
    # its issue interval (isa.timing), also across kernels (one GEMM's MMs after another's).
    config = CONFIG.derive(vxm_fold=vxm_fold, mxm_fold=mxm_fold)
    params = integer_only_layer(1, **GEOMETRY)
    x = integer_sequence(7, 7, width=GEOMETRY["width"])
    assert_all_ok(run_models(config, [layer_run(config, params, TABLES, x)], rtl=False))


def test_layer_takes_the_same_cycles_on_other_data():
    params = integer_only_layer(2, **GEOMETRY)
    kernel = compile_encoder_layer(CONFIG, params, TABLES, 9)
    runs = [layer_run(CONFIG, params, TABLES, integer_sequence(seed, 9, GEOMETRY["width"]),
                      kernel=kernel, name=f"data{seed}") for seed in (1, 2)]
    results = run_models(CONFIG, runs, rtl=False)
    assert_all_ok(results)
    assert results[0][1]["golden"].cycles == results[1][1]["golden"].cycles


def test_decoder_prompt_then_tokens_with_a_resident_cache():
    params = integer_only_layer(3, **GEOMETRY)
    x = integer_sequence(4, 9, width=GEOMETRY["width"])
    runs = decoder_runs(CONFIG, params, TABLES, x, prompt=5, capacity=12)
    # Only the prompt's program loads the weights; the steps load their inputs alone.
    resident = sum(len(words) for _, _, words in runs[0].program.sram)
    assert all(sum(len(w) for _, _, w in run.program.sram) < resident / 4 for run in runs[1:])
    assert_all_ok(run_models(CONFIG, runs, rtl=False))


def test_decoder_keys_cross_a_column_tile():
    """The cache keeps the keys transposed (a token's key is a column): tokens 30 and 31
    append to the tile the prompt wrote, token 32 starts the next tile of 32 lanes and
    token 33 appends to the one token 32 started."""
    params = integer_only_layer(4, **GEOMETRY)
    x = integer_sequence(5, 34, width=GEOMETRY["width"])
    runs = decoder_runs(CONFIG, params, TABLES, x, prompt=30, capacity=40)
    assert [run.name for run in runs[1:]] == [f"decoder.step{p}" for p in (30, 31, 32, 33)]
    assert_all_ok(run_models(CONFIG, runs, rtl=False))


@pytest.mark.parametrize("tokens", [[7], [3, 14, 15, 9, 2, 6]])
def test_whole_encoder_gives_the_sentence_embedding(tokens):
    _, encoder = small_integer_model(0, **GEOMETRY)
    runs = sentence_runs(CONFIG, encoder, tokens)
    assert len(runs) == 1
    assert_all_ok(run_models(CONFIG, runs, rtl=False))


def test_encoder_as_a_program_per_layer():
    """Layer by layer, the residual stream stays on the chip between programs: every
    program's output is the golden hidden state, and only the first loads the model."""
    _, encoder = small_integer_model(0, **GEOMETRY)
    tokens = [3, 14, 15, 9, 2]
    kernels = compile_encoder(CONFIG, encoder, len(tokens), layers_per_program=1)
    assert [k.layers for k in kernels] == [[0], [1]]
    runs = sentence_runs(CONFIG, encoder, tokens, kernels=kernels)
    assert sum(len(w) for _, _, w in runs[1].program.sram) < \
        sum(len(w) for _, _, w in runs[0].program.sram) / 4
    assert_all_ok(run_models(CONFIG, runs, rtl=False))


# -- errors ----------------------------------------------------------------------------------

def test_too_many_tokens_are_named():
    params = integer_only_layer(1, **GEOMETRY)
    _, encoder = small_integer_model(0, **GEOMETRY)
    with pytest.raises(ScheduleError, match="17 tokens exceed the context length of 16"):
        compile_encoder(CONFIG, encoder, 17)
    layer = DecoderLayer(CONFIG, params, TABLES, 4)
    with pytest.raises(ScheduleError, match="5 tokens exceed the KV cache capacity of 4"):
        layer.prefill(5)
    with pytest.raises(ScheduleError, match="5 tokens exceed the KV cache capacity of 4"):
        layer.step(4)
    with pytest.raises(ScheduleError, match="token count must be a positive integer, not 0"):
        compile_encoder_layer(CONFIG, params, TABLES, 0)


def test_a_model_for_another_geometry_is_named():
    # Heads of 48 lanes are not whole vectors of the default chip's 32 lanes.
    params = integer_only_layer(1, width=96, heads=2, ffn=128)
    with pytest.raises(ScheduleError, match=r"head width 48 \(96 / 2 heads\) is not a multiple "
                                            r"of 32 lanes"):
        compile_encoder_layer(CONFIG, params, TABLES, 4)


def test_a_model_too_large_for_the_sram_says_what_it_needs():
    _, encoder = small_integer_model(0, **GEOMETRY)
    small = CONFIG.derive(name="small", words=256)
    with pytest.raises(ScheduleError, match=r"the encoder on 4 tokens does not fit the SRAM: "
                                            r"it needs ([\d,]+) bytes, preset 'small' has "
                                            r"131,072") as error:
        compile_encoder(small, encoder, 4)
    needed = int(error.value.args[0].split("needs ")[1].split(" bytes")[0].replace(",", ""))
    assert needed > small.sram_bytes
    with pytest.raises(ScheduleError, match=r"the decoder layer with a cache of 500 tokens "
                                            r"does not fit the SRAM: it needs [\d,]+ bytes, "
                                            r"preset 'tiny_sram' has 32,768"):
        DecoderLayer(CONFIG.derive(name="tiny_sram", words=64), integer_only_layer(1, **GEOMETRY),
                     TABLES, 500)


def test_resident_tensors_are_not_written_by_a_program():
    """Every word a program writes lies outside the words its residency holds."""
    params = integer_only_layer(1, **GEOMETRY)
    layer = DecoderLayer(CONFIG, params, TABLES, 8)
    kernel = layer.step(3)
    resident = set(layer.residency.words())
    cache = {(s, a) for tensor in (layer.cache.keys, layer.cache.values)
             for _, _, s, a in tensor.words}
    written = {(s, a) for tensor in kernel.outputs.values() for _, _, s, a in tensor.words}
    assert written and not written & resident
    assert cache <= resident

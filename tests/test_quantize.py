"""Offline quantisation (golden/transformer/quantize.py): multipliers, scales, and the model
file format."""

import json
import math
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from golden.transformer import kernels as K
from golden.transformer import quantize as Q
from test_layers import small_integer_model, small_token_lists

FAST = settings(max_examples=200, deadline=None)


# -- multipliers ----------------------------------------------------------------------------

@pytest.mark.parametrize("real, expected", [
    (0.5, (1 << 30, 0)),
    (1.0, (1 << 30, 1)),
    (0.75, (3 << 29, 0)),
    (-0.5, (-(1 << 30), 0)),
    (0.0, (0, 0)),
    (1 / 384, (1431655765, -8)),                 # 2/3 * 2**31 = 1431655765.33, * 2**-8
    (1 - 2 ** -33, (1 << 30, 1)),                # rounds up to 2**31: renormalised
    (2.0 ** -40, (1 << 22, -31)),                # below 2**-32: keeps shift -31, loses bits
])
def test_quantize_multiplier_hand_values(real, expected):
    assert Q.quantize_multiplier(real) == expected


@FAST
@given(st.floats(2.0 ** -31, 2.0 ** 30))
def test_quantize_multiplier_relative_error(real):
    multiplier, shift = Q.quantize_multiplier(real)
    assert (1 << 30) <= multiplier < (1 << 31) and -31 <= shift <= 31
    assert abs(multiplier * 2.0 ** (shift - 31) - real) <= real * 2.0 ** -31


@pytest.mark.parametrize("real", [float("nan"), float("inf"), 2.0 ** 31])
def test_quantize_multiplier_rejects_unrepresentable(real):
    with pytest.raises(ValueError, match="Cannot represent the multiplier"):
        Q.quantize_multiplier(real)


def test_requant_refuses_a_left_shift_that_could_wrap():
    assert Q.requant(5.0, input_bound=1 << 27).shift == 3
    with pytest.raises(ValueError, match=r"inputs of magnitude 268435456 left by 3 bits"):
        Q.requant(5.0, input_bound=1 << 28)


def test_requant_per_channel_shapes():
    requant = Q.requant(np.array([0.5, 0.25, 3.0]))
    assert requant.multiplier.tolist() == [1 << 30, 1 << 30, 3 << 29]
    assert requant.shift.tolist() == [0, -1, 2]


def test_sum_scale_grows_so_no_requant_can_wrap():
    calibration = np.array([[100.0]])
    assert Q._sum_scale(calibration) == 100.0 / Q.SUM_UNITS
    coarse = Q._sum_scale(calibration, (np.array([1.0]), 1 << 24))
    assert coarse == 2.0 * (1 << 24) / K.INT32_MAX
    Q.requant(1.0 / coarse, input_bound=1 << 24)           # does not raise


def test_tables_are_deterministic():
    a, b = Q.build_tables(), Q.build_tables()
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)


# -- smoothing ------------------------------------------------------------------------------

def test_smoothing_is_never_worse_than_one_scale_per_tensor():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (200, 16))
    x[:, 3] *= 30                                          # one outlier channel
    w = rng.normal(0, 0.2, (16, 8))
    scales, alpha = Q._smoothing(x, [w])

    def error(s):
        w8, w_scale = Q._quantize_columns(w * s[:, None])
        x8 = np.clip(np.round(x / s), -128, 127)
        return np.linalg.norm((x8 @ w8) * w_scale - x @ w)

    per_tensor = np.full(16, np.abs(x).max() * Q.ACTIVATION_HEADROOM / 127)
    assert alpha is not None and error(scales) < 0.5 * error(per_tensor)
    assert (np.abs(x / scales) <= 127).all()               # calibration data never saturates


# -- the model file -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    _, encoder = small_integer_model()
    path = tmp_path_factory.mktemp("model") / "small.npz"
    Q.save(path, encoder, {"note": "test"})
    return path


def test_save_and_load_round_trip(model_file):
    _, encoder = small_integer_model()
    loaded, manifest = Q.load(model_file)
    tokens = small_token_lists(5, 1)[0]
    assert np.array_equal(loaded.sentence_embedding(tokens), encoder.sentence_embedding(tokens))
    assert manifest["note"] == "test" and manifest["version"] == Q.FORMAT_VERSION
    assert manifest["integers"]["layers"] == 2 and manifest["integers"]["context_length"] == 16
    assert manifest["arrays"]["layers.1.query.weight"] == {"dtype": "int8", "shape": [32, 32]}


def test_model_file_is_plain_numpy(model_file):
    """Any reader (the compiler) gets int arrays with numpy.load and no pickle."""
    with np.load(model_file, allow_pickle=False) as data:
        assert data["layers.0.intermediate.weight"].dtype == np.int8
        assert data["word_embeddings"].dtype == np.int16
        assert data["tables.exp2_fine"].dtype == np.int32
    with zipfile.ZipFile(model_file) as archive:
        assert json.loads(archive.read("manifest.json"))["format"] == Q.FORMAT


def rewrite(source, target, manifest_change=None, drop=None, replace=None):
    """Copy a model file, editing its manifest or its arrays."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if item.filename == drop:
                continue
            data = old.read(item.filename)
            if item.filename == "manifest.json" and manifest_change:
                manifest = json.loads(data)
                manifest_change(manifest)
                data = json.dumps(manifest)
            if replace and item.filename == replace[0]:
                with new.open(item.filename, "w") as member:
                    np.lib.format.write_array(member, replace[1])
                continue
            new.writestr(item.filename, data)
    return target


def test_load_reports_a_missing_file(tmp_path):
    with pytest.raises(Q.ModelFileError, match="does not exist; make it with `python -m "
                                               "commands.quantize --out"):
        Q.load(tmp_path / "absent.npz")


def test_load_reports_a_foreign_file(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(Q.ModelFileError, match="is not a quantised model file"):
        Q.load(tmp_path / "junk.npz")


@pytest.mark.parametrize("key, value, message", [
    ("format", "something-else", "has format 'something-else'"),
    ("version", 99, "has format version 99; this code reads version 1"),
    ("kernels", {"p_max": 255}, "was made for kernel constants"),
])
def test_load_checks_the_manifest(model_file, tmp_path, key, value, message):
    target = rewrite(model_file, tmp_path / "edited.npz",
                     manifest_change=lambda manifest: manifest.__setitem__(key, value))
    with pytest.raises(Q.ModelFileError, match=message):
        Q.load(target)


def test_load_names_a_missing_array(model_file, tmp_path):
    target = rewrite(model_file, tmp_path / "edited.npz", drop="layers.1.key.bias.npy")
    with pytest.raises(Q.ModelFileError, match="lacks the array layers.1.key.bias"):
        Q.load(target)


def test_load_names_an_array_contradicting_the_manifest(model_file, tmp_path):
    target = rewrite(model_file, tmp_path / "edited.npz",
                     replace=("layers.0.value.weight.npy", np.zeros((32, 31), dtype=np.int8)))
    with pytest.raises(Q.ModelFileError, match=r"Array layers.0.value.weight .* is int8 "
                                               r"\(32, 31\), the manifest says int8 \[32, 32\]"):
        Q.load(target)


def test_load_reports_inconsistent_shapes(model_file, tmp_path):
    def shrink(manifest):
        manifest["arrays"]["layers.0.value.weight"]["shape"] = [32, 31]

    target = rewrite(model_file, tmp_path / "edited.npz", manifest_change=shrink,
                     replace=("layers.0.value.weight.npy", np.zeros((32, 31), dtype=np.int8)))
    with pytest.raises(Q.ModelFileError, match=r"invalid model: Linear needs weight \[in, out\] "
                                               r"and bias \[out\]|Layer value weight"):
        Q.load(target)


def test_save_refuses_values_that_do_not_fit(tmp_path):
    _, encoder = small_integer_model()
    words = encoder.word_embeddings.copy()
    words[3, 5] = 40000
    bad = encoder.__class__(words, encoder.position_embeddings, encoder.embedding_norm,
                            encoder.layers, encoder.tables, encoder.context_length)
    with pytest.raises(ValueError, match="Array word_embeddings does not fit int16"):
        Q.save(tmp_path / "bad.npz", bad)
    assert list(tmp_path.iterdir()) == []                  # nothing half-written is left


def test_read_sentences(tmp_path):
    (tmp_path / "s.txt").write_text("  one  \n\n two\n", encoding="utf-8")
    assert Q.read_sentences(tmp_path / "s.txt") == ["one", "two"]
    with pytest.raises(FileNotFoundError, match="Sentence file .*absent.txt does not exist"):
        Q.read_sentences(tmp_path / "absent.txt")
    with pytest.raises(FileNotFoundError, match="is a directory, not a file"):
        Q.read_sentences(tmp_path)
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="blank.txt holds no sentence"):
        Q.read_sentences(tmp_path / "blank.txt")


def test_kernel_constants_are_recorded():
    constants = Q.kernel_constants()
    assert constants["p_max"] == K.P_MAX == 127 and constants["wide_bits"] == 15
    assert math.log2(constants["lut_entries"]) == 8

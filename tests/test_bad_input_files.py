"""Malformed files and arguments: quantised model files (:mod:`golden.transformer.quantize`)
that are truncated, garbage or contradict their manifest, and ``lpu`` command lines with bad
presets, overrides, numbers and files. Each gets its documented error naming the offending
value or name, never a traceback."""

import contextlib
import io
import json
import tempfile
import zipfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from commands.lpu import main as lpu_main
from golden.transformer import quantize as Q
from isa.config import ChipConfig, PRESETS
from test_layers import small_integer_model

FAST = settings(max_examples=25, deadline=None, derandomize=True)
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "add.s"


# -- quantised model files --------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    _, encoder = small_integer_model()
    path = tmp_path_factory.mktemp("model") / "small.npz"
    Q.save(path, encoder)
    return path.read_bytes()


def rewrite(data, change=None, drop=None, replace=None):
    """The bytes of a model file with its manifest changed, a member dropped or replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            member = old.read(item.filename)
            if item.filename == drop:
                continue
            if item.filename == "manifest.json" and change:
                manifest = json.loads(member)
                change(manifest)
                member = json.dumps(manifest)
            if replace and item.filename == replace[0] + ".npy":
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, replace[1])
                member = buffer.getvalue()
            new.writestr(item.filename, member)
    return out.getvalue()


def load_bytes(data):
    """``Q.load`` of a file holding ``data``: the error it raises (it must raise one)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.npz"
        path.write_bytes(data)
        with pytest.raises(Q.ModelFileError) as error:
            Q.load(path)
        assert str(path) in str(error.value) or "Array " in str(error.value)
        return str(error.value)


def manifest_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("manifest.json"))


@FAST
@given(cut=st.floats(0, 1, exclude_max=True))
def test_a_truncated_model_file_is_refused(model_bytes, cut):
    load_bytes(model_bytes[:int(cut * len(model_bytes))])


@FAST
@given(st.binary(max_size=2000))
def test_garbage_bytes_are_not_a_model_file(data):
    assert "is not a quantised model file" in load_bytes(data)


@FAST
@given(st.data())
def test_a_missing_member_is_named(model_bytes, data):
    name = data.draw(st.sampled_from(sorted(manifest_of(model_bytes)["arrays"])))
    assert f"lacks the array {name}" in load_bytes(rewrite(model_bytes, drop=name + ".npy"))


@FAST
@given(st.data())
def test_a_manifest_contradicting_an_array_is_named(model_bytes, data):
    arrays = manifest_of(model_bytes)["arrays"]
    name = data.draw(st.sampled_from(sorted(arrays)))
    spec = arrays[name]
    dtype = data.draw(st.sampled_from(sorted(set(Q._DTYPES) - {spec["dtype"]})))
    shape = data.draw(st.lists(st.integers(0, 64), max_size=3))
    change_dtype = data.draw(st.booleans()) or shape == spec["shape"]

    def change(manifest):
        manifest["arrays"][name] = {"dtype": dtype if change_dtype else spec["dtype"],
                                    "shape": shape}

    message = load_bytes(rewrite(model_bytes, change))
    assert f"Array {name} in " in message and "the manifest says" in message


@pytest.mark.parametrize("change, message", [
    (lambda m: m.__setitem__("format", "zip"), "has format 'zip', not 'open-lpu-integer"),
    (lambda m: m.__setitem__("version", 0), "has format version 0; this code reads version"),
    (lambda m: m.pop("version"), "has format version None"),
    (lambda m: m["kernels"].__setitem__("p_max", 1), "was made for kernel constants"),
    (lambda m: m.pop("arrays"), "a manifest without the objects 'arrays' and 'integers'"),
    (lambda m: m.__setitem__("integers", []), "without the objects 'arrays' and 'integers'"),
    (lambda m: m["integers"].__setitem__("layers", "2"), "Entry layers in "),
    (lambda m: m["integers"].__setitem__("layers", 9), "lacks the entry layers.2"),
    (lambda m: m["arrays"]["word_embeddings"].__setitem__("dtype", "float64"),
     "Array word_embeddings in "),
    (lambda m: m["arrays"]["word_embeddings"].pop("shape"), "Array word_embeddings in "),
    (lambda m: m["arrays"]["word_embeddings"].__setitem__("shape", [1]),
     "the manifest says int16 [1]"),
    (lambda m: m["arrays"].__setitem__("extra", {"dtype": "int8", "shape": [1]}),
     "lacks the array extra"),
])
def test_hand_written_bad_manifests(model_bytes, change, message):
    assert message in load_bytes(rewrite(model_bytes, change))


def test_hand_written_bad_model_files(model_bytes):
    assert "is not a quantised model file" in load_bytes(b"")
    assert "is not a quantised model file" in load_bytes(model_bytes[:len(model_bytes) // 2])
    assert "lacks the array tables.exp2_fine" in load_bytes(
        rewrite(model_bytes, drop="tables.exp2_fine.npy"))
    assert "is not a quantised model file" in load_bytes(
        rewrite(model_bytes, drop="manifest.json"))
    assert "Array word_embeddings in " in load_bytes(
        rewrite(model_bytes, replace=("word_embeddings", np.zeros((3, 3), np.int16))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", "[1, 2]")
    assert "has a manifest that is not an object: [1, 2]" in load_bytes(out.getvalue())
    with tempfile.TemporaryDirectory() as directory:
        with pytest.raises(Q.ModelFileError, match="does not exist"):
            Q.load(Path(directory))


# -- command-line arguments -------------------------------------------------------------------

def lpu(*argv):
    """``lpu argv`` in this process: ``(exit status, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = lpu_main([str(a) for a in argv])
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), err.getvalue()


def assert_refused(result, named, status=None):
    """Exit status 2 (the parser) or 1, one ``error:`` line naming ``named``, no traceback."""
    code, out, err = result
    assert code in ((1, 2) if status is None else (status,))
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and named in errors[0], err


CONFIG_FIELDS = {f.name for f in fields(ChipConfig)}


@FAST
@given(st.text(min_size=1, max_size=12).filter(
    lambda name: name not in PRESETS and name != "all" and not name.startswith("-")))
def test_an_unknown_preset_is_named(name):
    assert_refused(lpu("asm", EXAMPLE, "--preset", name), f"Unknown preset {name!r}", 2)


@FAST
@given(st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(
    lambda name: name not in CONFIG_FIELDS))
def test_an_unknown_override_is_named(field):
    assert_refused(lpu("asm", EXAMPLE, "--set", f"{field}=1"),
                   f"Unknown configuration parameter {field!r}", 2)


def _not_an_integer(text):
    try:
        int(text, 0)
    except ValueError:
        return not text.startswith("-")
    return False


@FAST
@given(st.sampled_from(sorted(CONFIG_FIELDS - {"name"})),
       st.text(max_size=8).filter(_not_an_integer))
def test_an_override_that_is_no_integer_is_named(field, value):
    assert_refused(lpu("run", EXAMPLE, "--set", f"{field}={value}"),
                   f"Override {field} must be an integer, not {value!r}", 2)


@FAST
@given(st.sampled_from(["lanes", "streams", "words", "queue_depth", "vxm_alus"]),
       st.integers(-(1 << 70), 0))
def test_an_override_out_of_range_is_named(field, value):
    assert_refused(lpu("asm", EXAMPLE, "--set", f"{field}={value}"), str(value), 2)


@FAST
@given(st.text(alphabet="abcxyz-_.", min_size=1, max_size=10))
def test_a_missing_program_file_is_named(name):
    path = Path(tempfile.gettempdir()) / "absent-lpu-input" / f"{name}.s"
    assert_refused(lpu("asm", path), f"{path} does not exist", 1)


@pytest.mark.parametrize("argv, named, status", [
    (["frobnicate"], "unknown command 'frobnicate'", 2),
    (["run", EXAMPLE, "--preset", "nope"], "Unknown preset 'nope'", 2),
    (["run", EXAMPLE, "--preset", "all"], "--preset all is not available here", 2),
    (["disasm", EXAMPLE, "--set", "lanes"], "Override must be written field=value, not "
                                            "'lanes'", 2),
    (["asm", EXAMPLE, "--set", "=4"], "Override must be written field=value, not '=4'", 2),
    (["asm", EXAMPLE, "--set", "lanes=17"], "not 17", 2),
    (["asm", EXAMPLE, "--set", "lanes=0x"], "not '0x'", 2),
    (["asm", EXAMPLE, "--set", "name=1"], "Configuration name must be an identifier", 2),
    (["asm", EXAMPLE, "--set", "bogus=1"], "Unknown configuration parameter 'bogus'", 2),
    (["run", EXAMPLE, "--engine", "fast"], "invalid choice: 'fast'", 2),
    (["run", EXAMPLE, "--from", "-1"], "not '-1'", 2),
    (["run", EXAMPLE, "--to", "x"], "not 'x'", 2),
    (["run", EXAMPLE, "--waves", "w.vcd"], "--waves records the RTL", 2),
    (["timeline", "--gemm", "0", "1", "1"], "not '0'", 2),
    (["timeline", "--gemm", "x", "1", "1"], "not 'x'", 2),
    (["board", "--port", "p", "--baud", "fast"], "invalid int value: 'fast'", 2),
    (["board", "--port", "/absent/serial/port"], "/absent/serial/port", 1),
    (["asm"], "the following arguments are required: program", 2),
    (["asm", ROOT / "examples"], "is a directory, not a file", 1),
    (["run", ROOT / "absent.s"], "absent.s does not exist", 1),
    (["asm", ROOT / "README.md"], "README.md:1: instruction outside a .queue section", 1),
])
def test_hand_written_bad_arguments(argv, named, status):
    assert_refused(lpu(*argv), named, status)


def test_bad_files_are_named(tmp_path):
    binary = tmp_path / "binary.s"
    binary.write_bytes(b"\xff\xfe\x00")
    assert_refused(lpu("asm", binary), f"{binary} is not UTF-8 text (byte 0)", 1)
    assert_refused(lpu("run", EXAMPLE, "--data", tmp_path / "absent.npz"),
                   f"--data {tmp_path / 'absent.npz'}: no such file", 1)
    assert_refused(lpu("run", EXAMPLE, "--data", binary), f"--data {binary}: not an .npz", 1)
    data = tmp_path / "data.npz"
    for key, values, named in [
        ("mem_w0@010", np.zeros(32), "'mem_w0@010' is not named <slice>@<address>"),
        ("mem_q0@0", np.zeros(32), "'mem_q0@0' is not named <slice>@<address>"),
        ("mem_w0@0", np.full(32, 300), "'mem_w0@0' must hold bytes (-128 .. 255)"),
        ("mem_w0@0", np.zeros(31, np.int8), "not 31 int8 values"),
        ("mem_w0@4095", np.zeros(64, np.int8), "'mem_w0@4095' of 2 words runs past"),
        ("mem_w0@0", np.array([object()] * 32), "'mem_w0@0' does not read"),
    ]:
        np.savez(data, **{key: values})
        assert_refused(lpu("run", EXAMPLE, "--data", data), named, 1)
    model = tmp_path / "model.npz"
    model.write_bytes(b"PK\x03\x04 truncated")
    assert_refused(lpu("embed", "--model", model, "a sentence"),
                   f"{model} is not a quantised model file", 1)

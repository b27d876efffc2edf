"""The commands' configuration arguments: ``--preset``/``--set`` give clear errors, and commands
that run one chip refuse ``--preset all``; ``python -m commands.fpga --place`` asks for a whole
probed module; ``python -m commands.timeline`` names a bad argument in one line;
``python -m commands.asm`` assembles a file or says in one line why it cannot; ``make sim``'s
demo programs fit every preset that simulates; progress counts come as plain lines, or as one
updating line on a terminal."""

import argparse
import io
import re

import pytest

from isa import preset
from isa.config import PRESETS
from commands.arguments import (Progress, add_config_arguments, config_from_arguments,
                                configs_from_arguments)
from commands.asm import main as asm_main
from commands.demo import _demo_programs
from commands.fpga import main as fpga_main
from commands.timeline import main as timeline_main


def parse(argv, *, allow_all):
    parser = argparse.ArgumentParser(prog="cmd")
    add_config_arguments(parser, allow_all=allow_all)
    return parser, parser.parse_args(argv)


def test_one_preset_with_overrides():
    parser, args = parse(["--preset", "tiny", "--set", "words=1024"], allow_all=False)
    assert config_from_arguments(parser, args) == preset("tiny").derive(words=1024)


def test_all_presets_where_allowed():
    parser, args = parse(["--preset", "all"], allow_all=True)
    assert [c.name for c in configs_from_arguments(parser, args)] == sorted(PRESETS)


@pytest.mark.parametrize("argv, message", [
    (["--preset", "all"], "--preset all is not available here"),
    (["--preset", "nope"], "Unknown preset 'nope'"),
    (["--set", "lanes=7"], "Lane count must be a positive multiple of 8"),
    (["--set", "lanes"], "Override must be written field=value, not 'lanes'"),
    (["--set", "bogus=1"], "Unknown configuration parameter 'bogus'"),
])
def test_bad_arguments_are_named(argv, message, capsys):
    parser, args = parse(argv, allow_all=False)
    with pytest.raises(SystemExit) as exit:
        config_from_arguments(parser, args)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--place"],
    ["--place", "--probe", "lpu_icu", "--memories", "drop"],
    ["--place", "--probe", "lpu_chip", "--blackbox", "lpu_vxm_alu"],
])
def test_fpga_place_needs_a_whole_probed_module(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        fpga_main(["--preset", "tiny", *argv])
    assert exit.value.code == 2
    assert "--place needs --probe MODULE, without --memories or --blackbox" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--reserve-rows", "1"], "--reserve-rows takes a period of at least 2 (0: none), not 1"),
    (["--reserve-rows", "-3"], "--reserve-rows takes a period of at least 2 (0: none), not -3"),
    (["--reserve-rows", "0", "--synth-only"], "--reserve-rows places a whole chip"),
    (["--reserve-rows", "3", "--synth-only"], "--reserve-rows places a whole chip"),
    (["--reserve-rows", "3", "--probe", "lpu_icu"], "--reserve-rows places a whole chip"),
    (["--attempts", "0"], "--attempts takes a number of seeds of at least 1, not 0"),
    (["--attempts", "2", "--synth-only"], "--attempts places a whole chip"),
    (["--attempts", "1", "--probe", "lpu_icu"], "--attempts places a whole chip"),
])
def test_fpga_reserved_rows_and_attempts_need_a_whole_chip_and_a_sane_count(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        fpga_main(["--preset", "tiny", *argv])
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--gemm", "4", "32", "32", "--cycles", "abc"], "--cycles: must be first:last"),
    (["--gemm", "4", "32", "32", "--cycles", "5"], "--cycles: must be first:last"),
    (["--gemm", "4", "32", "32", "--cycles", "100:50"], "with 0 <= first <= last, not '100:50'"),
    (["--gemm", "0", "48", "32"], "--gemm: must be a positive integer, not '0'"),
    (["--layer", "-3"], "--layer: must be a positive integer, not '-3'"),
    (["--composed", "4", "--bucket", "0"], "--bucket: must be a positive integer, not '0'"),
])
def test_timeline_names_a_bad_argument(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        timeline_main(argv)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_timeline_says_in_one_line_what_does_not_fit(capsys):
    assert timeline_main(["--preset", "fpga", "--gemm", "64", "384", "384"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("lpu timeline: ") and error.count("\n") == 1
    # Which slice fills first, and when, is the schedule's business; the message names the
    # slice and the words.
    assert re.search(r"SRAM of mem_[ew]\d is full: \d+ more words needed, \d+ of its 2048 words "
                     r"free( after cycle \d+)?$", error.strip()), error


PROGRAM = """.queue mem_w0.rd
    read 16 -> e3
    repeat 7, 1
.queue vxm.alu0
    nop 9
    add.i8 e3, e4 -> w2
"""


def test_asm_counts_and_disassembles(tmp_path, capsys):
    source = tmp_path / "my.s"
    source.write_text(PROGRAM, encoding="utf-8")
    assert asm_main([str(source), "--preset", "tiny"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{source}: 4 instructions in 2 queues (preset tiny)"
    assert lines[1].split() == ["mem_w0.rd", "2"] and lines[2].split() == ["vxm.alu0", "2"]
    assert asm_main([str(source), "--disassemble"]) == 0
    assert capsys.readouterr().out == PROGRAM


@pytest.mark.parametrize("name, text, message", [
    ("bad.s", ".queue vxm.alu0\n  add.i8 e3, q4 -> w2\n",
     "bad.s:2: expected an operand (e<n>, w<n>, alu<n>, c<n>, #<int>), got 'q4'"),
    ("absent.s", None, "absent.s does not exist"),
    (".", None, "is a directory, not a file"),
])
def test_asm_says_in_one_line_what_is_wrong(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert asm_main([str(path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and message in error


@pytest.mark.parametrize("name, gemms", [
    ("default", ["GEMM 64x384x384", "GEMM 1x384x384"]),
    ("tiny", ["GEMM 64x384x384", "GEMM 1x384x384"]),
    # 8 lanes, 2,048 words per slice and 1,024-instruction queues: the GEMMs shrink until
    # they fit.
    ("fpga", ["GEMM 64x96x96", "GEMM 1x96x96"]),
])
def test_demo_programs_fit_every_simulating_preset(name, gemms):
    demos = list(_demo_programs(preset(name)))
    assert [d.name for d in demos if d.kernel is not None] == gemms
    assert all(d.program.predicted_cycles > 0 for d in demos)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_counts_in_plain_lines_or_one_updating_line():
    plain = io.StringIO()
    advance = Progress(plain).counter(40, "items")
    for done in range(1, 41):
        advance(done)
    lines = plain.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [f"items: {n}/40"
                                                         for n in range(4, 41, 4)]
    terminal = _Terminal()
    advance = Progress(terminal).counter(40, "items")
    for done in range(1, 41):
        advance(done)
    text = terminal.getvalue()
    assert "\r" in text and "40/40" in text and text.count("\n") == 1

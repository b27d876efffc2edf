"""``lpu``, the one entry point, driven as a user drives it (a subprocess, its exit status and
output): ``lpu run`` on the assembly example of docs/compiler.md, on the golden simulator and
on both engines; ``lpu asm`` / ``lpu disasm``; and bad input, which gets one line naming the
problem and a non-zero exit, never a traceback."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from commands.lpu import COMMANDS, main as lpu_main
from compiler.asm import assemble, disassemble
from isa import preset

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "add.s"


def lpu(*argv, cwd=None):
    """``lpu argv`` in a subprocess: ``(exit status, stdout, stderr)``."""
    done = subprocess.run([sys.executable, "-m", "commands.lpu", *map(str, argv)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=1200)
    return done.returncode, done.stdout, done.stderr


def expected_planes(lanes):
    """The example's output: ``x - 5`` for x = -64 .. 63 (four words of ``lanes``) as int32
    byte planes."""
    y = (np.arange(-64, 64) - 5).astype("<i4").view(np.uint8).reshape(-1, 4)
    return {f"y.b{b}": y[:, b].reshape(4, lanes) for b in range(4)}


def test_the_docs_show_the_example_file():
    doc = (ROOT / "docs" / "compiler.md").read_text()
    assert f"```\n{EXAMPLE.read_text()}```" in doc


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "lpu"
    assert script.exists(), "make setup installs the lpu command"
    done = subprocess.run([str(script), "help"], capture_output=True, text=True)
    assert done.returncode == 0 and "run" in done.stdout


def test_without_a_command_lpu_lists_them():
    status, out, err = lpu()
    assert status == 2 and "usage: lpu COMMAND" in err
    for command in ("run", "asm", "disasm", "sim", "bench", "verilog", "embed"):
        assert f"\n  {command} " in err


def test_an_unknown_command_is_named():
    status, out, err = lpu("frobnicate")
    assert status == 2
    assert err.strip().splitlines() == [err.strip()]
    assert "unknown command 'frobnicate'" in err


def test_run_on_the_golden_simulator(tmp_path):
    saved = tmp_path / "y.npz"
    status, out, err = lpu("run", EXAMPLE, "--save", saved)
    assert status == 0, err
    assert "golden: 11 cycles, error flags: none" in out
    with np.load(saved) as regions:
        found = dict(regions)
    expected = expected_planes(preset("default").lanes)
    assert sorted(found) == sorted(expected)
    for name, planes in expected.items():
        np.testing.assert_array_equal(found[name], planes)


def test_run_takes_data_from_an_npz_file(tmp_path):
    # The example with its .data line removed: x comes from --data instead, x = 0 .. 127.
    program = tmp_path / "add.s"
    program.write_text("\n".join(line for line in EXAMPLE.read_text().splitlines()
                                 if not line.startswith(".data")))
    data = tmp_path / "x.npz"
    np.savez(data, **{"mem_w0@0": np.arange(128, dtype=np.uint8).reshape(4, 32)})
    saved = tmp_path / "y.npz"
    status, out, err = lpu("run", program, "--data", data, "--save", saved)
    assert status == 0, err
    with np.load(saved) as regions:
        low = regions["y.b0"]
    np.testing.assert_array_equal(low.reshape(-1), (np.arange(128) - 5) & 0xFF)


@pytest.mark.verilator
@pytest.mark.xdist_group("system-default")
def test_run_on_both_engines_agrees():
    status, out, err = lpu("run", EXAMPLE, "--engine", "both")
    assert status == 0, out + err
    assert "golden: 11 cycles, error flags: none" in out
    assert "rtl: 11 cycles, error flags: none" in out
    assert "the engines agree" in out


def test_asm_and_disasm(tmp_path):
    status, out, err = lpu("asm", EXAMPLE)
    assert status == 0, err
    assert "17 instructions in 6 queues" in out
    status, text, err = lpu("disasm", EXAMPLE)
    assert status == 0, err
    config = preset("default")
    again, original = assemble(text, config), assemble(EXAMPLE.read_text(), config)
    assert again.queues == original.queues
    assert again.outputs == original.outputs
    assert disassemble(again) == text


BAD_PROGRAMS = {
    "malformed": (".queue vxm.alu0\n    add.i8 e0 ->\n", "add.s:2:"),
    "missing .npy": (".data mem_w0 0 nowhere.npy\n", "no such file"),
    "no such slice": (".output y mem_q7 0 1\n", "no such MEM slice"),
    "region past the SRAM": (".output y mem_w0 4095 2\n", "runs past the 4096 words"),
    "not whole words": (".data mem_w0 0 1..31\n", "whole words of 32 lanes"),
    "not bytes": (".data mem_w0 0 0..30 300\n", "must be bytes"),
    "unknown directive": (".include other.s\n", "unknown directive"),
}


@pytest.mark.parametrize("text, message", BAD_PROGRAMS.values(), ids=list(BAD_PROGRAMS))
def test_a_bad_program_gets_one_line(tmp_path, text, message):
    program = tmp_path / "add.s"
    program.write_text(text)
    status, out, err = lpu("run", program)
    assert status == 1
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err


@pytest.mark.parametrize("argv, message", [
    (["--data", "nowhere.npz"], "--data nowhere.npz: no such file"),
    (["--data", "badname.npz"], "is not named <slice>@<address>"),
    (["--set", "words=6"], "runs past the 6 words of a slice"),
    (["--preset", "nope"], "Unknown preset 'nope'"),
    (["--save", "no/such/directory/y.npz"], "cannot write no/such/directory/y.npz"),
    (["--waves", "y.vcd", "--engine", "rtl", "--from", "9", "--to", "3"],
     "--to 3 is before --from 9"),
])
def test_bad_arguments_get_one_line(tmp_path, argv, message):
    np.savez(tmp_path / "badname.npz", x=np.zeros(32, dtype=np.uint8))
    status, out, err = lpu("run", EXAMPLE, *argv, cwd=tmp_path)
    assert status != 0
    assert "Traceback" not in err
    assert message in err, err


def test_a_missing_program_file(tmp_path):
    status, out, err = lpu("run", tmp_path / "nothing.s")
    assert status == 1 and "does not exist" in err and "Traceback" not in err


def test_reading_what_nothing_wrote_is_refused_unless_lenient(tmp_path):
    program = tmp_path / "stale.s"
    program.write_text(".output y mem_w0 0 1\n.queue mem_w0.rd\n    read 0 -> e0\n")
    status, out, err = lpu("run", program)
    assert status == 1 and "--lenient" in err and "Traceback" not in err
    status, out, err = lpu("run", program, "--lenient")
    assert status == 0, err
    assert "[0]   0   0" in out


def sampled(path, names):
    """``{name: [value in each instant the clock rises in]}`` of a VCD that ``lpu run
    --waves`` wrote (the window opens with the clock high: its first instant counts);
    ``names`` are patterns of dotted paths below the chip top, each matching one signal."""
    import fnmatch

    from sim.waves import read_vcd_header
    values, samples = {}, {name: [] for name in names}
    with open(path) as handle:
        _, variables = read_vcd_header(handle)
        codes = {}
        for name in names:
            [code] = {v.code for v in variables
                      if v.path and fnmatch.fnmatchcase(v.path, name)}
            codes[code] = name
        clock = next(v.code for v in variables if v.path == "clk")
        lines = [line.strip() for line in handle if line.strip()]
    def sample():
        for c, name in codes.items():
            samples[name].append(values.get(c))

    rose = False            # the clock rose in the instant being read
    for line in lines:
        if line.startswith("#"):
            if rose:
                sample()
            rose = False
            continue
        if line.startswith("$"):
            continue
        value, code = line.split() if line[0] == "b" else (line[0], line[1:])
        number = int(value.lstrip("b"), 2)
        if code == clock and number == 1 and values.get(clock) != 1:
            rose = True
        values[code] = number
    if rose:
        sample()
    return samples


@pytest.mark.verilator
def test_run_writes_a_waveform_of_a_window(tmp_path):
    # The example on `tiny` without the matrix units and with two ALUs: a traced build in
    # about a quarter of the time (the example uses one ALU; with two the VXM keeps the
    # `result_<alu>` signals looked for below). mem_w0 reads in cycles 0..3, the ADDs issue in
    # cycles 2..5.
    waves = tmp_path / "add.vcd"
    status, out, err = lpu("run", EXAMPLE, "--engine", "rtl", "--preset", "tiny",
                           "--set", "mxms=0", "--set", "vxm_alus=2",
                           "--waves", waves, "--from", 2, "--to", 6, "--streams", "vxm,mem_w0")
    assert status == 0, err
    assert "rtl: 11 cycles" in out
    from sim.waves import read_vcd_header
    with open(waves) as handle:
        _, variables = read_vcd_header(handle)
    paths = {v.path for v in variables}
    for name in ("clk", "running", "cycle", "q16_vxm_alu0.pc", "q16_vxm_alu0.issue__word",
                 "q0_mem_w0_rd.issue__valid", "vxm.unit.result_0", "vxm.east_hop.value_0",
                 "mem_w0.west_hop.value_3"):
        assert name in paths, name
    assert not any(path.startswith("mem_e0.") for path in paths)
    found = sampled(waves, ["cycle", "q*_vxm_alu0.issue__valid", "q*_mem_w0_rd.issue__valid"])
    assert found["cycle"] == [2, 3, 4, 5, 6]
    assert found["q*_vxm_alu0.issue__valid"] == [1, 1, 1, 1, 0]
    assert found["q*_mem_w0_rd.issue__valid"] == [1, 1, 0, 0, 0]


def test_waves_need_the_rtl():
    status, out, err = lpu("run", EXAMPLE, "--waves", "x.vcd")
    assert status == 2 and "--engine rtl" in err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_takes_help(command, capsys):
    with pytest.raises(SystemExit) as exit:
        lpu_main([command, "--help"])
    assert exit.value.code == 0
    assert "usage:" in capsys.readouterr().out

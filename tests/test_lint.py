"""Lint: the exported Verilog passes ``verilator --lint-only -Wall`` with the waivers of
sim/lint_waivers.vlt, which are scoped to the generated file and each give a reason.

``tiny`` and ``default`` are linted in the default tier (a few seconds each); every other
preset is linted by ``make lint PRESET=all`` and the slow tier.
"""

import pytest

from isa.config import PRESETS, preset
from hdl import sram
from sim.lint import WAIVERS, lint_chip, lint_file, lint_sram, waiver_rules

FAST_PRESETS = ["tiny", "default"]


def test_every_waiver_is_scoped_and_has_a_reason():
    rules = waiver_rules()
    assert rules, f"no waiver parsed from {WAIVERS}"
    for rule, glob, _, reason in rules:
        assert glob == "*/verilog/*", f"waiver {rule} is not scoped to generated Verilog"
        assert len(reason) > 20, f"waiver {rule} has no reason"
    # No blanket waiver of a whole warning class that hand-written code could hit.
    assert not any(rule in ("lint", "style", "ALL") for rule, *_ in rules)


@pytest.mark.parametrize("module", sorted(sram.MODULES))
def test_hand_written_sram_is_clean_without_waivers(module):
    result = lint_sram(module)
    assert result.clean, result.summary() + "\n" + result.output


@pytest.mark.parametrize("name", FAST_PRESETS)
def test_export_lints_clean(name):
    result = lint_chip(preset(name))
    assert result.clean, result.summary() + "\n" + result.output[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(PRESETS) - set(FAST_PRESETS)))
def test_export_lints_clean_slow(name):
    result = lint_chip(preset(name))
    assert result.clean, result.summary() + "\n" + result.output[-3000:]


def test_waivers_do_not_hide_other_warnings(tmp_path):
    # A generated file with a truncating assignment (not a LOGNOT or a port connection) and
    # an undriven output: the waivers let neither through.
    (tmp_path / "verilog").mkdir()
    path = tmp_path / "verilog" / "lpu_chip.v"
    path.write_text("module lpu_chip(input [7:0] a, output [3:0] y, output z);\n"
                    "  assign y = a;\nendmodule\n")
    result = lint_file(path, "lpu_chip")
    assert not result.clean
    assert result.warnings["WIDTHTRUNC"] == 1 and result.warnings["UNDRIVEN"] == 1


def test_lint_fails_on_an_unwaived_file(tmp_path):
    # The same warnings the waivers cover are reported in any other file. (Verilator never
    # reports signals whose name contains "unused", so the spare signals are named otherwise.)
    path = tmp_path / "mine.v"
    path.write_text("module mine(input [7:0] a, input b, output [15:0] y);\n"
                    "  wire spare;\n  assign y = a;\nendmodule\n")
    result = lint_file(path, "mine")
    assert not result.clean
    assert {"UNUSEDSIGNAL", "WIDTHEXPAND"} <= set(result.warnings)

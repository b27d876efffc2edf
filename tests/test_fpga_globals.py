"""sim.fpga_globals: the widest flip-flop controls of a netlist move onto global buffers, and
nothing else in the netlist changes."""

import copy

import pytest

from sim.fpga_globals import Promotion, promote_controls

TOP = "00000000000000000000000000000001"
START, ENABLE, NARROW, DATA = 10, 11, 12, 13


def flip_flop(lsr, ce):
    return {"type": "TRELLIS_FF", "parameters": {}, "attributes": {},
            "port_directions": {"CLK": "input", "LSR": "input", "CE": "input", "DI": "input",
                                "Q": "output"},
            "connections": {"CLK": [2], "LSR": [lsr], "CE": [ce], "DI": [DATA], "Q": [DATA]}}


def lut(a):
    return {"type": "LUT4", "parameters": {}, "attributes": {},
            "port_directions": {"A": "input", "B": "input", "Z": "output"},
            "connections": {"A": [a], "B": [START], "Z": [DATA]}}


def netlist(*, resets=700, enables=600, narrow=40):
    """700 flip-flops reset by START, 600 of them enabled by ENABLE, 40 more reset by NARROW
    (enable tied high); two LUTs read START and ENABLE."""
    cells = {}
    for i in range(resets):
        cells[f"ff{i}"] = flip_flop(START, ENABLE if i < enables else "1")
    for i in range(narrow):
        cells[f"narrow{i}"] = flip_flop(NARROW, "1")
    cells["lut_start"] = lut(START)
    cells["lut_enable"] = lut(ENABLE)
    names = {"clk": [2], "chip.start": [START], "chip.start_LUT4_Z_longer_name": [START],
             "chip.load": [ENABLE], "chip.narrow": [NARROW], "chip.data": [DATA]}
    return {"modules": {
        "lpu_fpga_top": {"attributes": {"top": TOP}, "cells": cells,
                         "netnames": {name: {"hide_name": 0, "bits": bits, "attributes": {}}
                                      for name, bits in names.items()}},
        "DCCA": {"attributes": {"blackbox": TOP}, "cells": {}, "netnames": {}},
    }}


def loads(top, port, bit):
    return sum(1 for cell in top["cells"].values()
               if cell["type"] == "TRELLIS_FF" and cell["connections"][port] == [bit])


def test_widest_controls_move_to_buffers_and_data_loads_stay():
    design = netlist()
    promotions = promote_controls(design, min_loads=100)
    top = design["modules"]["lpu_fpga_top"]
    assert promotions == [Promotion("chip.start", 700, "lpu_global_0"),
                          Promotion("chip.load", 600, "lpu_global_1")]
    for promotion, bit, port in zip(promotions, (START, ENABLE), ("LSR", "CE")):
        buffer = top["cells"][promotion.buffer]
        assert buffer["type"] == "DCCA"
        assert buffer["connections"]["CLKI"] == [bit] and buffer["connections"]["CE"] == ["1"]
        out = buffer["connections"]["CLKO"][0]
        assert out not in (START, ENABLE, NARROW, DATA, 2)
        assert loads(top, port, out) == promotion.loads and loads(top, port, bit) == 0
    # The LUTs still read the original nets; the narrow reset is left alone.
    assert top["cells"]["lut_start"]["connections"]["B"] == [START]
    assert top["cells"]["lut_enable"]["connections"]["A"] == [ENABLE]
    assert loads(top, "LSR", NARROW) == 40


def test_only_flip_flop_control_pins_change():
    before = netlist()
    after = copy.deepcopy(before)
    promotions = promote_controls(after, min_loads=100)
    old = before["modules"]["lpu_fpga_top"]["cells"]
    new = after["modules"]["lpu_fpga_top"]["cells"]
    assert set(new) - set(old) == {p.buffer for p in promotions}
    for name, cell in old.items():
        changed = {port for port, bits in cell["connections"].items()
                   if new[name]["connections"][port] != bits}
        assert changed <= {"LSR", "CE"}, name


def test_threshold_and_limit():
    design = netlist()
    assert [p.net for p in promote_controls(copy.deepcopy(design), limit=1, min_loads=1)] == \
        ["chip.start"]
    assert [p.net for p in promote_controls(copy.deepcopy(design), min_loads=650)] == \
        ["chip.start"]
    assert promote_controls(copy.deepcopy(design), min_loads=701) == []
    assert [p.loads for p in promote_controls(copy.deepcopy(design), min_loads=1)] == \
        [700, 600, 40]


def test_bad_input_is_refused():
    design = netlist()
    design["modules"]["DCCA"]["attributes"]["top"] = TOP
    with pytest.raises(ValueError, match="one top module"):
        promote_controls(design)
    with pytest.raises(ValueError, match="limit must be"):
        promote_controls(netlist(), limit=-1)
    once = netlist()
    promote_controls(once, min_loads=100)
    before = copy.deepcopy(once)
    with pytest.raises(ValueError, match="promoted twice"):
        promote_controls(once, min_loads=1)
    assert once == before, "a refused promotion changed the netlist"


def test_new_nets_are_numbered_above_every_bit_in_use():
    # A port bit that no cell uses is still taken: the buffers' outputs must not reuse it.
    design = netlist()
    top = design["modules"]["lpu_fpga_top"]
    top["ports"] = {"spare": {"direction": "input", "bits": [99]}}
    top["netnames"]["chip.unused"] = {"hide_name": 0, "bits": [98], "attributes": {}}
    promotions = promote_controls(design, min_loads=100)
    outputs = [top["cells"][p.buffer]["connections"]["CLKO"][0] for p in promotions]
    assert outputs == [100, 101]

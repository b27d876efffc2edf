"""sim.fpga_spread: reserved rows of logic tiles take every LUT4 site of their rows, with
constant LUTs fixed to those sites, and change nothing else in the netlist."""

import copy

import pytest

from sim.fpga_spread import LFE5U_85F_SLICES, RESERVED_PREFIX, SliceGrid, reserve_rows

TOP = "00000000000000000000000000000001"
GRID = SliceGrid(columns=(2, 3, 4), rows=(2, 3, 4, 5, 6, 8, 9))


def netlist():
    """Two LUTs; net 40 is a named net no cell uses, net 50 a port."""
    lut = {"type": "LUT4", "parameters": {"INIT": "1" * 16}, "attributes": {},
           "port_directions": {"A": "input", "Z": "output"},
           "connections": {"A": [3], "Z": [4]}}
    return {"modules": {"lpu_fpga_top": {
        "attributes": {"top": TOP},
        "ports": {"q": {"direction": "output", "bits": [50]}},
        "cells": {"a": lut, "b": {**lut, "connections": {"A": [4], "Z": [5]}}},
        "netnames": {"x": {"hide_name": 0, "bits": [3], "attributes": {}},
                     "unused": {"hide_name": 0, "bits": [40], "attributes": {}}}}}}


def test_every_site_of_the_reserved_rows_is_taken():
    design = netlist()
    taken = reserve_rows(design, GRID, 3)
    top = design["modules"]["lpu_fpga_top"]
    reserved = {name: cell for name, cell in top["cells"].items()
                if name.startswith(RESERVED_PREFIX)}
    # The grid's second row and every third after it (rows 3 and 6): 2 x 3 columns x 8 LUTs.
    assert taken == len(reserved) == 2 * 3 * 8
    sites = {cell["attributes"]["BEL"] for cell in reserved.values()}
    assert sites == {f"X{x}/Y{y}/SLICE{s}.K{k}" for x in (2, 3, 4) for y in (3, 6)
                     for s in "ABCD" for k in "01"}
    for cell in reserved.values():
        assert cell["type"] == "LUT4" and cell["parameters"]["INIT"] == "0" * 16
        assert set(cell["connections"]) == {"Z"}
    # Each drives a net of its own, numbered above every bit in use (ports and unused names).
    outputs = [cell["connections"]["Z"][0] for cell in reserved.values()]
    assert len(set(outputs)) == len(outputs) and min(outputs) > 50
    # The design's own cells are untouched.
    assert {name: top["cells"][name] for name in "ab"} == netlist()[
        "modules"]["lpu_fpga_top"]["cells"]


def test_the_part_grid_is_the_placers_capacity():
    # nextpnr-ecp5 reports 83,640 TRELLIS_COMB sites on the LFE5U-85F.
    assert LFE5U_85F_SLICES.luts == 83_640
    assert len(LFE5U_85F_SLICES.reserved_rows(3)) == 28


@pytest.mark.parametrize("period", [0, 1, 2.5, True, "3"])
def test_a_bad_period_is_refused(period):
    with pytest.raises(ValueError, match=f"period must be an integer >= 2, not {period!r}"):
        reserve_rows(netlist(), GRID, period)


def test_reserving_twice_is_refused_before_the_netlist_changes():
    design = netlist()
    reserve_rows(design, GRID, 2)
    before = copy.deepcopy(design)
    with pytest.raises(ValueError, match="reserved twice"):
        reserve_rows(design, GRID, 4)
    assert design == before

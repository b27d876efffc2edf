"""Reserve rows of an ECP5's logic tiles for routing, so that the placer spreads the design.

nextpnr's HeAP placer minimises wire length: it packs a design into as few logic tiles as it
can (on the ``fpga`` chip, 44% of the used tiles hold all 8 of their LUTs), whatever the part's
utilisation, and its ``--placer-heap-beta`` density bound did not change a single placement.
The chip's buses then ask more of a region's routing than its tiles provide: a reduced chip at
38.8% of the LFE5U-85F's logic cells, packed into 52% of its tiles, left the router stalled at
16,164 over-used wires (in its first iteration it over-used 9% of the wires it used, as on the
whole chip at 76%).

:func:`reserve_rows` rewrites a Yosys JSON netlist so that every ``period``-th row of logic
tiles is taken by constant LUTs fixed to their sites (``BEL`` attributes, which nextpnr honours
before placing anything else). Nothing else may be placed there, so the logic spreads over the
other rows and the reserved rows' routing carries its wires. The reserved LUTs drive nothing,
read nothing (no inputs, not even constants: nextpnr would add a constant driver) and cost no
routing. Rows, not scattered sites, because carry chains and LUT RAM need whole runs of slices
within a row. The same reduced chip with every third row reserved routed in 20 iterations.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from .fpga_globals import highest_bit, top_module

__all__ = ["SliceGrid", "LFE5U_85F_SLICES", "reserve_rows", "reserve_file", "RESERVED_PREFIX"]

#: Name prefix of the reserved LUTs.
RESERVED_PREFIX = "lpu_reserved"
_SLICES = "ABCD"
_LUTS = "01"


@dataclass(frozen=True)
class SliceGrid:
    """The logic tiles of an ECP5 part: nextpnr's tile columns and rows that hold four
    ``SLICE`` s (two LUT4 each)."""
    columns: tuple
    rows: tuple

    @property
    def luts(self):
        """LUT4 sites in the grid."""
        return len(self.columns) * len(self.rows) * len(_SLICES) * len(_LUTS)

    def reserved_rows(self, period):
        """The rows :func:`reserve_rows` takes: every ``period``-th, from the second (so that
        the grid's edges keep their logic next to the IO)."""
        return self.rows[1::period]


#: LFE5U-85F: 123 columns (2 .. 124) of 85 rows (2 .. 93 less the block RAM and DSP rows),
#: 10,455 tiles, 83,640 LUT4 sites (nextpnr-ecp5's ``TRELLIS_COMB`` capacity).
LFE5U_85F_SLICES = SliceGrid(
    columns=tuple(range(2, 125)),
    rows=tuple(y for y in range(2, 94) if y not in (10, 22, 34, 46, 58, 70, 82)))


def reserve_rows(netlist, grid, period):
    """Reserve every ``period``-th row of ``grid`` in ``netlist`` (a Yosys JSON netlist, as a
    dict, rewritten in place); returns the number of LUT4 sites taken."""
    if isinstance(period, bool) or not isinstance(period, int) or period < 2:
        raise ValueError(f"the reserved row period must be an integer >= 2, not {period!r}")
    top = top_module(netlist)
    cells = top["cells"]
    clash = [name for name in cells if name.startswith(RESERVED_PREFIX)]
    if clash:
        raise ValueError(f"the netlist already has a cell {clash[0]}: reserved twice?")
    bit = highest_bit(top)
    taken = 0
    for row in grid.reserved_rows(period):
        for column in grid.columns:
            for slice_ in _SLICES:
                for lut in _LUTS:
                    bit += 1
                    name = f"{RESERVED_PREFIX}_X{column}_Y{row}_{slice_}{lut}"
                    cells[name] = {
                        "hide_name": 0, "type": "LUT4",
                        "parameters": {"INIT": "0" * 16},
                        "attributes": {"BEL": f"X{column}/Y{row}/SLICE{slice_}.K{lut}"},
                        "port_directions": {"Z": "output"},
                        "connections": {"Z": [bit]},
                    }
                    top["netnames"][f"{name}.Z"] = {"hide_name": 0, "bits": [bit],
                                                    "attributes": {}}
                    taken += 1
    return taken


def reserve_file(source, destination, grid, period):
    """:func:`reserve_rows` of the netlist file ``source``, written to ``destination``."""
    netlist = json.loads(Path(source).read_text())
    taken = reserve_rows(netlist, grid, period)
    Path(destination).write_text(json.dumps(netlist))
    return taken

"""Put the widest flip-flop controls of a synthesised ECP5 netlist on global networks.

nextpnr-ecp5 promotes only clocks to the ECP5's global networks. The chip has a few control
nets that reach thousands of flip-flops: the program-start pulse clears every stream register
and unit state through their synchronous resets (``LSR``, 22,016 flip-flops on the ``fpga``
chip), and an instruction's decoded enable loads a matrix unit's weight registers (``CE``,
2,560). Through the general routing such a net is a tree spanning the die that every other net
has to route around; the router's congestion heatmap named the start pulse its most congested
net. A ``DCCA`` buffer in front of the flip-flops' ``LSR`` or ``CE`` pins moves the net onto a
global network (nextpnr routes a ``DCCA``'s output on a global and reaches those pins from the
global spines), leaving the general routing to everything else.

:func:`promote_controls` rewrites a Yosys JSON netlist (``synth_ecp5 -json``): for each chosen
net it adds a ``DCCA`` (enable tied high) driven by the net and moves the net's ``LSR`` and
``CE`` flip-flop loads to the buffer's output; every other load (LUT inputs, data pins) stays
on the original net. Logic is unchanged: the buffer only adds the global network's delay,
which the timing report includes.
"""

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FABRIC_GLOBALS", "MAX_PROMOTED", "MIN_LOADS", "CONTROL_PORTS", "Promotion",
           "promote_controls", "promote_file", "top_module", "highest_bit"]

#: Global networks of the ECP5 that may feed fabric (non-clock) pins: 8 of its 16.
FABRIC_GLOBALS = 8
#: Nets promoted at most: the fabric globals less two, one for the clock (it also feeds block
#: RAM clock pins, which nextpnr counts as fabric) and one for a second clock (a board's).
MAX_PROMOTED = FABRIC_GLOBALS - 2
#: A net reaching fewer flip-flop controls than this stays on the general routing.
MIN_LOADS = 500
#: The flip-flop pins a global may drive (besides the clock).
CONTROL_PORTS = ("LSR", "CE")
_FLIP_FLOP = "TRELLIS_FF"


@dataclass(frozen=True)
class Promotion:
    """One net moved onto a global network."""
    net: str            #: the net's shortest name in the netlist
    loads: int          #: flip-flop LSR and CE pins it drives through the buffer
    buffer: str         #: the added DCCA cell


def top_module(netlist):
    """The top module of a Yosys JSON netlist (a dict); raises ``ValueError`` unless there is
    exactly one."""
    tops = [(name, module) for name, module in netlist.get("modules", {}).items()
            if int(str(module.get("attributes", {}).get("top", "0")), 2)]
    if len(tops) != 1:
        raise ValueError(f"a synthesised netlist has one top module; found "
                         f"{[name for name, _ in tops] or 'none'}")
    return tops[0][1]


def highest_bit(top):
    """The highest net number of module ``top`` in use: on a cell, a port or a named net
    (even one no cell uses). New nets are numbered above it."""
    highest = 1
    for cell in top["cells"].values():
        for bits in cell["connections"].values():
            highest = max([highest, *(bit for bit in bits if isinstance(bit, int))])
    for entry in (*top["netnames"].values(), *top.get("ports", {}).values()):
        highest = max([highest, *(bit for bit in entry["bits"] if isinstance(bit, int))])
    return highest


def promote_controls(netlist, *, limit=MAX_PROMOTED, min_loads=MIN_LOADS):
    """Move the ``limit`` nets with the most flip-flop ``LSR``/``CE`` loads (at least
    ``min_loads``) onto global networks, rewriting ``netlist`` (a Yosys JSON netlist, as a
    dict) in place. Returns the :class:`Promotion` list, widest first."""
    if limit < 0 or min_loads < 1:
        raise ValueError(f"limit must be >= 0 and min_loads >= 1, not {limit} and {min_loads}")
    top = top_module(netlist)
    cells = top["cells"]
    loads = Counter()
    for cell in cells.values():
        if cell["type"] == _FLIP_FLOP:
            for port in CONTROL_PORTS:
                for bit in cell["connections"].get(port, ()):
                    if isinstance(bit, int):
                        loads[bit] += 1
    chosen = [(bit, count) for bit, count in loads.most_common(limit) if count >= min_loads]
    buffers = [f"lpu_global_{i}" for i in range(len(chosen))]
    clash = [buffer for buffer in buffers if buffer in cells]
    if clash:
        raise ValueError(f"the netlist already has a cell {clash[0]}: promoted twice?")

    names = {}
    for name, entry in (*top["netnames"].items(), *top.get("ports", {}).items()):
        for bit in entry["bits"]:
            if isinstance(bit, int) and (bit not in names or len(name) < len(names[bit])):
                names[bit] = name
    highest = highest_bit(top)
    moved = {bit: highest + 1 + i for i, (bit, _) in enumerate(chosen)}
    for cell in cells.values():
        if cell["type"] == _FLIP_FLOP:
            for port in CONTROL_PORTS:
                bits = cell["connections"].get(port)
                if bits and bits[0] in moved:
                    cell["connections"][port] = [moved[bits[0]]]

    promotions = []
    for buffer, (bit, count) in zip(buffers, chosen):
        cells[buffer] = {
            "hide_name": 0, "type": "DCCA", "parameters": {}, "attributes": {},
            "port_directions": {"CLKI": "input", "CE": "input", "CLKO": "output"},
            "connections": {"CLKI": [bit], "CE": ["1"], "CLKO": [moved[bit]]},
        }
        name = names.get(bit, f"bit {bit}")
        top["netnames"][f"{buffer}.CLKO"] = {"hide_name": 0, "bits": [moved[bit]],
                                             "attributes": {}}
        promotions.append(Promotion(name, count, buffer))
    return promotions


def promote_file(source, destination, **options):
    """:func:`promote_controls` of the netlist file ``source``, written to ``destination``."""
    netlist = json.loads(Path(source).read_text())
    promotions = promote_controls(netlist, **options)
    Path(destination).write_text(json.dumps(netlist))
    return promotions

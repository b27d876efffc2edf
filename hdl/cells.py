"""Shared cells: components exported once as a Verilog module and instantiated many times.

Amaranth builds its netlist bit by bit and writes one Verilog module per instance, so a chip
with 88 MEM slices, 200 queues and 95 stream positions would be elaborated (and compiled by
Verilator) 88, 200 and 95 times over. When exporting, the chip instead places each repeated unit
through a :class:`CellLibrary`: the first placement converts the unit to Verilog under a fixed
module name, every placement instantiates that module. For Amaranth's own simulator there is no
library and every unit is an ordinary submodule; both paths elaborate the same components.

Wide buses between cells are passed as ``bind``: the same signal becomes the port of both
instances, so the top level adds no copy of it (the stream fabric of the ``groq`` preset is
15 million bits wide in total).
"""

import re

from amaranth import *
from amaranth.back import verilog
from amaranth.lib.wiring import In

__all__ = ["CellLibrary", "place"]


def _port_name(path):
    return "__".join(str(part) for part in path)


class CellLibrary:
    """Verilog modules of the shared cells of one export, in first-use order."""

    def __init__(self):
        self._cells = {}

    def instantiate(self, m, name, module, build, bind):
        """Add an instance ``name`` of ``module`` to ``m``; ``build()`` makes the component
        the first time ``module`` is used. Ports named in ``bind`` (``{"a__b": signal}``) use
        the given signal; the rest get fresh signals. Returns an interface object with the
        component's signature (its bound members are not connected)."""
        if module not in self._cells:
            component = build()
            self._cells[module] = (component.signature, *self.convert(module, component))
        signature, _, clocked, has_reset = self._cells[module]
        proxy = signature.create(path=(name,))
        ports = {}
        for path, member, value in signature.flatten(proxy):
            port = _port_name(path)
            value = bind.get(port, value)
            ports[("i_" if member.flow is In else "o_") + port] = Value.cast(value)
        if clocked:
            ports["i_clk"] = ClockSignal()
        if has_reset:
            ports["i_rst"] = ResetSignal()
        m.submodules[name] = Instance(module, **ports)
        return proxy

    def convert(self, module, component):
        """The Verilog module ``module`` of ``component``: ``(text, clocked, has_reset)``, the
        last two telling whether it has the ``clk`` and ``rst`` inputs of its domain."""
        text = verilog.convert(component, name=module, emit_src=False,
                               strip_internal_attrs=True)
        return (text, re.search(r"^\s*input clk;", text, re.M) is not None,
                re.search(r"^\s*input rst;", text, re.M) is not None)

    def verilog(self):
        """The Verilog text of every cell module."""
        return [text for _, text, _, _ in self._cells.values()]


def place(m, name, library, module, build, bind=None):
    """Add the component made by ``build()`` to ``m`` as ``name``: as an ordinary submodule
    when ``library`` is ``None``, else as an instance of the shared cell ``module``.

    ``bind`` maps port names (signature paths joined by ``__``) to signals of the parent that
    the port is wired to directly. Returns the component, or its stand-in interface."""
    bind = bind or {}
    if library is not None:
        return library.instantiate(m, name, module, build, bind)
    component = build()
    m.submodules[name] = component
    members = {_port_name(path): (member, value)
               for path, member, value in component.signature.flatten(component)}
    for port, signal in bind.items():
        member, value = members[port]
        if member.flow is In:
            m.d.comb += value.eq(signal)
        else:
            m.d.comb += signal.eq(value)
    return component

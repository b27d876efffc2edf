"""hdl.wide_nets: a component with more than 65,536 input bits converts, and its logic is kept."""

import re

from amaranth import *
from amaranth.back import verilog
from amaranth.hdl import _nir
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

import hdl  # noqa: F401  (installs the wide net encoding)
from hdl.wide_nets import BIT_FIELD


class _Wide(wiring.Component):
    a: In(40000)
    b: In(40000)
    y: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a[-8:] ^ self.b[-8:])
        return m


def test_wide_component_converts():
    text = verilog.convert(_Wide(), name="wide", emit_src=False)
    assert re.search(r"input \[39999:0\] a;", text)
    assert re.search(r"input \[39999:0\] b;", text)
    assert "assign y = a[39999:39992] ^ b[39999:39992];" in text


def test_net_encoding_round_trips_beyond_16_bits():
    net = _nir.Net.from_cell(3, 70000)
    assert (net.cell, net.bit) == (3, 70000)
    assert _nir.Net.from_cell(3, (1 << BIT_FIELD) - 1) < _nir.Net.from_cell(4, 0)

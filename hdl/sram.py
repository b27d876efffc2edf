"""Simple dual-port SRAM: one synchronous read port and one write port.

Two implementations with one contract:

- ``blackbox=False``: an Amaranth :class:`~amaranth.lib.memory.Memory`, for Amaranth's own
  simulator.
- ``blackbox=True``: an instance of the Verilog module :data:`VERILOG` (``lpu_sram``), which
  the Verilog export appends to the generated file. Amaranth emits every memory's full initial
  image into the Verilog (8192 lines per 8192-word SRAM, a 230 MB file for the ``groq``
  preset); this module has none, and Yosys and Verilator infer the same RAM from it.

Contract: ``rdata`` in cycle t+1 is the word at ``raddr`` in cycle t; a write in cycle t (``we``)
is visible to reads issued from cycle t+1 on (a read of the same address in cycle t returns the
old word), or, for a ``transparent`` SRAM, from cycle t on. Contents are undefined until
written. On an FPGA whose block RAM leaves a same-cycle collision of its two ports undefined
(ECP5), Yosys adds the logic that keeps either promise; asking for the one a unit needs spares
the unit its own.
"""

from amaranth import *
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .parameters import check_flag, check_integer

__all__ = ["Sram", "VERILOG", "MODULE_NAME"]

MODULE_NAME = "lpu_sram"

VERILOG = f"""\
// Simple dual-port SRAM: synchronous read (old data on a same-cycle write), one write port.
// TRANSPARENT = 1: a same-cycle read of the address written returns the new word instead.
module {MODULE_NAME} #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter ABITS = 1,
    parameter TRANSPARENT = 0
) (
    input  wire             clk,
    input  wire [ABITS-1:0] raddr,
    output reg  [WIDTH-1:0] rdata,
    input  wire             we,
    input  wire [ABITS-1:0] waddr,
    input  wire [WIDTH-1:0] wdata
);
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    always @(posedge clk) begin
        if (we)
            mem[waddr] <= wdata;
        if (TRANSPARENT != 0 && we && waddr == raddr)
            rdata <= wdata;
        else
            rdata <= mem[raddr];
    end
endmodule
"""


class Sram(wiring.Component):
    """Simple dual-port SRAM of ``depth`` words of ``width`` bits.

    Parameters
    ----------
    width : int
        Bits per word.
    depth : int
        Words; at least 2.
    blackbox : bool
        Instantiate ``lpu_sram`` instead of an Amaranth memory (see the module docstring).
    transparent : bool
        A read of the address written in the same cycle returns the new word (by default, the
        old one).

    Members
    -------
    raddr : In(ceil_log2(depth))
    rdata : Out(width)
        The word read in the previous cycle.
    we, waddr, wdata : In
        Write enable, address and data.
    """

    def __init__(self, width, depth, *, blackbox, transparent=False):
        self.width = check_integer("SRAM width", width, 1)
        self.depth = check_integer("SRAM depth", depth, 2)
        self.blackbox = check_flag("SRAM blackbox", blackbox)
        self.transparent = check_flag("SRAM transparent", transparent)
        abits = ceil_log2(depth)
        super().__init__({
            "raddr": In(abits),
            "rdata": Out(width),
            "we":    In(1),
            "waddr": In(abits),
            "wdata": In(width),
        })

    def elaborate(self, platform):
        m = Module()
        if self.blackbox:
            m.submodules.ram = Instance(
                MODULE_NAME,
                p_WIDTH=self.width, p_DEPTH=self.depth, p_ABITS=len(self.raddr),
                p_TRANSPARENT=int(self.transparent),
                i_clk=ClockSignal(),
                i_raddr=self.raddr, o_rdata=self.rdata,
                i_we=self.we, i_waddr=self.waddr, i_wdata=self.wdata)
        else:
            m.submodules.ram = ram = memory.Memory(shape=self.width, depth=self.depth, init=[])
            write = ram.write_port()
            read = ram.read_port(transparent_for=[write] if self.transparent else ())
            m.d.comb += [
                read.addr.eq(self.raddr),
                self.rdata.eq(read.data),
                write.addr.eq(self.waddr),
                write.data.eq(self.wdata),
                write.en.eq(self.we),
            ]
        return m

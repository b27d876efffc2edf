"""Simple dual-port SRAM: one synchronous read port and one write port.

Two implementations with one contract:

- ``blackbox=False``: an Amaranth :class:`~amaranth.lib.memory.Memory`, for Amaranth's own
  simulator.
- ``blackbox=True``: an instance of a Verilog module of :data:`VERILOG` (``lpu_sram``, or
  ``lpu_sram_undefined_collision``), which the Verilog export appends to the generated file.
  Amaranth emits every memory's full initial image into the Verilog (8192 lines per 8192-word
  SRAM, a 230 MB file for the ``groq`` preset); these modules have none, and Yosys and
  Verilator infer the same RAM from them.

Contract: ``rdata`` in cycle t+1 is the word at ``raddr`` in cycle t; a write in cycle t (``we``)
is visible to reads issued from cycle t+1 on (a read of the same address in cycle t returns the
old word), or, for a ``transparent`` SRAM, from cycle t on. Contents are undefined until
written. On an FPGA whose block RAM leaves a same-cycle collision of its two ports undefined
(ECP5), Yosys adds the logic that keeps either promise; asking for the one a unit needs spares
the unit its own. A unit that never uses the word read in a write's cycle from the address
written asks for an SRAM with an ``undefined_collision``: Yosys then adds nothing (the memory
is marked ``no_rw_check``), and simulation returns the complement of the old word, so that a
unit breaking its promise fails its comparisons instead of passing by luck.
"""

from amaranth import *
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .parameters import check_flag, check_integer

__all__ = ["Sram", "VERILOG", "MODULES", "MODULE_NAME", "UNDEFINED_COLLISION_MODULE"]

MODULE_NAME = "lpu_sram"
UNDEFINED_COLLISION_MODULE = "lpu_sram_undefined_collision"

#: Both modules' ports.
_PORTS = """\
    input  wire             clk,
    input  wire [ABITS-1:0] raddr,
    output reg  [WIDTH-1:0] rdata,
    input  wire             we,
    input  wire [ABITS-1:0] waddr,
    input  wire [WIDTH-1:0] wdata"""

#: The Verilog of each hand-written module, by name.
MODULES = {}
MODULES[MODULE_NAME] = f"""\
// Simple dual-port SRAM: synchronous read (old data on a same-cycle write), one write port.
// TRANSPARENT = 1: a same-cycle read of the address written returns the new word instead.
module {MODULE_NAME} #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter ABITS = 1,
    parameter TRANSPARENT = 0
) (
{_PORTS}
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

MODULES[UNDEFINED_COLLISION_MODULE] = f"""\
// Simple dual-port SRAM like lpu_sram, but a same-cycle read of the address written returns an
// undefined word, which the unit never uses: synthesis adds no collision logic (no_rw_check),
// and simulation returns the old word's complement.
module {UNDEFINED_COLLISION_MODULE} #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter ABITS = 1
) (
{_PORTS}
);
    (* no_rw_check *) reg [WIDTH-1:0] mem [0:DEPTH-1];
    always @(posedge clk) begin
        if (we)
            mem[waddr] <= wdata;
`ifndef SYNTHESIS
        if (we && waddr == raddr)
            rdata <= ~mem[raddr];
        else
`endif
            rdata <= mem[raddr];
    end
endmodule
"""

#: Both modules, as the Verilog export appends them.
VERILOG = "\n".join(MODULES.values())


class Sram(wiring.Component):
    """Simple dual-port SRAM of ``depth`` words of ``width`` bits.

    Parameters
    ----------
    width : int
        Bits per word.
    depth : int
        Words; at least 2.
    blackbox : bool
        Instantiate a hand-written Verilog module (``lpu_sram``, or
        ``lpu_sram_undefined_collision``) instead of an Amaranth memory (see the module
        docstring).
    transparent : bool
        A read of the address written in the same cycle returns the new word (by default, the
        old one).
    undefined_collision : bool
        It returns an undefined word instead, which the unit promises never to use (see the
        module docstring); not with ``transparent``.

    Members
    -------
    raddr : In(ceil_log2(depth))
    rdata : Out(width)
        The word read in the previous cycle.
    we, waddr, wdata : In
        Write enable, address and data.
    """

    def __init__(self, width, depth, *, blackbox, transparent=False, undefined_collision=False):
        self.width = check_integer("SRAM width", width, 1)
        self.depth = check_integer("SRAM depth", depth, 2)
        self.blackbox = check_flag("SRAM blackbox", blackbox)
        self.transparent = check_flag("SRAM transparent", transparent)
        self.undefined_collision = check_flag("SRAM undefined_collision", undefined_collision)
        if transparent and undefined_collision:
            raise ValueError("An SRAM is transparent or has an undefined collision, not both")
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
            if self.undefined_collision:
                module, parameters = UNDEFINED_COLLISION_MODULE, {}
            else:
                module, parameters = MODULE_NAME, {"p_TRANSPARENT": int(self.transparent)}
            m.submodules.ram = Instance(
                module, **parameters,
                p_WIDTH=self.width, p_DEPTH=self.depth, p_ABITS=len(self.raddr),
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
            if self.undefined_collision:
                collided = Signal()
                m.d.sync += collided.eq(self.we & (self.waddr == self.raddr))
                m.d.comb += self.rdata.eq(Mux(collided, ~read.data, read.data))
        return m

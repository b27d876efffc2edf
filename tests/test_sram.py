"""The SRAM contract of :class:`hdl.sram.Sram` in Amaranth's simulator: a read issued in the
cycle of a write to the same address returns the old word, or the new one when the SRAM is
``transparent``, or the old word's complement (standing for an undefined word) when it has an
``undefined_collision``; from the next cycle on, every read returns the new word. (The Verilog
``lpu_sram`` keeps the same contract under Verilator: the MEM slice and matrix unit testbenches
of ``tests/test_rtl_units.py`` run on it, one of each kind.)"""

import pytest
from amaranth.sim import Simulator

from hdl.sram import Sram


def reads(transparent, cycles, *, undefined_collision=False):
    """``rdata`` one cycle after each ``(raddr, we, waddr, wdata)`` of ``cycles``."""
    dut = Sram(8, 4, blackbox=False, transparent=transparent,
               undefined_collision=undefined_collision)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        for raddr, we, waddr, wdata in cycles:
            ctx.set(dut.raddr, raddr)
            ctx.set(dut.we, we)
            ctx.set(dut.waddr, waddr)
            ctx.set(dut.wdata, wdata)
            await ctx.tick()
            seen.append(ctx.get(dut.rdata))

    sim.add_testbench(bench)
    sim.run()
    return seen


#: Write 0x11 to address 2, then 0x22 to it while reading it, then read it; the same on
#: address 3 with a read of another address in the write cycle.
CYCLES = [(0, 1, 2, 0x11), (2, 1, 2, 0x22), (2, 0, 0, 0),
          (0, 1, 3, 0x33), (1, 1, 3, 0x44), (3, 0, 0, 0)]


@pytest.mark.parametrize("transparent, expected", [
    (False, [0x11, 0x22, 0x44]),
    (True, [0x22, 0x22, 0x44]),
])
def test_same_cycle_read_sees_the_old_or_the_new_word(transparent, expected):
    seen = reads(transparent, CYCLES)
    assert [seen[1], seen[2], seen[5]] == expected


def test_an_undefined_collision_reads_as_the_complement_and_nothing_else_changes():
    seen = reads(False, CYCLES, undefined_collision=True)
    assert [seen[1], seen[2], seen[4], seen[5]] == [0x11 ^ 0xFF, 0x22, 0x00, 0x44]

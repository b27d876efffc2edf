"""cocotb testbench of the link's block-level primitives
(:class:`~verification.link_block_harness.LinkBlockHarness`): scrambler, gearboxes,
descrambler and CRC-32 network, checked cycle by cycle against the bit-serial reference models
by :class:`~verification.link_block_harness.LoopbackBench`.

Environment: ``LINK_WIDTH`` (the harness's word width), ``LINK_BLOCKS`` (aligned blocks per
run), ``LINK_DELAYS`` (comma-separated channel delays in line bits, one run after a reset
each), ``LINK_SEED``; ``LPU_FAULT=1`` gives the reference scrambler a wrong tap.
"""

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from isa.timing import SIMULATION_CLOCK_NS
from .link_block_harness import LoopbackBench
from .scoreboard import FAULT

WIDTH = int(os.environ.get("LINK_WIDTH", "32"))
BLOCKS = int(os.environ.get("LINK_BLOCKS", "1000"))
DELAYS = [int(delay) for delay in os.environ.get("LINK_DELAYS", "0").split(",")]
SEED = int(os.environ.get("LINK_SEED", "1"))

INPUTS = ("header", "payload", "rx_word", "slip", "crc_in", "crc_data")
OUTPUTS = ("ready", "word", "rx_valid", "rx_block", "descrambled", "crc_out")


async def run_bench(dut, bench, reset_cycles=2):
    """Reset the harness, then run ``bench`` until it is done. Inputs change and outputs are
    read at falling edges, half a cycle away from the registers' updates."""
    for name in INPUTS:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    for _ in range(reset_cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    ports = {name: getattr(dut, name) for name in INPUTS + OUTPUTS}
    while not bench.done:
        outputs = {name: int(ports[name].value) for name in OUTPUTS}
        for name, value in bench.cycle(outputs).items():
            ports[name].value = value
        await FallingEdge(dut.clk)


@cocotb.test()
async def loopback_matches_the_references(dut):
    """For each delay: random blocks through scrambler and transmit gearbox, a channel of
    that many bits, a slip sweep over all 66 boundary positions on the receive gearbox, then
    ``LINK_BLOCKS`` aligned blocks through the descrambler; random CRC-32 steps alongside."""
    Clock(dut.clk, SIMULATION_CLOCK_NS, unit="ns").start()
    for run, delay in enumerate(DELAYS):
        bench = LoopbackBench(WIDTH, delay, BLOCKS, SEED * len(DELAYS) + run, fault=FAULT)
        await run_bench(dut, bench)
        bench.finish(delay)

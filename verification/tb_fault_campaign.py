"""cocotb testbench of the ECC fault campaign (:mod:`verification.fault_campaign`): the chip is
reset once, each program loaded once, and per injection the words the program overwrites are
reloaded, the bits are flipped, the program runs, its registers and outputs are read, and the
bits are flipped back.

Environment: ``LPU_CAMPAIGN`` (input pickle: ``{"config", "programs", "restore",
"injections"}``) and
``LPU_RESULTS`` (output pickle: one :class:`~isa.host.RunOutcome` per injection, the ECC
registers read after the outputs); optionally ``LPU_PROGRESS``, a file that gets a line every
100 injections.
"""

import os
import pickle

import cocotb
from cocotb.triggers import ClockCycles

from .fault_campaign import by_program
from .faults import flip_rtl
from .host import HostDriver

#: Cycles after the last fast-port write by which it is stored.
SETTLE = 3


@cocotb.test()
async def run_campaign(dut):
    with open(os.environ["LPU_CAMPAIGN"], "rb") as handle:
        bundle = pickle.load(handle)
    config, programs, injections = bundle["config"], bundle["programs"], bundle["injections"]
    restore = bundle["restore"]
    host = HostDriver(dut, config)
    await host.reset()
    results = [None] * len(injections)
    progress = os.environ.get("LPU_PROGRESS")
    done = 0
    for number, positions in by_program(injections).items():
        program = programs[number]
        await host.load(program)
        await ClockCycles(dut.clk, SETTLE)
        budget = 4 * (program.predicted_cycles or 100_000) + 1000
        for position in positions:
            injection = injections[position]
            for index, address, words in restore[number]:
                await host.load_sram(index, address, words)
            await ClockCycles(dut.clk, SETTLE)
            flip_rtl(dut, config, injection.slice, injection.address, injection.bits)
            outcome = await host.run(timeout_cycles=budget)
            outcome.outputs = {region.name: await host.read_sram(region.slice, region.address,
                                                                 region.count)
                               for region in program.outputs}
            outcome.ecc = await host.ecc_report()
            flip_rtl(dut, config, injection.slice, injection.address, injection.bits)
            results[position] = outcome
            done += 1
            if progress and done % 100 == 0:
                with open(progress, "a") as handle:
                    handle.write(f"RTL: {done:,} of {len(injections):,} injections\n")
    with open(os.environ["LPU_RESULTS"], "wb") as handle:
        pickle.dump(results, handle)

"""cocotb testbench: run a batch of compiled programs on the chip and record what the host
reads back. The oracle comparison happens in the pytest process (tests/test_system.py), which
also runs the golden simulator on the same programs.

Environment: ``LPU_PROGRAMS`` (input pickle: ``{"config", "programs"}``) and ``LPU_RESULTS``
(output pickle: one :class:`~isa.host.RunOutcome` per program); optionally ``LPU_PROGRESS``, a
file that gets a line per program run (:func:`verification.system.progress_file` shows it).
"""

import os
import pickle

import cocotb

from isa.opcodes import ControlOp
from .host import HostDriver

HALT = ControlOp.HALT.value


@cocotb.test()
async def run_programs(dut):
    with open(os.environ["LPU_PROGRAMS"], "rb") as handle:
        bundle = pickle.load(handle)
    host = HostDriver(dut, bundle["config"])
    await host.reset()
    results = []
    progress = os.environ.get("LPU_PROGRESS")
    cycles = 0
    halted = set()          # queues that hold a HALT at address 0 (unknown at power-up)
    for program in bundle["programs"]:
        # A queue that holds a HALT first already halts at once: it needs no load.
        images = program.instruction_images()
        await host.load(program, skip={n for n, words in images.items()
                                       if words == [HALT] and n in halted})
        halted = {n for n, words in images.items() if words[0] == HALT}
        budget = 4 * (program.predicted_cycles or 100_000) + 1000
        outcome = await host.run(timeout_cycles=budget)
        outcome.outputs = {region.name: await host.read_sram(region.slice, region.address,
                                                             region.count)
                           for region in program.outputs}
        outcome.ecc = await host.ecc_report()
        results.append(outcome)
        cycles += outcome.cycles
        if progress:
            with open(progress, "a") as handle:
                handle.write(f"RTL: {len(results)} of {len(bundle['programs'])} programs, "
                             f"{cycles:,} cycles\n")
    with open(os.environ["LPU_RESULTS"], "wb") as handle:
        pickle.dump(results, handle)

"""cocotb testbench: run a batch of compiled programs on the chip and record what the host
reads back. The oracle comparison happens in the pytest process (tests/test_system.py), which
also runs the golden simulator on the same programs.

Environment: ``LPU_PROGRAMS`` (input pickle: ``{"config", "programs"}``) and ``LPU_RESULTS``
(output pickle: one dict per program).
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
    config = bundle["config"]
    host = HostDriver(dut, config)
    await host.reset()
    results = []
    loaded = set(range(len(host.plan.queues)))   # unknown contents at power-up
    for program in bundle["programs"]:
        # Every queue ends in HALT, whatever an earlier program left after its last word (the
        # golden simulator reads past the end of a program as HALT).
        depth = config.queue_depth
        for number in range(len(host.plan.queues)):
            words = list(program.queues.get(number, []))
            if len(words) < depth:
                words.append(HALT)
            if words != [HALT] or number in loaded:
                await host.load_program(number, words)
            if words == [HALT]:
                loaded.discard(number)
            else:
                loaded.add(number)
        for index, address, words in program.sram:
            await host.load_sram(index, address, words)
        budget = 4 * (program.predicted_cycles or 100_000) + 1000
        report = await host.run(timeout_cycles=budget)
        outputs = {region.name: await host.read_sram(region.slice, region.address, region.count)
                   for region in program.outputs}
        results.append({"cycles": report.cycles, "errors": int(report.errors),
                        "error_queue": report.error_queue, "error_cycle": report.error_cycle,
                        "outputs": outputs, "wall_seconds": report.wall_seconds})
    with open(os.environ["LPU_RESULTS"], "wb") as handle:
        pickle.dump(results, handle)

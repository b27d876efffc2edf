"""Running a program on the chip in Amaranth's own simulator (no Verilator), for ``make bench``.

The chip is elaborated with Amaranth memories (no shared cells, no Verilog SRAM module). SRAM
and instruction memories are loaded directly into the simulator's memory state (each
instruction with the predecoded bits the host interface would add, worked out by the same
logic, :mod:`hdl.predecode`, simulated), each queue's instruction 0 is written once more
through the fast port (so that the queue keeps its copy for the start cycle), and the program
starts through the AXI4-Lite CONTROL register, as on the RTL.
"""

import time

from amaranth import Module, Signal
from amaranth.hdl import Fragment
from amaranth.hdl._mem import MemoryInstance
from amaranth.sim import Simulator

from hdl.chip import Chip, RESET_STAGES
from hdl.predecode import predecode
from isa.formats import WORD_BITS
from isa.geometry import HostSpace, floorplan
from isa.host import Control, Reg
from isa.timing import SIMULATION_CLOCK_NS

__all__ = ["AmaranthRun", "run_on_amaranth"]


class AmaranthRun:
    """The outcome: cycles the program ran (or was allowed to run), wall time, finished?"""

    def __init__(self, cycles, seconds, finished, build_seconds):
        self.cycles = cycles
        self.seconds = seconds
        self.finished = finished
        self.build_seconds = build_seconds

    @property
    def cycles_per_second(self):
        return self.cycles / self.seconds if self.seconds else 0.0


def _memories(fragment, path=()):
    """``{path: MemoryData}`` of every memory in an elaborated fragment tree."""
    found = {}
    if isinstance(fragment, MemoryInstance):
        found[path] = fragment._data
    for child, name, _ in getattr(fragment, "subfragments", []):
        found.update(_memories(child, path + (str(name),)))
    return found


def stored_words(words):
    """The instruction memory's words for instructions ``words``: each followed by its
    :func:`~hdl.predecode.predecode` bits, as the host interface writes them (the logic itself,
    run on Amaranth's simulator)."""
    m = Module()
    word = Signal(WORD_BITS)
    bits = predecode(m, word).as_value()
    stored = []

    async def evaluate(ctx):
        for value in words:
            ctx.set(word, value)
            stored.append(value | ctx.get(bits) << WORD_BITS)

    sim = Simulator(m)
    sim.add_testbench(evaluate)
    sim.run()
    return stored


def run_on_amaranth(program, *, max_cycles):
    """Run ``program`` (a :class:`~compiler.program.Program`) for at most ``max_cycles``."""
    config = program.config
    plan = floorplan(config)
    start = time.monotonic()
    chip = Chip(config)
    fragment = Fragment.get(chip, None)
    memories = _memories(fragment)

    def memory(*names):
        matches = [data for path, data in memories.items()
                   if all(any(name == part for part in path) for name in names)]
        if len(matches) != 1:
            raise RuntimeError(f"expected one memory under {names}, found {len(matches)}")
        return matches[0]

    sram = [memory(unit.name, "sram") for unit in plan.mem_units]
    imem = [memory(f"q{q.number}_{q.name.replace('.', '_')}", "imem") for q in plan.queues]
    sim = Simulator(fragment)
    # The chip drives its clock domain from its `clk` input: toggle that input.
    half_period = SIMULATION_CLOCK_NS * 1e-9 / 2

    async def clock(ctx):
        while True:
            ctx.set(chip.clk, 1)
            await ctx.delay(half_period)
            ctx.set(chip.clk, 0)
            await ctx.delay(half_period)

    sim.add_process(clock)
    build_seconds = time.monotonic() - start
    outcome = {}

    async def bench(ctx):
        for number, words in program.queues.items():
            for address, word in enumerate(stored_words(words)):
                ctx.set(imem[number][address], word)
        for index, address, words in program.sram:
            for offset, row in enumerate(words):
                ctx.set(sram[index][address + offset], int.from_bytes(bytes(row), "little"))
        # Reset: wait in time, not in ticks (a tick of a domain in reset raises).
        ctx.set(chip.rst, 1)
        await ctx.delay(4 * half_period)
        ctx.set(chip.rst, 0)
        await ctx.delay((RESET_STAGES + 2) * 2 * half_period)
        # Each queue's instruction 0 through the fast port (one write per cycle).
        xfer = chip.xfer
        for number, words in program.queues.items():
            if words:
                for name, value in (("valid", 1), ("write", 1), ("space", HostSpace.IMEM),
                                    ("index", number), ("addr", 0), ("wdata", words[0])):
                    ctx.set(getattr(xfer, name), value)
                await ctx.tick()
        ctx.set(xfer.valid, 0)
        await ctx.tick().repeat(2)
        # START through AXI4-Lite, as a host does.
        axi = chip.axi
        ctx.set(axi.awaddr, int(Reg.CONTROL))
        ctx.set(axi.wdata, int(Control.START))
        ctx.set(axi.wstrb, 0xF)
        ctx.set(axi.awvalid, 1)
        ctx.set(axi.wvalid, 1)
        ctx.set(axi.bready, 1)
        await ctx.tick().until(axi.awready)
        ctx.set(axi.awvalid, 0)
        ctx.set(axi.wvalid, 0)
        await ctx.tick().until(chip.running)
        began = time.monotonic()
        cycles = 0
        while cycles < max_cycles and ctx.get(chip.running):
            await ctx.tick()
            cycles += 1
        outcome.update(cycles=cycles, seconds=time.monotonic() - began,
                       finished=not ctx.get(chip.running))

    sim.add_testbench(bench)
    sim.run()
    return AmaranthRun(outcome["cycles"], outcome["seconds"], outcome["finished"],
                       build_seconds)

"""The folded VXM's constant registers in LUT RAM (hdl.constants.ConstantFile) in Amaranth's
simulator against a dictionary: random chunk writes from every port (never two to one chunk of
one register in a cycle, which the VXM rules out), random chunk reads, and clears.

Each simulation records what the file returned; the tests compare those observations with the
model, so a deliberately wrong model can be shown to be caught without simulating again."""

import random

import pytest
from amaranth.sim import Simulator

from golden.vector import INT32_MAX, INT32_MIN
from hdl.constants import ConstantFile

CYCLES = 300
#: (registers, chunks, width, ports) of the simulated files: the `fpga` preset's (one ALU, so
#: one port and no table of writers), with two ports, and wider chunks with three ports.
FILES = [(8, 16, 1, 1), (8, 16, 1, 2), (4, 4, 2, 3)]


def stimulus(registers, chunks, width, ports, seed):
    """Per cycle: ``(clear, writes, reads)``, ``writes`` a list of ``(index, chunk, data)`` or
    None per port, ``reads`` a chunk per port."""
    rng = random.Random(seed)
    # A lone port writes every cycle: as often as two ports writing every other cycle each.
    rate = 1.0 if ports == 1 else 0.5
    cycles = []
    for cycle in range(CYCLES):
        taken, writes = set(), []
        for _ in range(ports):
            target = (rng.randrange(registers), rng.randrange(chunks))
            if rng.random() < rate and target not in taken:
                taken.add(target)
                writes.append((*target, [rng.randrange(INT32_MIN, INT32_MAX + 1)
                                         for _ in range(width)]))
            else:
                writes.append(None)
        reads = [rng.randrange(chunks) for _ in range(ports)]
        cycles.append((cycle % 97 == 60, writes, reads))
    return cycles


def simulate(registers, chunks, width, ports, cycles):
    """What each port read in each cycle: ``[[chunk of register k for k ...] per port]``."""
    dut = ConstantFile(registers, chunks, width, ports)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        for clear, writes, reads in cycles:
            ctx.set(dut.clear, clear)
            for port, write in enumerate(writes):
                ctx.set(dut.write[port].en, write is not None)
                if write is not None:
                    index, chunk, data = write
                    ctx.set(dut.write[port].index, index)
                    ctx.set(dut.write[port].chunk, chunk)
                    ctx.set(dut.write[port].data, data)
            for port, chunk in enumerate(reads):
                ctx.set(dut.read_chunk[port], chunk)
            seen.append([[list(ctx.get(dut.value[port][k])) for k in range(registers)]
                         for port in range(ports)])
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return seen


def mismatches(registers, width, cycles, seen, *, clears=True):
    """(cycle, port, register) whose read differs from the model; ``clears=False`` is a wrong
    model that ignores clear."""
    held = {}
    wrong = []
    for cycle, ((clear, writes, reads), got) in enumerate(zip(cycles, seen)):
        for port, chunk in enumerate(reads):
            for k in range(registers):
                if got[port][k] != held.get((k, chunk), [0] * width):
                    wrong.append((cycle, port, k))
        for write in writes:
            if write is not None:
                index, chunk, data = write
                held[(index, chunk)] = data
        if clear and clears:
            held = {}
    return wrong


@pytest.fixture(scope="module", params=FILES, ids=lambda f: "x".join(map(str, f)))
def run(request):
    registers, chunks, width, ports = request.param
    cycles = stimulus(registers, chunks, width, ports, seed=registers + ports)
    return registers, width, cycles, simulate(registers, chunks, width, ports, cycles)


def test_reads_match_the_model(run):
    registers, width, cycles, seen = run
    wrong = mismatches(registers, width, cycles, seen)
    assert not wrong, f"{len(wrong)} reads differ, first (cycle, port, register): {wrong[:5]}"


def test_reads_saw_written_values(run):
    # The comparison is not vacuous: many reads return a value some port wrote (the clears
    # every 97 cycles leave about half the chunks of the larger file unwritten).
    registers, width, cycles, seen = run
    nonzero = sum(any(lanes) for ports in seen[CYCLES // 2:] for values in ports
                  for lanes in values)
    assert nonzero > 0.25 * len(seen[0]) * registers * (CYCLES - CYCLES // 2)


def test_a_model_without_clear_is_caught(run):
    registers, width, cycles, seen = run
    assert mismatches(registers, width, cycles, seen, clears=False)

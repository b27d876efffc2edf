"""The banked VXM lookup table (hdl.table.LookupTable) in Amaranth's simulator against
golden.vector.lut_write: random LUTWs at every base and random reads, banked for lane counts
that fill the banks (16, 32) or leave some bank slots without a lane (48 lanes, 64 banks), and
as the one-memory register file (32 lanes, and 144, where banks would hold one entry); and as
a folded ALU's table, which writes and reads ``lanes / vxm_fold`` entries per cycle (1 and 4
of 16 banked, 2 of 32 as one memory).

Each simulation records what the table returned; the tests compare those observations with
the oracle, so a deliberately wrong oracle can be shown to be caught without simulating again.
"""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.vector import INT32_MAX, INT32_MIN, lut_write
from hdl.table import LookupTable, is_banked, table_banks
from isa.config import LUT_ENTRIES

CYCLES = 120
#: (lanes, banked, entries written and read per cycle: None for every lane) of the simulated
#: tables.
TABLES = [(16, True, None), (32, True, None), (48, True, None), (32, False, None),
          (144, True, None), (16, True, 1), (16, True, 4), (32, False, 2)]


def stimulus(lanes, ports, seed):
    """Per cycle: ``(write, base, data, index)`` for a table writing and reading ``ports``
    entries per cycle. Bases cover the table's end, where a LUTW writes only the entries that
    exist."""
    rng = random.Random(seed)
    cycles = []
    # A table with few ports needs more writes to fill.
    chance = 0.5 if ports == lanes else 0.9
    for cycle in range(CYCLES):
        base = rng.choice([rng.randrange(LUT_ENTRIES), LUT_ENTRIES - 1 - rng.randrange(ports),
                           ports * rng.randrange(LUT_ENTRIES // ports + 1) % LUT_ENTRIES])
        data = [rng.randrange(INT32_MIN, INT32_MAX + 1) for _ in range(ports)]
        index = [rng.randrange(LUT_ENTRIES) for _ in range(ports)]
        cycles.append((cycle < 8 or rng.random() < chance, base, data, index))
    return cycles


def simulate(lanes, banked, ports, cycles):
    """The values the table returned in each cycle (before that cycle's write lands)."""
    dut = LookupTable(lanes, banked=banked, readers=ports, writers=ports)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        for write, base, data, index in cycles:
            ctx.set(dut.write, write)
            ctx.set(dut.base, base)
            ctx.set(dut.data, data)
            ctx.set(dut.index, index)
            seen.append(list(ctx.get(dut.value)))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return seen


def mismatches(cycles, seen, write_model):
    table = np.zeros(LUT_ENTRIES, dtype=np.int64)
    wrong = []
    for cycle, ((write, base, data, index), got) in enumerate(zip(cycles, seen)):
        expected = [int(table[i]) for i in index]
        wrong += [(cycle, lane) for lane, (g, e) in enumerate(zip(got, expected)) if g != e]
        if write:
            table = write_model(table, base, np.array(data, dtype=np.int64))
    return wrong


@pytest.fixture(scope="module", params=TABLES,
                ids=lambda t: f"lanes{t[0]}-{'banked' if t[1] else 'one-memory'}"
                              f"{'' if t[2] is None else f'-ports{t[2]}'}")
def run(request):
    lanes, banked, ports = request.param
    ports = ports or lanes
    cycles = stimulus(lanes, ports, seed=lanes + ports)
    return ports, cycles, simulate(lanes, banked, ports, cycles)


def test_table_matches_lut_write(run):
    ports, cycles, seen = run
    wrong = mismatches(cycles, seen, lut_write)
    assert not wrong, f"{len(wrong)} reads differ, first (cycle, lane): {wrong[:5]}"


def test_reads_saw_written_entries(run):
    # The comparison is not vacuous: many reads return an entry some LUTW wrote.
    ports, cycles, seen = run
    written = np.zeros(LUT_ENTRIES, dtype=bool)
    for write, base, data, _ in cycles[:CYCLES // 2]:
        if write:
            written[base:base + len(data)] = True
    nonzero = sum(value != 0 for values in seen[CYCLES // 2:] for value in values)
    assert nonzero > 0.5 * written.mean() * ports * (CYCLES - CYCLES // 2)


def test_a_wrong_write_model_is_caught(run):
    ports, cycles, seen = run

    def wraps_around(table, base, values):
        table = table.copy()
        for lane, value in enumerate(values):
            table[(base + lane) % LUT_ENTRIES] = value
        return table

    def one_entry_on(table, base, values):
        return lut_write(table, min(base + 1, LUT_ENTRIES - 1), values)

    # (A one-entry write never wraps around.)
    assert ports == 1 or mismatches(cycles, seen, wraps_around)
    assert mismatches(cycles, seen, one_entry_on)


@pytest.mark.parametrize("lanes, banks", [(16, 16), (32, 32), (48, 64), (128, 128),
                                          (144, 256), (320, 256)])
def test_bank_count(lanes, banks):
    assert table_banks(lanes) == banks


@pytest.mark.parametrize("lanes, banked", [(16, True), (32, False), (144, False)])
def test_which_tables_are_banked(lanes, banked):
    assert is_banked(lanes) is banked
    assert is_banked(lanes, True) is (lanes <= 128)

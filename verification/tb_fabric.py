"""cocotb testbench of the stream fabric (:class:`~verification.harness.FabricHarness`).

Oracle: :class:`FabricModel`, the rule of :mod:`isa.timing` written out register by register,
plus hand-written traces for the directed tests.

Sampling convention (checked by :func:`values_advance_one_position_per_cycle`): inputs of cycle
``t`` are driven right after a rising edge; the values read right after the next rising edge
are those of cycle ``t`` (registers as they were during cycle ``t``).
"""

import random

import cocotb
from cocotb.triggers import RisingEdge

from .harness import FABRIC_POSITIONS, UNIT_CONFIG
from .scoreboard import FAULT, Scoreboard, reset

CONFIG = UNIT_CONFIG
POSITIONS = FABRIC_POSITIONS
STREAMS = CONFIG.streams
VECTOR_MASK = (1 << CONFIG.vector_bits) - 1


class FabricModel:
    """The stream registers of a row of ``positions`` positions.

    ``fault`` makes the model ignore westward overwrites (a deliberate error).
    """

    def __init__(self, positions, streams, *, fault=False):
        self.positions = positions
        self.streams = streams
        self.fault = fault
        self.east = [[0] * streams for _ in range(positions)]
        self.west = [[0] * streams for _ in range(positions)]

    def step(self, drive):
        """Advance one cycle with ``drive`` (a :class:`Drive`) applied during it."""
        P, S = self.positions, self.streams
        zero = [0] * S
        east, west = [list(zero) for _ in range(P)], [list(zero) for _ in range(P)]
        if not drive.clear:
            for p in range(1, P):       # the eastward register at p is fed from p - 1
                for s in range(S):
                    sent = drive.east_we[p - 1] >> s & 1
                    east[p][s] = drive.east_out[p - 1][s] if sent else self.east[p - 1][s]
            for p in range(P - 1):      # the westward register at p is fed from p + 1
                for s in range(S):
                    sent = drive.west_we[p + 1] >> s & 1 and not self.fault
                    west[p][s] = drive.west_out[p + 1][s] if sent else self.west[p + 1][s]
        self.east, self.west = east, west


class Drive:
    """What every position sends in one cycle."""

    def __init__(self, positions, streams):
        self.clear = 0
        self.east_out = [[0] * streams for _ in range(positions)]
        self.west_out = [[0] * streams for _ in range(positions)]
        self.east_we = [0] * positions
        self.west_we = [0] * positions


class FabricBench:
    def __init__(self, dut):
        self.dut = dut
        P, S = range(POSITIONS), range(STREAMS)
        self.east_out = [[getattr(dut, f"east_out__{p}__{s}") for s in S] for p in P]
        self.west_out = [[getattr(dut, f"west_out__{p}__{s}") for s in S] for p in P]
        self.east_we = [getattr(dut, f"east_we__{p}") for p in P]
        self.west_we = [getattr(dut, f"west_we__{p}") for p in P]
        self.east = [[getattr(dut, f"east__{p}__{s}") for s in S] for p in P]
        self.west = [[getattr(dut, f"west__{p}__{s}") for s in S] for p in P]
        self.model = FabricModel(POSITIONS, STREAMS, fault=FAULT)
        self.board = Scoreboard("fabric")
        self.cycle = 0

    async def start(self):
        self.apply(Drive(POSITIONS, STREAMS))
        await reset(self.dut)
        # The registers have no reset (an earlier test may have left values): clear them.
        self.apply(self.idle(clear=1))
        await RisingEdge(self.dut.clk)

    def idle(self, clear=0):
        drive = Drive(POSITIONS, STREAMS)
        drive.clear = clear
        return drive

    def apply(self, drive):
        self.dut.clear.value = drive.clear
        for p in range(POSITIONS):
            self.east_we[p].value = drive.east_we[p]
            self.west_we[p].value = drive.west_we[p]
            for s in range(STREAMS):
                self.east_out[p][s].value = drive.east_out[p][s]
                self.west_out[p][s].value = drive.west_out[p][s]

    def observe(self):
        """``(east, west)`` registers of the cycle that just ended."""
        return ([[int(h.value) for h in row] for row in self.east],
                [[int(h.value) for h in row] for row in self.west])

    async def step(self, drive):
        """Run one cycle with ``drive``; returns the registers seen during it, after checking
        them against the model."""
        self.apply(drive)
        await RisingEdge(self.dut.clk)
        east, west = self.observe()
        for p in range(POSITIONS):
            for s in range(STREAMS):
                self.board.compare(self.cycle, f"east[{p}][{s}]", self.model.east[p][s],
                                   east[p][s])
                self.board.compare(self.cycle, f"west[{p}][{s}]", self.model.west[p][s],
                                   west[p][s])
        self.model.step(drive)
        self.cycle += 1
        return east, west


@cocotb.test()
async def values_advance_one_position_per_cycle(dut):
    """A value sent east at position 0 in cycle t is at position k in cycle t + k, and leaves
    after the last position; likewise westward. Hand-written trace, no model."""
    bench = FabricBench(dut)
    await bench.start()
    value_e, value_w = 0x1234_5678_9ABC_DEF0_0FED_CBA9_8765_4321, VECTOR_MASK
    drive = bench.idle()
    drive.east_out[0][3] = value_e
    drive.east_we[0] = 1 << 3
    drive.west_out[POSITIONS - 1][5] = value_w
    drive.west_we[POSITIONS - 1] = 1 << 5
    seen = [await bench.step(drive)]
    for _ in range(POSITIONS + 1):
        seen.append(await bench.step(bench.idle()))
    # seen[k] holds the registers of cycle k; the value was sent in cycle 0.
    for k, (east, west) in enumerate(seen):
        for p in range(POSITIONS):
            expected_e = value_e if p == k and k >= 1 else 0
            expected_w = value_w if POSITIONS - 1 - p == k and k >= 1 else 0
            assert east[p][3] == expected_e, f"cycle {k}: east[{p}][3] = {east[p][3]:#x}"
            assert west[p][5] == expected_w, f"cycle {k}: west[{p}][5] = {west[p][5]:#x}"
            assert all(v == 0 for s, v in enumerate(east[p]) if s != 3)
            assert all(v == 0 for s, v in enumerate(west[p]) if s != 5)
    bench.board.check()


@cocotb.test()
async def overwrite_replaces_the_passing_value(dut):
    """A unit's write replaces, one position downstream, the value that would have moved
    there; the overwritten value is gone and the new one travels on."""
    bench = FabricBench(dut)
    await bench.start()
    a, b = 0xAAAA, 0xBBBB
    drive = bench.idle()
    drive.east_out[0][2], drive.east_we[0] = a, 1 << 2
    await bench.step(drive)
    drive = bench.idle()
    drive.east_out[1][2], drive.east_we[1] = b, 1 << 2
    east, _ = await bench.step(drive)
    assert east[1][2] == a                  # position 1 still sees A while it overwrites it
    east, _ = await bench.step(bench.idle())
    assert (east[1][2], east[2][2]) == (0, b)
    east, _ = await bench.step(bench.idle())
    assert (east[2][2], east[3][2]) == (0, b)
    east, _ = await bench.step(bench.idle())
    assert all(row[2] == 0 for row in east)
    bench.board.check()


@cocotb.test()
async def nothing_enters_at_the_edges(dut):
    """Position 0 never sees an eastward value, the last position never a westward one, even
    while every position sends on every stream; outputs past the edges go nowhere."""
    bench = FabricBench(dut)
    await bench.start()
    rng = random.Random(1)
    for _ in range(20):
        drive = bench.idle()
        for p in range(POSITIONS):
            drive.east_we[p] = drive.west_we[p] = (1 << STREAMS) - 1
            for s in range(STREAMS):
                drive.east_out[p][s] = rng.getrandbits(CONFIG.vector_bits) | 1
                drive.west_out[p][s] = rng.getrandbits(CONFIG.vector_bits) | 1
        east, west = await bench.step(drive)
        assert east[0] == [0] * STREAMS
        assert west[POSITIONS - 1] == [0] * STREAMS
    bench.board.check()


@cocotb.test()
async def clear_zeroes_every_register(dut):
    """``clear`` in cycle t zeroes every register in cycle t + 1, writes of cycle t included."""
    bench = FabricBench(dut)
    await bench.start()
    full = bench.idle()
    for p in range(POSITIONS):
        full.east_we[p] = full.west_we[p] = (1 << STREAMS) - 1
        for s in range(STREAMS):
            full.east_out[p][s] = full.west_out[p][s] = VECTOR_MASK
    await bench.step(full)
    east, west = await bench.step(full)
    assert east[1][0] == VECTOR_MASK and west[0][0] == VECTOR_MASK
    full.clear = 1
    await bench.step(full)
    east, west = await bench.step(bench.idle())
    assert all(v == 0 for row in east + west for v in row)
    bench.board.check()


@cocotb.test()
async def random_traffic_matches_the_model(dut):
    """Random sends, overwrites and clears for 400 cycles, checked every cycle."""
    bench = FabricBench(dut)
    await bench.start()
    rng = random.Random(2)
    for _ in range(400):
        drive = bench.idle()
        drive.clear = int(rng.random() < 0.03)
        for p in range(POSITIONS):
            drive.east_we[p] = rng.getrandbits(STREAMS) & rng.getrandbits(STREAMS)
            drive.west_we[p] = rng.getrandbits(STREAMS) & rng.getrandbits(STREAMS)
            for s in range(STREAMS):
                drive.east_out[p][s] = rng.getrandbits(CONFIG.vector_bits)
                drive.west_out[p][s] = rng.getrandbits(CONFIG.vector_bits)
        await bench.step(drive)
    bench.board.check()

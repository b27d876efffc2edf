"""cocotb testbench of the SXM at its stream position (:func:`~verification.harness.sxm_harness`):
``lpu_sxm`` unfolded, and ``lpu_sxm_folded`` (:data:`~verification.harness.SXM_FOLDED_CONFIG`,
``sxm_fold = 4``), which takes an operation every 4 cycles and flags one issued sooner.

Oracle: :class:`SxmModel`, written from the :class:`~isa.opcodes.SwitchOp` definitions
(``out[l] = in[l - amount]`` and so on), the ``switch`` format and the SXM legality rules
restated here (and checked against :func:`isa.legality.check_word`), with ``np.roll``, slicing
and explicit loops; not from :mod:`hdl.sxm` or :mod:`golden.switch`. The directed tests also
check hand-computed values.

The testbench drives the stream registers at the SXM (``east_in``/``west_in``) and the issue
port, and observes the registers one position downstream (``east_next``/``west_next``), where a
result must be :func:`~isa.timing.sxm_latency` cycles after its issue, and the error output.
"""

import os
import random

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from isa.config import SUPERLANE
from isa.formats import FORMATS
from isa.geometry import QueueKind
from isa.host import ErrorFlag
from isa.legality import check_word
from isa.opcodes import DType, Direction, SwitchOp, opcode_of
from isa.timing import sxm_issue_interval, sxm_latency
from .harness import unit_config
from .scoreboard import FAULT, StreamBench, pack, reset, unpack

UNIT = os.environ.get("COCOTB_TOPLEVEL", "lpu_sxm").removeprefix("lpu_")
CONFIG = unit_config(UNIT)
#: Cycles from issue to the result downstream, and between two operations.
LATENCY, FOLD = sxm_latency(CONFIG), sxm_issue_interval(CONFIG)
LANES, STREAMS, BITS = CONFIG.lanes, CONFIG.streams, CONFIG.vector_bits
SXM = QueueKind.SXM
S = SwitchOp
I8, I16, I32 = DType.I8, DType.I16, DType.I32
E, W = Direction.EAST, Direction.WEST
BAD, ILLEGAL = ErrorFlag.BAD_OPERAND, ErrorFlag.ILLEGAL_OPCODE
#: The lane movements (every operation but TRANS).
MOVES = [S.SHUP, S.SHDN, S.ROT, S.BCAST, S.PERM]
#: Fill immediates: in range of every type, and ones that must be wrapped to int8 / int16.
FILLS = [0, -1, 1, 127, -128, 128, 255, -129, 0x1234, -0x1234, 32767, -32768, -2, 0x7F80]
ZERO = [0] * STREAMS

assert STREAMS >= SUPERLANE, "the SXM harness needs 16 streams for TRANS"


def sxm_word(op, *, src=0, dst=0, dtype=I8, amount=0, fill=0, map=0, src_dir=E, dst_dir=E,
             map_dir=E):
    """A switch-format word; ``op`` and ``dtype`` may also be raw numbers (illegal ones)."""
    word = FORMATS["switch"].pack(getattr(op, "value", op), {
        "src": src, "src_dir": src_dir, "dst": dst, "dst_dir": dst_dir,
        "dtype": dtype if isinstance(dtype, DType) else I8, "amount": amount, "fill": fill,
        "map": map, "map_dir": map_dir})
    if not isinstance(dtype, DType):
        lsb, _ = FORMATS["switch"].positions["dtype"]
        word |= dtype << lsb
    return word


def to_planes(values, dtype):
    """Lane values of ``dtype`` as ``dtype.bytes`` stream words (least significant first)."""
    return [pack([(int(v) >> 8 * b) & 0xFF for v in values]) for b in range(dtype.bytes)]


def from_planes(words, dtype):
    """Inverse of :func:`to_planes`: signed lane values."""
    planes = [unpack(word, LANES) for word in words]
    half = 1 << (dtype.bits - 1)
    return [(sum(planes[b][lane] << 8 * b for b in range(dtype.bytes)) + half) % (2 * half) - half
            for lane in range(LANES)]


def wrapped(value, dtype):
    """``value`` wrapped to ``dtype`` (two's complement)."""
    half = 1 << (dtype.bits - 1)
    return (value + half) % (2 * half) - half


class SxmModel:
    """The SXM and the two stream hops its outputs feed, one cycle per :meth:`step`.

    An operation takes effect unless illegal or issued within :data:`FOLD` cycles of the last
    one that did (``BAD_OPERAND``); it sends :data:`LATENCY` - 1 cycles after its issue, unless
    a ``clear`` comes first. ``fault`` rotates the wrong way,
    ``out[l] = in[(l - amount) mod lanes]`` (a deliberate error).
    """

    def __init__(self, *, fault=False):
        self.fault = fault
        self.cycle = 0
        self.free = 0               # first cycle an operation may take effect
        self.flight = []            # (cycle it sends, direction, first stream, words)
        self.east_next = list(ZERO)
        self.west_next = list(ZERO)
        self.covered = set()        # (op, dtype, amount) of the operations that took effect

    def flag(self, issue):
        flag = self.legality(issue)
        if issue is not None and not flag and self.cycle < self.free:
            return int(BAD)
        return flag

    @staticmethod
    def legality(issue):
        if issue is None:
            return 0
        word, offset = issue
        if opcode_of(word) not in {op.value for op in SwitchOp}:
            return int(ILLEGAL)
        op = SwitchOp(opcode_of(word))
        f = FORMATS["switch"].unpack(word)
        dtype = f["dtype"]
        if not isinstance(dtype, DType):
            ok = False
        elif op is S.TRANS:
            ok = (dtype is I8 and f["src"] % SUPERLANE == 0 and f["dst"] % SUPERLANE == 0 and
                  f["src"] + SUPERLANE <= STREAMS and f["dst"] + SUPERLANE <= STREAMS)
        else:
            def group_ok(base, size):
                return base % size == 0 and base + size <= STREAMS
            ok = group_ok(f["src"], dtype.bytes) and group_ok(f["dst"], dtype.bytes)
            if op is S.PERM:
                ok = ok and group_ok(f["map"], 2)
            else:
                ok = ok and 0 <= f["amount"] + offset < LANES
        flag = 0 if ok else int(BAD)
        assert flag == check_word(CONFIG, SXM, word, offset), "model and isa.legality differ"
        return flag

    def result(self, word, offset, east, west):
        """The words an operation issued with these stream registers sends."""
        op = SwitchOp(opcode_of(word))
        f = FORMATS["switch"].unpack(word)
        registers = east if f["src_dir"] is E else west
        if op is S.TRANS:
            planes = [unpack(registers[f["src"] + i], LANES) for i in range(SUPERLANE)]
            out = [[0] * LANES for _ in range(SUPERLANE)]
            for j in range(SUPERLANE):
                for s in range(LANES // SUPERLANE):
                    for i in range(SUPERLANE):
                        out[j][SUPERLANE * s + i] = planes[i][SUPERLANE * s + j]
            self.covered.add((op, I8, 0))
            return [pack(plane) for plane in out]
        dtype, amount = f["dtype"], f["amount"] + offset
        fill = f["fill"] % (1 << dtype.bits)
        if op is S.PERM:
            maps = east if f["map_dir"] is E else west
            low, high = (unpack(maps[f["map"] + k], LANES) for k in range(2))
            index = [low[lane] | high[lane] << 8 for lane in range(LANES)]
        out = []
        for b in range(dtype.bytes):
            lanes = np.array(unpack(registers[f["src"] + b], LANES))
            fill_byte = fill >> 8 * b & 0xFF
            moved = np.full(LANES, fill_byte)
            if op is S.SHUP:
                moved[amount:] = lanes[:LANES - amount]
            elif op is S.SHDN:
                moved[:LANES - amount] = lanes[amount:]
            elif op is S.ROT:
                moved = np.roll(lanes, amount if self.fault else -amount)
            elif op is S.BCAST:
                moved[:] = lanes[amount]
            else:
                for lane in range(LANES):
                    if index[lane] < LANES:
                        moved[lane] = lanes[index[lane]]
            out.append(pack(moved))
        self.covered.add((op, dtype, amount if amount in (0, LANES - 1) and op is not S.PERM
                          else None))
        return out

    def step(self, issue, east, west, clear=0):
        """Advance one cycle: ``issue`` is ``(word, offset)`` or ``None``, ``east``/``west``
        the stream registers at the SXM. Returns the error output of this cycle;
        :attr:`east_next`/:attr:`west_next` then hold the next cycle's downstream registers."""
        t = self.cycle
        flag = self.flag(issue)
        east_next, west_next = list(east), list(west)
        for when, direction, first, words in self.flight:
            if when == t:
                (east_next if direction is E else west_next)[first:first + len(words)] = words
        self.flight = [entry for entry in self.flight if entry[0] > t]
        if issue is not None and not flag:
            f = FORMATS["switch"].unpack(issue[0])
            self.flight.append((t + LATENCY - 1, f["dst_dir"], f["dst"],
                                self.result(*issue, east, west)))
            self.free = t + FOLD
        if clear:
            east_next, west_next = list(ZERO), list(ZERO)
            self.flight, self.free = [], 0
        self.east_next, self.west_next = east_next, west_next
        self.cycle = t + 1
        return flag


class SxmBench(StreamBench):
    """Drives the harness one cycle at a time and checks every cycle against the model;
    :attr:`seen` records ``(error, east_next, west_next)`` of each cycle."""

    def __init__(self, dut):
        super().__init__(dut, STREAMS, SxmModel(fault=FAULT), "sxm")

    def apply(self, issue, east, west, clear):
        dut = self.dut
        dut.issue__valid.value = int(issue is not None)
        dut.issue__word.value, dut.issue__offset.value = issue or (0, 0)
        self.streams.drive(east, west)
        dut.clear.value = clear

    async def start(self):
        self.apply(None, ZERO, ZERO, 0)
        await reset(self.dut)
        # Nothing is in flight after reset; the stream registers (no reset) are cleared.
        self.apply(None, ZERO, ZERO, 1)
        await RisingEdge(self.dut.clk)

    async def step(self, issue=None, *, east=None, west=None, clear=0):
        """Run one cycle: the queue issues ``issue`` (a word, ``(word, offset)`` or ``None``);
        the stream registers at the SXM hold ``east``/``west`` (default: the previous cycle's).
        Checks the cycle and returns what was observed in it."""
        issue = (issue, 0) if isinstance(issue, int) else issue
        flag, streams = await self.clock(
            issue, east, west, clear, lambda e, w: self.model.step(issue, e, w, clear))
        observed = (int(self.dut.error.value), *streams)
        self.board.compare(self.cycle, "error", flag, observed[0])
        return self.record(observed)

    async def result_of(self, issue, direction, first, count, **streams):
        """Issue ``issue`` alone, wait for its result and return streams ``first .. first +
        count - 1`` of ``direction`` downstream, :data:`LATENCY` cycles after the issue."""
        t = self.cycle
        await self.step(issue, **streams)
        await self.idle(LATENCY)
        registers = self.seen[t + LATENCY][1 if direction is E else 2]
        return registers[first:first + count]


async def started(dut):
    bench = SxmBench(dut)
    await bench.start()
    return bench


async def started_with_counting_lanes(dut, seed, stream):
    """A started bench, random stream words (``passing``), and the same words with lanes
    1 .. lanes on ``stream`` (``east``)."""
    bench = await started(dut)
    rng = random.Random(seed)
    passing = [rng.getrandbits(BITS) for _ in range(STREAMS)]
    east = list(passing)
    east[stream] = pack(range(1, LANES + 1))
    return bench, passing, east


#: Element values every movement must carry intact, per type.
EDGES = {I8: [-128, 127, 0, -1, 1],
         I16: [-32768, 32767, -128, 127, 128, -129, 0, -1, 255, 256],
         I32: [-(1 << 31), (1 << 31) - 1, -32768, 32767, 65535, -65536, 0, -1, 128, -129]}


def random_words(rng, count=STREAMS):
    """Stream words: each aligned group of 4 streams carries lanes of a random type,
    edge-heavy."""
    words = []
    for _ in range(count // 4):
        dtype = rng.choice(list(DType))
        for _ in range(4 // dtype.bytes):
            values = [rng.choice(EDGES[dtype]) if rng.random() < 0.5 else
                      rng.randrange(-(1 << (dtype.bits - 1)), 1 << (dtype.bits - 1))
                      for _ in range(LANES)]
            words += to_planes(values, dtype)
    return words


def random_map(rng):
    """A PERM map (uint16 lane indexes) of a random kind."""
    kind = rng.randrange(6)
    if kind == 0:
        return list(range(LANES))                                   # identity
    if kind == 1:
        return list(reversed(range(LANES)))
    if kind == 2:
        return [rng.randrange(LANES)] * LANES                       # broadcast
    if kind == 3:
        return [rng.randrange(LANES) for _ in range(LANES)]         # repeated indexes
    if kind == 4:
        return rng.sample(range(LANES), LANES)                      # a permutation
    return [rng.choice([LANES, LANES + 1, 255, 256, 0x0103, 0xFFFF, rng.randrange(LANES)])
            for _ in range(LANES)]                                  # past the last lane


def split_amount(rng, amount):
    """``(field, offset)`` adding up to ``amount`` (REPEAT accumulates into the offset)."""
    return rng.choice([(amount, 0), (0, amount), (amount + 100, -100), (4095, amount - 4095)])


@cocotb.test()
async def result_latency_and_untouched_streams(dut):
    """SHUP issued in cycle t: its result is on its destination stream one position
    downstream in cycle t + 2 (t + 5 folded 4 times), and only there and then; every other
    register passes unchanged. Hand-written values."""
    bench, passing, east = await started_with_counting_lanes(dut, 1, 3)
    t = bench.cycle
    await bench.step(sxm_word(S.SHUP, src=3, dst=5, dst_dir=W, amount=1, fill=-1),
                     east=east, west=passing)
    await bench.idle(LATENCY + 1, east=passing, west=passing)
    for cycle in range(t + 1, t + LATENCY + 2):
        _, east_next, west_next = bench.seen[cycle]
        expected = list(passing)
        if cycle == t + LATENCY:
            expected[5] = pack([0xFF] + list(range(1, LANES)))
        assert west_next == expected, f"cycle {cycle}"
        assert east_next == (east if cycle == t + 1 else passing), f"cycle {cycle}"
    bench.board.check()


@cocotb.test()
async def every_lane_movement_and_type(dut):
    """SHUP, SHDN, ROT, BCAST and PERM on I8, I16 and I32 elements, with amounts 0, lanes - 1
    and random ones (some reached through the REPEAT offset), many fills, random aligned groups
    and directions, issued back to back (every FOLD cycles) on edge-heavy data."""
    bench = await started(dut)
    rng = random.Random(2)
    for _ in range(3):
        for op in MOVES:
            for dtype in DType:
                for amount in (0, LANES - 1, rng.randrange(LANES), rng.randrange(1, LANES - 1)):
                    field, offset = split_amount(rng, amount)
                    east, west = random_words(rng), random_words(rng)
                    word = sxm_word(op, src=rng.randrange(0, STREAMS, dtype.bytes),
                                    dst=rng.randrange(0, STREAMS, dtype.bytes), dtype=dtype,
                                    amount=field, fill=rng.choice(FILLS),
                                    map=rng.randrange(0, STREAMS, 2), src_dir=rng.choice([E, W]),
                                    dst_dir=rng.choice([E, W]), map_dir=rng.choice([E, W]))
                    if op is S.PERM:
                        map_words = to_planes(random_map(rng), I16)
                        fields = FORMATS["switch"].unpack(word)
                        target = east if fields["map_dir"] is E else west
                        target[fields["map"]:fields["map"] + 2] = map_words
                    error, _, _ = await bench.step((word, offset), east=east, west=west)
                    assert error == 0
                    await bench.idle(FOLD - 1)
    await bench.idle(LATENCY)
    shifts = [S.SHUP, S.SHDN, S.ROT, S.BCAST]
    expected = {(op, dtype, amount) for op in shifts for dtype in DType for amount in
                (0, LANES - 1, None)} | {(S.PERM, dtype, None) for dtype in DType}
    assert expected <= bench.model.covered, sorted(expected - bench.model.covered, key=str)
    bench.board.check()


@cocotb.test()
async def fills_are_wrapped_to_the_element_type(dut):
    """The fill immediate (signed 16 bits) is wrapped to the element type: SHUP by lanes - 1
    fills lanes 0 .. lanes - 2 and moves lane 0 to the last lane; SHDN by lanes - 1 the
    mirror image. Hand-checked for every type and every fill in :data:`FILLS`."""
    bench = await started(dut)
    rng = random.Random(3)
    for dtype in DType:
        for fill in FILLS:
            values = [rng.randrange(-(1 << (dtype.bits - 1)), 1 << (dtype.bits - 1))
                      for _ in range(LANES)]
            east = to_planes(values, dtype) * (STREAMS // dtype.bytes)
            up = await bench.result_of(sxm_word(S.SHUP, dtype=dtype, amount=LANES - 1,
                                                fill=fill), E, 0, dtype.bytes, east=east)
            down = await bench.result_of(sxm_word(S.SHDN, dtype=dtype, amount=LANES - 1,
                                                  fill=fill, dst=dtype.bytes, dst_dir=W),
                                         W, dtype.bytes, dtype.bytes)
            filled = wrapped(fill, dtype)
            assert from_planes(up, dtype) == [filled] * (LANES - 1) + values[:1], (dtype, fill)
            assert from_planes(down, dtype) == values[-1:] + [filled] * (LANES - 1), (dtype, fill)
    bench.board.check()


@cocotb.test()
async def perm_maps_of_every_kind(dut):
    """PERM with identity, reversed, broadcast, repeated, permuted and past-the-end maps
    (indexes lanes, 255, 256, 0x0103 and 0xFFFF give the fill: the whole uint16 counts, not its
    low byte), on every type, with the map from either direction and overlapping the source.
    Hand-checked: out[l] = in[map[l]] or the fill."""
    bench = await started(dut)
    rng = random.Random(4)
    maps = [list(range(LANES)), list(reversed(range(LANES))), [5] * LANES,
            [LANES - 1 - lane // 2 for lane in range(LANES)],
            [0x0103, 256, LANES, 255, 0xFFFF, LANES + 1] + list(range(LANES - 6))]
    maps += [random_map(rng) for _ in range(6)]
    for dtype in DType:
        for lane_map in maps:
            values = [rng.randrange(-(1 << (dtype.bits - 1)), 1 << (dtype.bits - 1))
                      for _ in range(LANES)]
            fill = rng.choice(FILLS)
            src = rng.randrange(0, STREAMS, 4)
            map_dir = rng.choice([E, W])
            overlap = map_dir is E and rng.random() < 0.3
            map_base = src if overlap else rng.randrange(0, STREAMS, 2)
            east, west = random_words(rng), random_words(rng)
            east[src:src + dtype.bytes] = to_planes(values, dtype)
            (east if map_dir is E else west)[map_base:map_base + 2] = to_planes(lane_map, I16)
            values = from_planes(east[src:src + dtype.bytes], dtype)   # the map may overlap it
            out = await bench.result_of(
                sxm_word(S.PERM, src=src, dst=4, dtype=dtype, fill=fill, map=map_base,
                         map_dir=map_dir, dst_dir=W, amount=rng.randrange(4096)),
                W, 4, dtype.bytes, east=east, west=west)
            assert from_planes(out, dtype) == [
                values[index] if index < LANES else wrapped(fill, dtype) for index in lane_map]
    bench.board.check()


@cocotb.test()
async def transpose_of_sixteen_streams(dut):
    """TRANS: out[j][16 s + i] = in[i][16 s + j] on all 16 streams and every superlane s, in
    every direction pair, ignoring amount, fill and map. Hand-checked with
    in[i][16 s + j] = (16 i + j) ^ 0x5A s: out[j][16 s + i] must be the same byte."""
    bench = await started(dut)
    rng = random.Random(5)
    def byte(i, s, j):
        return ((SUPERLANE * i + j) ^ 0x5A * s) & 0xFF
    words = [pack([byte(i, s, j) for s in range(LANES // SUPERLANE) for j in range(SUPERLANE)])
             for i in range(SUPERLANE)]
    for src_dir in (E, W):
        for dst_dir in (E, W):
            out = await bench.result_of(
                sxm_word(S.TRANS, src_dir=src_dir, dst_dir=dst_dir, amount=4095, fill=-1,
                         map=31),
                dst_dir, 0, SUPERLANE, east=words if src_dir is E else ZERO,
                west=words if src_dir is W else ZERO)
            assert out == [pack([byte(i, s, j) for s in range(LANES // SUPERLANE)
                                 for i in range(SUPERLANE)]) for j in range(SUPERLANE)]
    for _ in range(8):
        await bench.step(sxm_word(S.TRANS, src_dir=rng.choice([E, W]),
                                  dst_dir=rng.choice([E, W])),
                         east=random_words(rng), west=random_words(rng))
        await bench.idle(FOLD - 1)
    await bench.idle(LATENCY)
    bench.board.check()


def illegal_operations():
    """Illegal SXM operations and the flag each raises (hand-written from the ISA docs)."""
    return [
        (sxm_word(S.SHUP, dtype=3), 0, BAD),                    # no such type
        (sxm_word(S.TRANS, dtype=3), 0, BAD),
        (sxm_word(S.ROT, dtype=I16, src=1), 0, BAD),            # misaligned groups
        (sxm_word(S.ROT, dtype=I16, dst=3), 0, BAD),
        (sxm_word(S.SHDN, dtype=I16, src=STREAMS - 1), 0, BAD),
        (sxm_word(S.BCAST, dtype=I32, src=2), 0, BAD),
        (sxm_word(S.BCAST, dtype=I32, dst=6, dst_dir=W), 0, BAD),
        (sxm_word(S.PERM, dtype=I32, src=14, map=0), 0, BAD),
        (sxm_word(S.SHUP, src=STREAMS), 0, BAD),                # groups beyond the streams
        (sxm_word(S.SHUP, src=31, src_dir=W), 0, BAD),
        (sxm_word(S.SHUP, dst=STREAMS), 0, BAD),
        (sxm_word(S.SHUP, dtype=I32, dst=STREAMS, dst_dir=W), 0, BAD),
        (sxm_word(S.SHUP, amount=LANES), 0, BAD),               # amount >= lanes
        (sxm_word(S.SHDN, amount=4095), 0, BAD),
        (sxm_word(S.ROT), LANES, BAD),                          # ... after the offset
        (sxm_word(S.BCAST, amount=LANES - 1), 1, BAD),
        (sxm_word(S.BCAST), -1, BAD),                           # amount < 0
        (sxm_word(S.ROT, amount=5), -(1 << 31), BAD),
        (sxm_word(S.SHUP, amount=4095), (1 << 31) - 1, BAD),
        (sxm_word(S.PERM, map=1), 0, BAD),                      # misaligned map
        (sxm_word(S.PERM, map=STREAMS - 1, map_dir=W), 0, BAD),
        (sxm_word(S.PERM, map=STREAMS), 0, BAD),                # map beyond the streams
        (sxm_word(S.TRANS, dtype=I16), 0, BAD),                 # TRANS: int8 only
        (sxm_word(S.TRANS, dtype=I32), 0, BAD),
        (sxm_word(S.TRANS, src=1), 0, BAD),                     # ... 16 aligned streams
        (sxm_word(S.TRANS, dst=8, dst_dir=W), 0, BAD),
        (sxm_word(S.TRANS, src=SUPERLANE), 0, BAD),
        (sxm_word(S.TRANS, dst=SUPERLANE), 0, BAD),
        (sxm_word(S.TRANS.value + 1), 0, ILLEGAL),
        (sxm_word(63), 0, ILLEGAL),
    ] + [(sxm_word(op), 0, ILLEGAL) for op in range(S.SHUP.value)]


#: Legal operations at the edges of the rules (flag 0).
LEGAL_EDGES = [
    (sxm_word(S.PERM, amount=4095, map=STREAMS - 2), 0),        # PERM ignores the amount
    (sxm_word(S.TRANS, amount=4095), 0),
    (sxm_word(S.ROT), LANES - 1),
    (sxm_word(S.SHUP, amount=LANES + 3), -4),
    (sxm_word(S.BCAST, dtype=I32, src=STREAMS - 4, dst=STREAMS - 4, dst_dir=W), 0),
    (sxm_word(S.SHDN, dtype=I16, src=STREAMS - 2, dst=STREAMS - 2), 0),
]


@cocotb.test()
async def illegal_operands_are_flagged_without_effect(dut):
    """Each illegal operation raises its flag in its issue cycle and sends nothing (the
    registers downstream keep passing the upstream values); operations at the edges of the
    rules are legal."""
    bench = await started(dut)
    rng = random.Random(6)
    passing = [rng.getrandbits(BITS) for _ in range(STREAMS)]
    first = bench.cycle
    for word, offset, flag in illegal_operations():
        error, _, _ = await bench.step((word, offset), east=passing, west=passing)
        assert error == flag, f"{word:#018x}+{offset}"
    await bench.idle(LATENCY)
    assert all(seen[1] == passing and seen[2] == passing
               for seen in bench.seen[first + 1:]), "an illegal operation sent"
    for word, offset in LEGAL_EDGES:
        error, _, _ = await bench.step((word, offset))
        assert error == 0, f"{word:#018x}+{offset}"
        await bench.idle(FOLD - 1)
    await bench.idle(LATENCY)
    bench.board.check()


@cocotb.test()
async def clear_drops_a_result_in_flight(dut):
    """``clear`` in an operation's issue cycle drops it; ``clear`` in the next cycle zeroes
    the registers downstream, and a folded unit sends nothing after it (nor is it busy).
    Hand-checked."""
    bench = await started(dut)
    rng = random.Random(7)
    passing = [rng.getrandbits(BITS) for _ in range(STREAMS)]
    word = sxm_word(S.BCAST, dst=2, amount=3)
    t = bench.cycle
    await bench.step(word, east=passing, west=passing, clear=1)
    await bench.idle(LATENCY + 1)
    assert bench.seen[t + LATENCY][1] == passing
    t = bench.cycle
    await bench.step(word)
    await bench.step(clear=1)
    error, _, _ = await bench.step(word)        # the cleared unit takes an operation at once
    assert error == 0
    await bench.idle(LATENCY)
    assert bench.seen[t + 2][1] == ZERO
    assert bench.seen[t + LATENCY][1] == (ZERO if LATENCY == 2 else passing)
    bench.board.check()


@cocotb.test(skip=FOLD == 1)
async def a_folded_unit_flags_an_operation_while_busy(dut):
    """Folded: an operation issued 1 .. FOLD - 1 cycles after one that took effect raises
    ``BAD_OPERAND`` and sends nothing; one issued FOLD cycles after it takes effect, and both
    results arrive LATENCY cycles after their issues. Hand-checked: BCAST of lane 1 of
    lanes 1 .. lanes is all 2s, and BCAST of lane 0 all 1s."""
    bench, passing, east = await started_with_counting_lanes(dut, 9, 0)
    t = bench.cycle
    error, _, _ = await bench.step(sxm_word(S.BCAST, dst=2, amount=1), east=east, west=passing)
    assert error == 0
    for _ in range(FOLD - 1):
        error, _, _ = await bench.step(sxm_word(S.BCAST, dst=3, amount=2))
        assert error == BAD
    error, _, _ = await bench.step(sxm_word(S.BCAST, dst=4, amount=0))
    assert error == 0
    await bench.idle(LATENCY, east=passing, west=passing)
    assert bench.seen[t + LATENCY][1][2] == pack([2] * LANES)
    assert bench.seen[t + FOLD + LATENCY][1][4] == pack([1] * LANES)
    assert all(seen[1][3] == passing[3] for seen in bench.seen[t + 1:]), "a flagged one sent"
    bench.board.check()


def random_operation(rng):
    """A random SXM operation and offset, about 10% of them illegal."""
    op = rng.choice(MOVES + [S.TRANS])
    dtype = I8 if op is S.TRANS else rng.choice(list(DType))
    size = SUPERLANE if op is S.TRANS else dtype.bytes
    field, offset = split_amount(rng, rng.choice([0, LANES - 1, rng.randrange(LANES)]))
    fields = {"src": rng.randrange(0, STREAMS - size + 1, size),
              "dst": rng.randrange(0, STREAMS - size + 1, size), "dtype": dtype,
              "amount": field, "fill": rng.choice(FILLS + [rng.randrange(-32768, 32768)]),
              "map": rng.randrange(0, STREAMS, 2), "src_dir": rng.choice([E, W]),
              "dst_dir": rng.choice([E, W]), "map_dir": rng.choice([E, W])}
    roll = rng.random()
    if roll < 0.03:
        fields[rng.choice(["src", "dst", "map"])] = rng.randrange(32)
    elif roll < 0.05:
        fields["dtype"] = rng.choice([3, I16, I32])
    elif roll < 0.08:
        offset = rng.choice([LANES, -field - 1, LANES - field])
    elif roll < 0.1:
        op = rng.choice([0, 2, S.TRANS.value + 1, 63])
    return sxm_word(op, **fields), offset


@cocotb.test()
async def random_operations_match_the_model(dut):
    """Random operations of every kind (legal and illegal) on random edge-heavy traffic with
    random PERM maps and occasional clears, checked cycle by cycle."""
    bench = await started(dut)
    rng = random.Random(8)
    flags = set()
    for _ in range(800):
        east, west = random_words(rng), random_words(rng)
        if rng.random() < 0.4:
            base = rng.randrange(0, STREAMS, 2)
            (east if rng.random() < 0.5 else west)[base:base + 2] = \
                to_planes(random_map(rng), I16)
        issue = random_operation(rng) if rng.random() < 0.85 else None
        error, _, _ = await bench.step(issue, east=east, west=west,
                                       clear=int(rng.random() < 0.01))
        flags.add(error)
    await bench.idle(LATENCY)
    assert flags == {0, ILLEGAL, BAD}
    assert {op for op, _, _ in bench.model.covered} == set(SwitchOp)
    bench.board.check()

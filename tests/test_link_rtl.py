# amaranth: UnusedElaboratable=no
"""The link's receive units and the whole :class:`~hdl.link.link.SerialLink` in Amaranth's
simulator.

Oracles: a Python model of the block lock state machine written from IEEE 802.3 Figure 49-14;
the bit-serial frame and scrambler references of :mod:`verification.link_reference` for the
framer's and deframer's blocks; for the deskew, lanes of blocks that name their superblock
and lane, arriving in the cycle their last line bit gives (every superblock passed on must be
one superblock, in lane order); and, for the loopback, the vectors the test sent: each must
arrive exactly :attr:`~isa.link.LinkConfig.latency` cycles after its SEND, intact, through the
channel model of :mod:`verification.channel` (delay, skew, bit phase, lane permutation, chosen
bit flips).
"""

import random
from collections import deque

import pytest
from amaranth.sim import Simulator

from hdl.link.deframer import Deframer
from hdl.link.deskew import MARKER_MISSES, LaneDeskew
from hdl.link.framer import Framer
from hdl.link.link import COUNTERS, SerialLink
from hdl.link.lock import BlockLock
from isa.link import (BLOCK_BITS, LOCK_BAD_HEADERS, LOCK_GOOD_HEADERS, LOCK_WINDOW,
                      PAYLOAD_BITS, STAMP_MODULUS, SYNC_CONTROL, SYNC_DATA, BlockType,
                      LinkConfig)
from verification.channel import Channel
from verification.link_reference import (Descrambler, block, control_block, frame_blocks,
                                         header_of, idle_block, marker_block, payload_of)

#: A small link: one superblock per frame keeps the simulations short.
LINK = LinkConfig(vector_bytes=16, serial_lanes=4, serdes_width=32, delay_budget=6,
                  marker_period=16)
HEADERS = (0b00, SYNC_DATA, SYNC_CONTROL, 0b11)


# --- Block lock ----------------------------------------------------------------------------

class BlockLockModel:
    """Figure 49-14, one header at a time, with the contract's hold-off: the headers of the
    ``slip_latency`` cycles after a slip pulse are ignored. :meth:`cycle` returns the outputs
    of the next cycle, ``(slip, locked)``."""

    def __init__(self, slip_latency):
        self.slip_latency = slip_latency
        self.block_lock = False
        self.sh_cnt = 0
        self.sh_invld_cnt = 0
        self.ignore = 0

    def cycle(self, valid, header):
        slip = False
        if self.ignore:
            self.ignore -= 1
        elif valid:
            self.sh_cnt += 1
            if header in (SYNC_DATA, SYNC_CONTROL):                     # VALID_SH
                if self.sh_cnt == LOCK_GOOD_HEADERS and self.sh_invld_cnt == 0:
                    self.block_lock = True                              # 64_GOOD
                if self.sh_cnt == LOCK_WINDOW:
                    self.sh_cnt = self.sh_invld_cnt = 0                 # RESET_CNT
            else:                                                       # INVALID_SH
                self.sh_invld_cnt += 1
                if self.sh_invld_cnt == LOCK_BAD_HEADERS or not self.block_lock:
                    self.block_lock = False                             # SLIP
                    slip = True
                    self.ignore = self.slip_latency
                    self.sh_cnt = self.sh_invld_cnt = 0
                elif self.sh_cnt == LOCK_WINDOW:
                    self.sh_cnt = self.sh_invld_cnt = 0
        return slip, self.block_lock


def run_block_lock(headers, slip_latency=1):
    """Drive ``headers`` (``(valid, header)`` per cycle) into a BlockLock; return its outputs
    ``(slip, locked)`` of the cycle after each."""
    dut = BlockLock(slip_latency)
    outputs = []

    async def bench(ctx):
        for valid, header in headers:
            ctx.set(dut.valid, valid)
            ctx.set(dut.header, header)
            await ctx.tick()
            outputs.append((ctx.get(dut.slip), ctx.get(dut.locked)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return outputs


def test_block_lock_locks_after_64_good_headers_and_unlocks_after_16_bad():
    good = [(1, SYNC_DATA)] * (LOCK_GOOD_HEADERS - 1) + [(0, 0), (1, SYNC_CONTROL)]
    # Locked: 15 invalid headers in a window keep the lock; the 16th in the next window loses
    # it, with a slip.
    window = [(1, 0b11)] * (LOCK_BAD_HEADERS - 1) + [(1, SYNC_DATA)] * (
        LOCK_WINDOW - LOCK_BAD_HEADERS + 1)
    losing = [(1, 0b00)] * LOCK_BAD_HEADERS
    outputs = run_block_lock(good + window + losing)
    locked = [lock for _, lock in outputs]
    slips = [cycle for cycle, (slip, _) in enumerate(outputs) if slip]
    assert not any(locked[:len(good) - 1])
    assert all(locked[len(good) - 1:len(good) + len(window) + LOCK_BAD_HEADERS - 1])
    assert slips == [len(good) + len(window) + LOCK_BAD_HEADERS - 1]
    assert not locked[-1]


def test_block_lock_slips_on_every_bad_header_while_unlocked():
    headers = [(1, 0b00), (1, 0b00), (1, 0b11), (0, 0), (1, 0b11), (1, SYNC_DATA)]
    outputs = run_block_lock(headers, slip_latency=1)
    # The header in the cycle after a slip is still cut at the old boundary: ignored.
    assert [slip for slip, _ in outputs] == [1, 0, 1, 0, 1, 0]


@pytest.mark.parametrize("slip_latency", [0, 1, 3])
def test_block_lock_matches_figure_49_14(slip_latency):
    rng = random.Random(slip_latency)
    headers = []
    for _ in range(24):
        bad = rng.choice([0.0, 0.0, 0.01, 0.1, 0.3, 0.6])
        rate = rng.choice([1.0, 0.5])
        for _ in range(rng.randrange(20, 160)):
            header = rng.choice((0b00, 0b11)) if rng.random() < bad else rng.choice(
                (SYNC_DATA, SYNC_CONTROL))
            headers.append((int(rng.random() < rate), header))
    model = BlockLockModel(slip_latency)
    expected = [model.cycle(*h) for h in headers]
    assert run_block_lock(headers, slip_latency) == expected
    assert any(lock for _, lock in expected) and any(slip for slip, _ in expected)


def test_block_lock_rejects_a_negative_slip_latency():
    with pytest.raises(ValueError, match="Block lock slip_latency must be at least 0, not -1"):
        BlockLock(-1)


# --- Framer and deframer against the reference frame ----------------------------------------

def random_vector(rng, link=LINK):
    return bytes(rng.randrange(256) for _ in range(link.vector_bytes))


def test_framer_emits_reference_frames_and_markers():
    link = LinkConfig(vector_bytes=40, serial_lanes=4, marker_period=4)  # 7 blocks: 2 per frame
    rng = random.Random(1)
    vectors = [(random_vector(rng, link), rng.randrange(STAMP_MODULUS)) for _ in range(3)]
    dut = Framer(link)
    taken, overruns = [], []

    async def bench(ctx):
        ctx.set(dut.ready, 1)
        # Three SENDs in a row: the third finds the queue full (the first frame leaves it only
        # at the end of that cycle).
        for send in [*vectors] + [None] * 11:
            ctx.set(dut.send, send is not None)
            if send is not None:
                ctx.set(dut.send_data, int.from_bytes(send[0], "little"))
                ctx.set(dut.stamp, send[1])
            taken.append([ctx.get(dut.superblock[k]) for k in range(link.serial_lanes)])
            overruns.append(ctx.get(dut.overrun))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    markers = [marker_block(k) for k in range(link.serial_lanes)]
    idles = [idle_block()] * link.serial_lanes
    first, second = (frame_blocks(link, vector, stamp) for vector, stamp in vectors[:2])
    # A marker every 4 superblocks; a frame starts the cycle after its SEND.
    expected = [markers, *first, second[0], markers, second[1], idles, idles, markers]
    expected += [idles] * 3 + [markers, idles]
    assert taken == expected
    assert overruns == [0, 0, 1] + [0] * 11


def run_deframer(link, superblocks, *, unaligned=0):
    """Feed superblocks to a Deframer, aligned from the ``unaligned``-th on; return its
    ``(ok, error, line_error, data, stamp)`` pulses."""
    dut = Deframer(link)
    pulses = []

    async def bench(ctx):
        for index, superblock in enumerate([*superblocks, None, None]):
            ctx.set(dut.aligned, index >= unaligned)
            ctx.set(dut.strobe, superblock is not None)
            for k, value in enumerate(superblock or []):
                ctx.set(dut.superblock[k], value)
            await ctx.tick()
            ok, error, line_error = ctx.get(dut.ok), ctx.get(dut.error), ctx.get(dut.line_error)
            if ok or error or line_error:
                pulses.append((ok, error, line_error, ctx.get(dut.data), ctx.get(dut.stamp)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return pulses


def test_deframer_accepts_reference_frames_and_rejects_every_corruption():
    link = LinkConfig(vector_bytes=40, serial_lanes=4, marker_period=4)
    rng = random.Random(2)
    idles = [idle_block()] * link.serial_lanes
    vector, stamp = random_vector(rng, link), 0x1234
    frame = frame_blocks(link, vector, stamp)
    good = (1, 0, 0, int.from_bytes(vector, "little"), stamp)
    assert run_deframer(link, [idles, *frame, *frame, idles]) == [good, good]
    # One bit of any block of the frame (the stamp, a payload, the CRC, a zero byte, the
    # padding, a sync header) flipped: one error, never a good frame; the next frame passes.
    blocks = [value for superblock in frame for value in superblock]
    stream, flips = [], 0
    for index in rng.sample(range(1, len(blocks) - 1), 3) + [0, len(blocks) - 1]:
        for bit in (rng.randrange(BLOCK_BITS), 0, BLOCK_BITS - 1):
            bad = list(blocks)
            bad[index] ^= 1 << bit
            stream += [bad[i:i + link.serial_lanes]
                       for i in range(0, len(bad), link.serial_lanes)]
            stream += [idles, *frame]
            flips += 1
    pulses = run_deframer(link, stream)
    assert [pulse[:3] for pulse in pulses[::2]] == [(0, 1, 0)] * flips
    assert pulses[1::2] == [good] * flips


def test_deframer_counts_damaged_idle_superblocks_as_line_errors():
    """Between frames: a damaged idle superblock is one line error, never a frame error; a
    frame whose start block is damaged, or a lone terminate block, is one frame error; a
    marker-like superblock passed on as data is a line error. After the lanes align, the tail
    of a frame is ignored until an idle superblock."""
    link = LinkConfig(vector_bytes=40, serial_lanes=4, marker_period=4)   # 2 superblocks
    rng = random.Random(3)
    idles = [idle_block()] * link.serial_lanes
    vector, stamp = random_vector(rng, link), 0x0BAD
    first, second = frame_blocks(link, vector, stamp)
    good = (1, 0, 0, int.from_bytes(vector, "little"), stamp)
    header_hit = [idles[0], idles[1] ^ 1, *idles[2:]]             # an invalid sync header
    type_hit = [*idles[:3], idles[3] ^ 1 << 9]
    markers = [marker_block(k) for k in range(link.serial_lanes)]
    bad_start = [first[0] ^ 1 << 3, *first[1:]]
    terminate = [idles[0], control_block(BlockType.TERMINATE), *idles[2:]]
    line, frame_error = (0, 0, 1), (0, 1, 0)
    stream = [second, idles,                                # the tail before alignment
              header_hit, type_hit, first, second, markers, bad_start, second,
              terminate, idles, first, second]
    pulses = run_deframer(link, stream, unaligned=1)
    assert [pulse[:3] for pulse in pulses[:-1]] == [line, line, good[:3], line, frame_error,
                                                   frame_error]
    assert pulses[-1] == good


def deskew_stream(link, lane, count, damage):
    """Transmitted lane ``lane``'s first ``count`` blocks: a marker every ``marker_period``
    superblocks from block 0, else a data block naming its superblock and lane; ``damage``
    replaces blocks by ``(lane, number)``."""
    blocks = []
    for number in range(count):
        if number % link.marker_period == 0:
            value = marker_block(lane)
        else:
            value = block(SYNC_DATA, number << 8 | lane)
        blocks.append(damage.get((lane, number), value))
    return blocks


def run_deskew(link, cases, *, width=32):
    """Drive one LaneDeskew through ``cases``, each a dict of ``delays`` (line bits per
    transmitted lane) and optionally ``cycles``, ``damage`` (for :func:`deskew_stream`) and
    ``permutation`` (received lane ``j`` carries transmitted lane ``permutation[j]``); the
    lanes lose lock for two cycles between cases. The block ending at line bit ``b`` of
    transmitted lane ``k`` arrives in the case's cycle ``(delays[k] + b) // width`` (one block
    a cycle at most: a block is longer than a word). Returns, per case, the superblocks passed
    on and the cycles of the failure pulses."""
    lanes = link.serial_lanes
    dut = LaneDeskew(link)
    results = []

    async def bench(ctx):
        for case in cases:
            delays = case["delays"]
            permutation = case.get("permutation", list(range(lanes)))
            cycles = case.get("cycles", 5 * link.marker_period * BLOCK_BITS // width)
            count = cycles * width // BLOCK_BITS + 1
            arrivals = [{(delays[lane] + BLOCK_BITS * (n + 1) - 1) // width: value
                         for n, value in enumerate(deskew_stream(
                             link, lane, count, case.get("damage", {})))}
                        for lane in range(lanes)]
            out, failures = [], []
            ctx.set(dut.locked, (1 << lanes) - 1)
            for cycle in range(cycles + 2):
                valid = 0
                for received, lane in enumerate(permutation):
                    value = arrivals[lane].get(cycle)
                    if value is not None and cycle < cycles:
                        ctx.set(dut.blocks[received], value)
                        valid |= 1 << received
                ctx.set(dut.valid, valid)
                if cycle == cycles:
                    ctx.set(dut.locked, 0)
                if ctx.get(dut.failure):
                    failures.append(cycle)
                await ctx.tick()
                if ctx.get(dut.strobe):
                    out.append([ctx.get(dut.superblock[k]) for k in range(lanes)])
            results.append((out, failures))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results


def passed_numbers(link, out):
    """The superblock numbers of the superblocks passed on: each must hold one superblock of
    the lanes, in lane order, and not a marker."""
    numbers = []
    for superblock in out:
        number = payload_of(superblock[0]) >> 8
        assert superblock == [block(SYNC_DATA, number << 8 | lane)
                              for lane in range(link.serial_lanes)]
        assert number % link.marker_period
        numbers.append(number)
    return numbers


def check_aligned(link, out):
    """:func:`passed_numbers`, and none missing from the first to the last; returns how many."""
    numbers = passed_numbers(link, out)
    assert numbers == [n for n in range(numbers[0], numbers[-1] + 1) if n % link.marker_period]
    return len(numbers)


# Two lanes keep the sweeps over every bit phase short. The markers must be further apart than
# the skews tried plus the budget: a skew of a whole marker period looks like none.
PAIR = LinkConfig(vector_bytes=8, serial_lanes=2, marker_period=16)


@pytest.mark.parametrize("width", [32, 64])
def test_deskew_absorbs_the_budget_and_flags_beyond_over_the_bit_phases(width):
    """Lanes ``skew`` bits apart, the pair shifted through the bit phases of the word:
    up to ``skew_budget`` blocks they align and every superblock passes; beyond
    ``skew_budget + 1`` blocks every search after the first fails and nothing passes; in
    between, either, and never a misaligned superblock."""
    budget = PAIR.skew_budget * BLOCK_BITS
    beyond = budget + BLOCK_BITS
    # Every bit phase of a 32-bit word; every other one of a 64-bit word (to halve the time).
    cases = [(phase, skew) for phase in range(0, width, width // 32)
             for skew in (budget, budget + 1, beyond, beyond + 1)]
    results = run_deskew(PAIR, [dict(delays=[phase, phase + skew],
                                     cycles=3 * PAIR.marker_period * BLOCK_BITS // width)
                                for phase, skew in cases], width=width)
    between = set()
    for (phase, skew), (out, failures) in zip(cases, results):
        if skew == budget:
            assert not failures and check_aligned(PAIR, out) >= PAIR.marker_period
        elif skew > beyond:
            assert failures and not out
        else:
            # Once aligned, for good.
            assert not out or check_aligned(PAIR, out)
            between.add(bool(out))
    # Both outcomes happen in between: the bounds are tight.
    assert between == {False, True}


def test_deskew_keeps_its_alignment_through_damaged_markers():
    """Aligned, damaged markers are dropped at their positions: MARKER_MISSES - 1 misses in a
    row on a lane (then a good marker, then as many again), or a whole marker superblock
    damaged, cost nothing; a marker-like superblock elsewhere passes as data; MARKER_MISSES
    misses in a row on one lane are a failure."""
    link = LINK
    period = link.marker_period
    delays = [13, 200, 77, 150]
    permutation = [2, 0, 3, 1]
    garbage = block(SYNC_CONTROL, 0x5A5A)
    damage = {(1, period * k): garbage for k in range(2, 1 + MARKER_MISSES)}
    damage.update({(1, period * k): garbage
                   for k in range(2 + MARKER_MISSES, 2 * MARKER_MISSES + 1)})
    damage.update({(lane, period * (2 * MARKER_MISSES + 2)): garbage for lane in range(4)})
    cycles = (2 * MARKER_MISSES + 5) * period * BLOCK_BITS // 32
    # A marker superblock where data belongs is passed on as it is.
    fake = {(lane, period * 2 + 5): marker_block(lane) for lane in range(4)}
    lost = {(3, period * k): garbage for k in range(2, 2 + MARKER_MISSES)}
    kept, passed, realigned = run_deskew(link, [
        dict(delays=delays, permutation=permutation, cycles=cycles, damage=damage),
        dict(delays=delays, permutation=permutation, damage=fake),
        dict(delays=delays, permutation=permutation, cycles=cycles, damage=lost)])
    out, failures = kept
    assert not failures
    assert check_aligned(link, out) >= (2 * MARKER_MISSES + 2) * (period - 1)
    out, failures = passed
    assert not failures
    assert [marker_block(lane) for lane in range(4)] in out
    out, failures = realigned
    assert len(failures) == 1
    numbers = passed_numbers(link, out)
    assert numbers[0] < period * (1 + MARKER_MISSES) < numbers[-1]


# --- SerialLink loopback ----------------------------------------------------------------------

class FlipTap:
    """Holds the transmitted words ``lookahead`` cycles before they enter the channel, finds
    the block of transmitted lane ``lane`` whose descrambled payload is ``payload`` (with a
    data sync header) and has the channel flip its line bit ``bit`` (0 and 1: the header)."""

    def __init__(self, channel, lane, payload, bit, lookahead):
        self.channel, self.lane, self.payload, self.bit = channel, lane, payload, bit
        self.lookahead = lookahead
        self.words = deque()
        self.descrambler = Descrambler()
        width = channel.width
        # The transmit gearbox sends one word of zeros after reset, then blocks back to back.
        self.line, self.length, self.start = 0, -width, width
        self.flipped = None

    def step(self, words):
        width = self.channel.width
        word = words[self.lane]
        if self.length < 0:
            self.length += width
        else:
            self.line |= word << self.length
            self.length += width
        while self.length >= BLOCK_BITS:
            value = self.line & ((1 << BLOCK_BITS) - 1)
            self.line >>= BLOCK_BITS
            self.length -= BLOCK_BITS
            payload = self.descrambler.payload(payload_of(value))
            if (self.flipped is None and header_of(value) == SYNC_DATA and
                    payload == self.payload):
                self.flipped = self.start + self.bit
                self.channel.flip(self.lane, self.flipped)
            self.start += BLOCK_BITS
        self.words.append(words)
        if len(self.words) <= self.lookahead:
            return [0] * self.channel.lanes
        return self.channel.step(self.words.popleft())


def run_loopback(link, path, vectors, *, seed=0, limit=4000):
    """Loop a SerialLink's ``tx`` back to its ``rx`` through ``path`` (a channel or a tap);
    after the epoch and alignment, SEND ``vectors`` at least ``send_interval`` cycles apart.
    Returns ``(sends, arrivals, status)``: ``(cycle, vector)`` pairs and the final values of
    the status members."""
    rng = random.Random(seed)
    dut = SerialLink(link)
    lanes = link.serial_lanes
    sends, arrivals, status = [], [], {}

    async def bench(ctx):
        cycle = 0

        async def step(**inputs):
            nonlocal cycle
            received = path.step([ctx.get(dut.tx[k]) for k in range(lanes)])
            for k in range(lanes):
                ctx.set(dut.rx[k], received[k])
            for name in ("epoch", "send", "send_data"):
                ctx.set(getattr(dut, name), inputs.get(name, 0))
            if ctx.get(dut.arrival):
                arrivals.append((cycle, ctx.get(dut.arrival_data)))
            await ctx.tick()
            cycle += 1

        for _ in range(8):
            await step()
        await step(epoch=1)
        while not ctx.get(dut.aligned):
            assert cycle < limit, "the lanes did not align"
            await step()
        for vector in vectors:
            sends.append((cycle, vector))
            await step(send=1, send_data=vector)
            for _ in range(link.send_interval - 1 + rng.choice([0, 0, 0, 1, 7])):
                await step()
        for _ in range(dut.latency + 4):
            await step()
        for name in ("locked", "aligned", "synced", "error", *COUNTERS):
            status[name] = ctx.get(getattr(dut, name))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return sends, arrivals, status


def quiet(link, frames):
    """The status of a link that delivered ``frames`` frames and saw nothing else."""
    return {"locked": (1 << link.serial_lanes) - 1, "aligned": 1, "synced": 1, "error": 0,
            **{name: 0 for name in COUNTERS}, "frames_received": frames}


# Received lane k carries transmitted lane permutation[k]; delays in line bits per
# transmitted lane. The edge case puts the slowest lane at the delay budget and the lanes
# skew_budget blocks apart.
EDGE = LINK.derive(delay_budget=10)
LOOPBACKS = {
    "direct": (LINK, dict(skew=0, phase=0)),
    "permuted-37-bits": (LINK, dict(skew=[37, 0, 37, 37], phase=0, permutation=[2, 0, 3, 1])),
    "budget-edge": (EDGE, dict(skew=[EDGE.delay_budget * EDGE.serdes_width,
                                     EDGE.delay_budget * EDGE.serdes_width
                                     - EDGE.skew_budget * BLOCK_BITS, 150, 200],
                               phase=0, permutation=[3, 1, 0, 2])),
    "width-64": (LINK.derive(serdes_width=64), dict(skew=[0, 64, 100, 200], seed=3,
                                                    permutation=[1, 2, 3, 0])),
}


@pytest.mark.parametrize("case", LOOPBACKS)
def test_loopback_delivers_every_vector_exactly_after_the_latency(case):
    link, channel = LOOPBACKS[case]
    latency = link.latency
    rng = random.Random(case)
    vectors = [int.from_bytes(random_vector(rng, link), "little") for _ in range(10)]
    sends, arrivals, status = run_loopback(
        link, Channel(link.serdes_width, link.serial_lanes, **channel), vectors, seed=len(case))
    assert [vector for _, vector in sends] == vectors
    assert arrivals == [(cycle + latency, vector) for cycle, vector in sends]
    assert status == quiet(link, len(sends))


@pytest.mark.parametrize("bit", [1, 2 + 3])      # the sync header; payload bit 3
def test_loopback_drops_a_frame_with_one_flipped_bit(bit):
    link = LINK
    rng = random.Random(7)
    target = 4                                   # the frame whose first data block is hit
    vectors = [int.from_bytes(random_vector(rng, link), "little") for _ in range(8)]
    channel = Channel(link.serdes_width, link.serial_lanes, skew=0, phase=0)
    # The first data block of a frame is block 1: transmitted lane 1. A payload bit below
    # 64 - 58 keeps the descrambler's copies of the error (39 and 58 bits later) in the block.
    tap = FlipTap(channel, 1, vectors[target] & ((1 << PAYLOAD_BITS) - 1), bit, lookahead=3)
    sends, arrivals, status = run_loopback(link, tap, vectors, seed=7)
    assert channel.flipped == [(1, tap.flipped)]
    latency = link.latency
    assert arrivals == [(cycle + latency, vector) for i, (cycle, vector) in enumerate(sends)
                        if i != target]
    expected = quiet(link, len(sends) - 1)
    assert status == {**expected, "crc_errors": 1, "error": 1}

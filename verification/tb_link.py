"""cocotb acceptance testbench of the serial link (:class:`~verification.link_harness.LinkPair`:
link ``a`` sends to link ``b`` through the channel model of :mod:`verification.channel`).

Oracles, all independent of the RTL (the line monitor and the corruption oracle are in
:mod:`verification.link_monitors`):

* the **send schedule**: a vector sent in cycle ``c`` must arrive in cycle ``c + latency``
  exactly, with its data (:data:`LATENCY`; ``LPU_FAULT=1`` makes it one cycle off, so that the
  launcher can prove the checker fails);
* the **line monitor** (:class:`LineMonitor`): it finds the block boundary of each transmitted
  lane on its own, descrambles the blocks with a word-level descrambler (checked against the
  bit-serial reference of :mod:`verification.link_reference` by the tests), and parses every
  frame with the reference :func:`~verification.link_reference.parse_frame`: the transmitter's
  line format, stamps and CRCs are checked on the line;
* the **corruption oracle** (:class:`CorruptionOracle`): from the channel's record of flipped
  bits, which blocks' descrambled content differs from what was sent (a flipped payload bit
  also flips the descrambled bits :data:`~isa.link.SCRAMBLER_TAPS` later, possibly in the next
  block of that lane), hence which frames the receiver must reject; and, from the received
  blocks that this gives, the frame errors and damaged idle superblocks that the receiver must
  count (:meth:`CorruptionOracle.classify`, the rule of :mod:`hdl.link.deframer`).

Cycle convention: :meth:`LinkBench.step` runs one cycle. It starts after the registers have
taken their values for the cycle (``ReadWrite``), reads ``a``'s line words (registered), passes
them through the channel and drives ``b``'s lanes and the other inputs for the same cycle, so
that a channel of delay 0 is a wire; the outputs read after the rising edge are those of the
cycle. The first cycles of every test check that the line words did not change within the
cycle (they must not depend on the inputs combinationally).

Scale: ``LINK_FULL=1`` runs the acceptance counts, else reduced counts; ``LINK_FRAMES`` sets
the frames of the bit-error run; ``LINK_CONFIG`` names the configuration
(:data:`~verification.link_harness.LINK_CONFIGS`). Each test writes its figures to
``<test>.json`` in the run directory.
"""

import json
import os
import random
from collections import deque
from statistics import median

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadWrite, RisingEdge

from isa.link import (BLOCK_BITS, STAMP_MODULUS)
from isa.timing import SIMULATION_CLOCK_NS
from .channel import Channel
from .link_harness import COUNTERS, LINK_CONFIGS
from .link_monitors import CorruptionOracle, LineMonitor
from .scoreboard import FAULT, Scoreboard

__all__ = ["LinkBench"]

LINK = LINK_CONFIGS[os.environ.get("LINK_CONFIG", "link")]
FULL = os.environ.get("LINK_FULL", "") == "1"
#: The latency the bench expects (one cycle off with the deliberate fault).
LATENCY = LINK.latency + int(FAULT)
WIDTH, LANES = LINK.serdes_width, LINK.serial_lanes
WORD_MASK = (1 << WIDTH) - 1
#: Lock must come within this many blocks of the receiver's reset.
LOCK_BLOCKS = 1000
#: Frames between two reads and clears of the 16-bit counters in long runs.
COUNTER_BATCH = 20_000
#: Cycles without a flipped line bit after which every error has reached the counters: a
#: superblock of a channel within the delay budget is counted within the link's latency.
QUIET_CYCLES = LATENCY
#: A line quiet for :data:`QUIET_CYCLES` must come within this many cycles.
QUIET_LIMIT = 100_000


class Frame:
    """A SEND: its cycle, vector and stamp; its superblocks on the line once the monitor has
    seen it."""

    def __init__(self, cycle, vector, stamp):
        self.cycle = cycle
        self.vector = vector
        self.stamp = stamp
        self.superblocks = None


class LinkBench:
    """Drives the :class:`~verification.link_harness.LinkPair` and checks every arrival.

    With ``strict`` (the default) every frame that the oracle finds intact must arrive in the
    cycle of its send plus :data:`LATENCY`, with its vector, and no corrupted frame may arrive;
    without, an intact frame may also be missing (skew or delay beyond the budgets), but
    whatever arrives must still be right.
    """

    def __init__(self, dut, seed):
        self.dut = dut
        self.rng = random.Random(seed)
        self.seed = seed
        self.board = Scoreboard("link")
        self.cycle = 0
        self.driven = {}
        self.channel = None
        self.monitor = None
        self.oracle = None
        self.strict = True
        self.check_tx_until = 0
        self.channel_start = self.b_released = None
        self.epoch_cycle = None
        self.unseen = deque()
        self.pending = deque()
        self.delivered = self.corrupted = self.wrong = 0
        self.latencies = set()

    def drive(self, name, value):
        if self.driven.get(name) != value:
            getattr(self.dut, name).value = value
            self.driven[name] = value

    async def start(self):
        for name in ("rst_a", "rst_b", "epoch", "send", "send_data", "rx", "clear"):
            self.drive(name, 0)
        Clock(self.dut.clk, SIMULATION_CLOCK_NS, unit="ns").start()
        self.dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        await ReadWrite()

    def new_channel(self, **parameters):
        """Both ends see a new channel (and the monitor a new line) from this cycle on."""
        self.channel = Channel(WIDTH, LANES, seed=self.rng.getrandbits(32), **parameters)
        self.monitor = LineMonitor(LINK, self._on_frame, self._on_superblock)
        self.oracle = CorruptionOracle(LINK, self.channel, self.monitor.lanes)
        self.check_tx_until = self.cycle + 200
        self.channel_start = self.cycle

    async def step(self, send=None, *, epoch=False, clear=False):
        """One cycle: SEND the vector ``send`` (if not ``None``), pulse ``epoch`` or
        ``clear``."""
        dut = self.dut
        tx = dut.tx.value.to_unsigned()
        words = [tx >> (lane * WIDTH) & WORD_MASK for lane in range(LANES)]
        self.monitor.push(words)
        received = self.channel.step(words)
        self.drive("rx", sum(word << (lane * WIDTH) for lane, word in enumerate(received)))
        self.drive("epoch", int(epoch))
        self.drive("clear", int(clear))
        self.drive("send", int(send is not None))
        if send is not None:
            self.drive("send_data", send)
            stamp = (self.cycle - self.epoch_cycle - 1) % STAMP_MODULUS
            frame = Frame(self.cycle, send, stamp)
            self.unseen.append(frame)
            self.pending.append(frame)
        if epoch:
            self.epoch_cycle = self.cycle
        await RisingEdge(dut.clk)
        if self.cycle < self.check_tx_until:
            self.board.compare(self.cycle, "line words settled in their cycle", tx,
                               dut.tx.value.to_unsigned())
        arrived = int(dut.arrival.value)
        data = dut.arrival_data.value.to_unsigned() if arrived else None
        self._check_arrival(data)
        await ReadWrite()
        self.cycle += 1

    def _on_frame(self, vector, stamp, ok, superblocks):
        if not self.unseen:
            self.board.compare(self.cycle, "frame on the line", "none sent", (vector, stamp))
            return
        frame = self.unseen.popleft()
        expected = (frame.vector.to_bytes(LINK.vector_bytes, "little"), frame.stamp, True)
        self.board.compare(self.cycle, f"frame of the SEND in cycle {frame.cycle} on the line",
                           expected, (vector, stamp, ok))
        frame.superblocks = superblocks

    def _on_superblock(self, index, blocks):
        self.oracle.push(index, blocks)

    def _check_arrival(self, data):
        due = self.pending[0] if self.pending and \
            self.pending[0].cycle + LATENCY == self.cycle else None
        if due is None:
            if data is not None:
                self.wrong += 1
                self.board.compare(self.cycle, "arrival", "none due", hex(data))
            return
        self.pending.popleft()
        if due.superblocks is None:
            self.board.compare(self.cycle, f"frame of the SEND in cycle {due.cycle} on the line "
                               "by its arrival", "seen", "not seen")
            return
        self.oracle.settle()
        bad = any(self.oracle.corrupted(lane, number) for number in due.superblocks
                  for lane in range(LANES))
        self.corrupted += bad
        if data is not None:
            self.delivered += 1
            self.wrong += bad or data != due.vector
            self.latencies.add(self.cycle - due.cycle)
            self.board.compare(self.cycle, f"arrival of the SEND in cycle {due.cycle}",
                               "intact" if not bad else "not delivered", "intact" if
                               data == due.vector else "delivered with wrong data")
        elif not bad and self.strict:
            self.board.compare(self.cycle, f"arrival of the SEND in cycle {due.cycle}",
                               hex(due.vector), "nothing")

    # ---- Sequences. ----

    async def idle(self, cycles):
        for _ in range(cycles):
            await self.step()

    async def until(self, condition, limit, what):
        """Step until ``condition()`` holds; fail after ``limit`` cycles. Returns the cycles."""
        for cycles in range(limit):
            if condition():
                return cycles
            await self.step()
        raise AssertionError(f"cycle {self.cycle}: not {what} within {limit} cycles "
                             f"(seed {self.seed})")

    def value(self, name):
        return int(getattr(self.dut, name).value)

    async def quiet(self):
        """Step until no line bit has been flipped for :data:`QUIET_CYCLES` cycles: every
        error so far has been counted, and classified by the oracle (so that counters read and
        cleared now, and the oracle's counts now, cover the same superblocks)."""
        def clean():
            flipped = self.channel.flipped
            return not flipped or flipped[-1][1] < self.channel.sent - QUIET_CYCLES * WIDTH
        await self.until(clean, QUIET_LIMIT, "a quiet line")
        self.oracle.settle()

    def bit_offsets(self):
        """Each transmitted lane's block boundary modulo a block, counted from the first line
        bit that ``b`` received after its reset."""
        received = (self.b_released - self.channel_start) * WIDTH
        return [(lane.offset + delay - received) % BLOCK_BITS
                for lane, delay in zip(self.monitor.lanes, self.channel.delays)]

    def up(self):
        return (self.value("locked") == (1 << LANES) - 1 and self.value("aligned")
                and self.value("synced"))

    async def reset(self, *, a_cycles=1, b_cycles=1, epoch_after=1, **channel):
        """Reset ``a`` for ``a_cycles`` and ``b`` for ``b_cycles`` (both from this cycle) on a
        new channel, and pulse the epoch ``epoch_after`` cycles after the later release."""
        self.new_channel(**channel)
        self.pending.clear()
        self.unseen.clear()
        self.drive("rst_a", 1)
        self.drive("rst_b", 1)
        for cycle in range(max(a_cycles, b_cycles) + epoch_after):
            if cycle == a_cycles:
                self.drive("rst_a", 0)
            if cycle == b_cycles:
                self.drive("rst_b", 0)
                self.b_released = self.cycle
            await self.step(epoch=cycle == max(a_cycles, b_cycles) + epoch_after - 1)

    async def come_up(self, limit=4000):
        """Wait for lock, alignment and the epoch, two marker periods more (the lanes stay
        aligned), and clear the counters."""
        await self.until(self.up, limit, "locked and aligned")
        await self.idle(2 * LINK.marker_period * BLOCK_BITS // WIDTH)
        assert self.up(), f"cycle {self.cycle}: the link went down again (seed {self.seed})"
        await self.step(clear=True)

    async def traffic(self, frames, *, spacing=None):
        """SEND ``frames`` random vectors, ``spacing`` cycles apart (default: random, at least
        :attr:`~isa.link.LinkConfig.send_interval`), then wait until all are due."""
        for _ in range(frames):
            vector = self.rng.getrandbits(8 * LINK.vector_bytes)
            gap = spacing or self.rng.randint(LINK.send_interval, 3 * LINK.send_interval)
            await self.step(vector)
            await self.idle(gap - 1)
        await self.idle(LATENCY + 1)

    def counters(self):
        return {name: self.value(name) for name in COUNTERS}

    def expect_counters(self, **expected):
        """Compare every counter with ``expected`` (0 where not given)."""
        observed = self.counters()
        for name in COUNTERS:
            self.board.compare(self.cycle, name, expected.get(name, 0), observed[name])

    def save(self, name, figures):
        with open(f"{name}.json", "w") as handle:
            json.dump(figures, handle, indent=1, sort_keys=True)
        self.dut._log.info("%s: %s", name, figures)


def distribution(values):
    """Median, 99th percentile and maximum of ``values``."""
    ordered = sorted(values)
    return {"count": len(ordered), "median": median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "max": ordered[-1]}


@cocotb.test()
async def lock_from_every_bit_offset(dut):
    """Every lane locks within :data:`LOCK_BLOCKS` blocks of the receiver's reset, whatever its
    bit offset: lane delays of ``4 * reset + lane`` bits go round all the offsets (checked from
    the monitor's block boundaries). No false lock: no lane ever loses lock, the lanes align,
    and frames pass."""
    bench = LinkBench(dut, seed=1)
    await bench.start()
    resets = 260 if FULL else 17
    blocks, offsets = [], set()
    for reset in range(resets):
        skew = [(LANES * reset + lane) % BLOCK_BITS for lane in range(LANES)]
        await bench.reset(skew=skew, phase=0,
                          permutation=bench.rng.sample(range(LANES), LANES))
        locked_at = [None] * LANES
        while None in locked_at:
            assert bench.cycle - bench.b_released <= LOCK_BLOCKS * BLOCK_BITS // WIDTH, \
                f"reset {reset}: lanes {locked_at} not locked within {LOCK_BLOCKS} blocks"
            locked = bench.value("locked")
            for lane in range(LANES):
                if locked >> lane & 1 and locked_at[lane] is None:
                    locked_at[lane] = bench.cycle
            await bench.step()
        blocks += [(at - bench.b_released) * WIDTH // BLOCK_BITS for at in locked_at]
        await bench.until(bench.up, 2000, "aligned")
        offsets.update(bench.bit_offsets())
        lock_losses = bench.value("lock_losses")
        assert lock_losses == 0, f"reset {reset}: {lock_losses} lock losses after locking"
        await bench.step(clear=True)
        await bench.traffic(3)
        bench.expect_counters(frames_received=3)
    bench.board.check()
    assert bench.delivered == 3 * resets
    missing = set(range(BLOCK_BITS)) - offsets
    assert not missing, f"bit offsets not tried: {sorted(missing)}"
    figures = distribution(blocks)
    assert figures["max"] <= LOCK_BLOCKS
    bench.save("lock", figures)


@cocotb.test()
async def slip_loses_and_regains_lock(dut):
    """A bit dropped or inserted on one lane loses that lane's lock, which comes back;
    ``lock_losses`` counts one loss; the lanes realign and frames pass again."""
    bench = LinkBench(dut, seed=2)
    await bench.start()
    for insert in (False, True):
        await bench.reset(delay=2, permutation=bench.rng.sample(range(LANES), LANES))
        await bench.come_up()
        await bench.traffic(3)
        lane = bench.rng.randrange(LANES)
        bench.channel.slip(lane, bench.channel.sent + 100, insert=insert)
        received_lane = bench.channel.permutation.index(lane)
        await bench.until(lambda: not bench.value("locked") >> received_lane & 1, 1000,
                          "out of lock")
        await bench.until(bench.up, 4000, "locked and aligned again")
        # The lane delivers garbage between the slip and the loss of lock: errors of other
        # kinds may be counted meanwhile.
        assert bench.value("lock_losses") == 1
        assert bench.value("frames_received") == 3
        await bench.step(clear=True)
        await bench.traffic(3)
        bench.expect_counters(frames_received=3)
    bench.board.check()


async def deskew_case(bench, spread, *, within, phase=None):
    """Lanes whose delays spread over ``spread`` bits, in a random permutation, all at bit
    phase ``phase`` (random if ``None``). ``within``: the skew must be absorbed (frames
    arrive, nothing counted); ``False``: it must be flagged (deskew failures, the sticky
    error); ``None``: either. Whatever arrives must be right."""
    delays = [0, spread] + [bench.rng.randint(0, spread) for _ in range(LANES - 2)]
    bench.rng.shuffle(delays)
    if phase is None:
        phase = bench.rng.randrange(WIDTH)
    await bench.reset(delay=bench.rng.randint(0, 4), skew=delays, phase=[phase] * LANES,
                      permutation=bench.rng.sample(range(LANES), LANES))
    if within:
        await bench.come_up()
        await bench.traffic(8)
        bench.expect_counters(frames_received=8)
        return
    bench.strict = False
    await bench.idle(3000)
    await bench.step(clear=True)
    before = bench.delivered
    await bench.traffic(8)
    failures = bench.value("deskew_failures")
    if within is None:
        assert failures > 0 or bench.delivered - before == 8, \
            f"spread {spread} bits, phase {phase}: neither aligned nor flagged"
    else:
        assert failures > 0, f"spread {spread} bits, phase {phase}: no deskew failure"
        assert bench.value("error") == 1
    bench.strict = True


@cocotb.test()
async def deskew_up_to_the_budget(dut):
    """A skew of exactly ``skew_budget`` blocks at every bit phase (every other one at
    reduced counts), and random skews below it, lanes permuted: frames arrive on time and
    nothing else is counted."""
    bench = LinkBench(dut, seed=3)
    await bench.start()
    budget = LINK.skew_budget * BLOCK_BITS
    for phase in range(0, WIDTH, 1 if FULL else 2):
        await deskew_case(bench, budget, within=True, phase=phase)
    for spread in [blocks * BLOCK_BITS for blocks in range(LINK.skew_budget)] + [
            bench.rng.randrange(budget) for _ in range(8 if FULL else 2)]:
        await deskew_case(bench, spread, within=True)
    bench.board.check()


@cocotb.test()
async def skew_beyond_the_budget_is_flagged(dut):
    """A skew of more than ``skew_budget + 1`` blocks is always flagged: deskew failures, the
    sticky error, and nothing wrong delivered. The smallest spread tried is one block and one
    bit beyond the budget, at several bit phases; larger ones follow. Between ``skew_budget``
    and ``skew_budget + 1`` blocks the lanes are aligned or flagged, and whatever arrives is
    right."""
    bench = LinkBench(dut, seed=8)
    await bench.start()
    beyond = (LINK.skew_budget + 1) * BLOCK_BITS
    for phase in range(0, WIDTH, WIDTH // (8 if FULL else 2)):
        await deskew_case(bench, beyond + 1, within=False, phase=phase)
    for spread in (beyond + BLOCK_BITS // 2, beyond + BLOCK_BITS,
                   2 * LINK.skew_budget * BLOCK_BITS):
        await deskew_case(bench, spread, within=False)
    for spread in (beyond - BLOCK_BITS + 1, beyond - BLOCK_BITS // 2, beyond):
        await deskew_case(bench, spread, within=None)
    bench.board.check()


@cocotb.test()
async def fixed_latency_over_resets(dut):
    """Over many resets with random channel delay (0 and the budget included), skew, bit
    phase and reset timing of both ends, every vector arrives exactly :data:`LATENCY` cycles
    after its SEND, with its data; the counters count exactly the frames."""
    bench = LinkBench(dut, seed=4)
    await bench.start()
    resets = 100 if FULL else 6
    frames = 0
    for reset in range(resets):
        delay = {0: 0, 1: LINK.delay_budget}.get(reset, bench.rng.randint(0, LINK.delay_budget))
        slowest = delay * WIDTH
        spread = min(slowest, LINK.skew_budget * BLOCK_BITS)
        delays = [slowest] + [slowest - bench.rng.randint(0, spread) for _ in range(LANES - 1)]
        bench.rng.shuffle(delays)
        await bench.reset(a_cycles=bench.rng.randint(1, 40), b_cycles=bench.rng.randint(1, 40),
                          epoch_after=bench.rng.randint(1, 60), skew=delays, phase=0,
                          permutation=bench.rng.sample(range(LANES), LANES))
        await bench.come_up()
        count = bench.rng.randint(5, 15)
        await bench.traffic(count)
        frames += count
        bench.expect_counters(frames_received=count)
        assert bench.value("error") == 0
    bench.board.check()
    assert bench.delivered == frames
    assert bench.latencies == {LATENCY}, f"latencies {bench.latencies}"
    bench.save("fixed_latency", {"resets": resets, "frames": frames,
                                 "latencies": sorted(bench.latencies)})


@cocotb.test()
async def throughput(dut):
    """Vectors SENT back to back, one every ``send_interval`` cycles, through a channel at the
    delay budget with the lanes skewed and permuted: every one arrives intact, exactly
    :data:`LATENCY` cycles after its SEND, with no overrun. Writes the payload bandwidth (vector
    bytes delivered per cycle of SENDs) for the bench."""
    bench = LinkBench(dut, seed=9)
    await bench.start()
    slowest = LINK.delay_budget * WIDTH
    delays = [slowest - bench.rng.randint(0, LINK.skew_budget * BLOCK_BITS)
              for _ in range(LANES - 1)] + [slowest]
    await bench.reset(skew=delays, phase=0, permutation=bench.rng.sample(range(LANES), LANES))
    await bench.come_up()
    frames = 2000 if FULL else 300
    await bench.traffic(frames, spacing=LINK.send_interval)
    bench.expect_counters(frames_received=frames)
    bench.board.check()
    assert bench.delivered == frames and bench.wrong == 0
    assert bench.latencies == {LATENCY}, f"latencies {bench.latencies}"
    bench.save("throughput", {
        "frames": frames, "latencies": sorted(bench.latencies),
        "bytes_per_cycle": bench.delivered * LINK.vector_bytes / (frames * LINK.send_interval)})


@cocotb.test()
async def late_beyond_the_delay_budget(dut):
    """A channel slower than the budget: a frame either arrives on time and intact or is
    counted late and not delivered; a channel slower than the whole latency delivers
    nothing."""
    bench = LinkBench(dut, seed=5)
    await bench.start()
    bench.strict = False
    for delay in (LINK.delay_budget + 1, LATENCY + 1):
        await bench.reset(delay=delay, phase=0)
        await bench.come_up(limit=4000 + delay)
        before = bench.delivered
        await bench.traffic(8)
        await bench.idle(delay)             # the last frames' verdicts come after their due
        received, late = bench.value("frames_received"), bench.value("late_frames")
        assert received == bench.delivered - before
        assert received + late == 8, f"delay {delay}: {received} received, {late} late"
        if delay > LATENCY:
            assert late == 8
            assert bench.value("error") == 1
    bench.board.check()


@cocotb.test()
async def few_flipped_bits_are_detected(dut):
    """Frames with 1, 2, 3 and 4 flipped line bits anywhere in their blocks, on any lanes, are
    all rejected and counted once each in ``crc_errors``; nothing wrong is delivered. A flip
    whose descrambled copies land in the next superblock damages it too: an idle one counts in
    ``line_errors`` (a marker is dropped): the counters equal the oracle's classification."""
    bench = LinkBench(dut, seed=6)
    await bench.start()
    await bench.reset(delay=8, phase=0)
    await bench.come_up()
    before = bench.oracle.counts()
    per_count = 40 if FULL else 10
    hits = {}

    def hit(frame, flips):
        lanes = bench.monitor.lanes
        positions = bench.rng.sample([(lane, number, bit) for lane in range(LANES)
                                      for number in frame.superblocks
                                      for bit in range(BLOCK_BITS)], flips)
        for lane, number, bit in positions:
            bench.channel.flip(lane, lanes[lane].offset + number * BLOCK_BITS + bit)

    for flips in (1, 2, 3, 4):
        for _ in range(per_count):
            await bench.step(bench.rng.getrandbits(8 * LINK.vector_bytes))
            frame = bench.pending[-1]
            await bench.until(lambda: frame.superblocks is not None, 100, "on the line")
            hit(frame, flips)
            hits[frame] = flips
            await bench.idle(LATENCY)
    await bench.quiet()
    assert bench.wrong == 0, f"{bench.wrong} corrupted or unexpected frames delivered"
    bench.board.check()
    assert bench.corrupted == len(hits) == 4 * per_count
    after = bench.oracle.counts()
    expected = {**dict.fromkeys(COUNTERS, 0),
                **{name: after[name] - before[name] for name in after},
                "frames_received": len(hits) - bench.corrupted}
    hit_superblocks = {number for frame in hits for number in frame.superblocks}
    assert expected["crc_errors"] == bench.corrupted, \
        (f"the oracle classifies {expected['crc_errors']} frame errors, not {bench.corrupted}: "
         + ", ".join(f"{index}: {[hex(value) for value in superblock]}"
                     for kind, index, frame in bench.oracle.errors if kind == "frame"
                     and index not in hit_superblocks for superblock in frame))
    assert expected["line_errors"] > 0, "no flip reached an idle superblock"
    counters = bench.counters()
    assert counters == expected, f"counters {counters}, expected {expected}"
    bench.save("flipped_bits", counters)


@cocotb.test()
async def random_bit_errors_are_counted_exactly(dut):
    """At a bit error rate of 1e-4, over many frames: no corrupted frame is delivered, every
    intact one is, and the counters equal what the channel did: ``frames_received`` the intact
    frames, ``crc_errors`` and ``line_errors`` the oracle's classification of the received
    superblocks (the corrupted frames, and damaged idle superblocks between them). The counters
    are read and cleared on a quiet line, so that they and the oracle cover the same
    superblocks."""
    bench = LinkBench(dut, seed=7)
    await bench.start()
    frames = int(os.environ.get("LINK_FRAMES", 1_000_000 if FULL else 1000))
    await bench.reset(delay=3, ber=1e-4)
    await bench.come_up()
    await bench.quiet()
    await bench.step(clear=True)
    before = bench.oracle.counts()
    bench.delivered = bench.corrupted = 0
    flipped = len(bench.channel.flipped)
    totals = dict.fromkeys(COUNTERS, 0)
    # In batches that the 16-bit counters hold, cleared in between.
    for start in range(0, frames, COUNTER_BATCH):
        await bench.traffic(min(COUNTER_BATCH, frames - start), spacing=LINK.send_interval)
        await bench.quiet()
        for name, value in bench.counters().items():
            totals[name] += value
        await bench.step(clear=True)
    assert bench.wrong == 0, f"{bench.wrong} corrupted or unexpected frames delivered"
    after = bench.oracle.counts()
    expected = {**dict.fromkeys(COUNTERS, 0),
                **{name: after[name] - before[name] for name in after},
                "frames_received": frames - bench.corrupted}
    assert expected["crc_errors"] >= bench.corrupted
    assert totals == expected, f"counters {totals}, expected {expected}"
    bench.board.check()
    assert bench.delivered == frames - bench.corrupted
    bench.save("bit_errors", {"frames": frames, "corrupted": bench.corrupted,
                              "crc_errors": totals["crc_errors"],
                              "line_errors": totals["line_errors"],
                              "flipped_bits": len(bench.channel.flipped) - flipped,
                              "cycles": bench.cycle})

"""Lane deskew: per-lane elastic buffers aligned on the alignment markers (:mod:`isa.link`).

Each lane's received blocks go into a FIFO of :func:`deskew_depth` blocks.

Search (all lanes locked, not aligned): every lane drops blocks until a marker block is at its
FIFO's head and holds it there; the blocks queued behind a held marker are the skew that lane
has seen so far. When every lane holds a marker and their lane numbers are a permutation, the
markers are dropped together and the lanes are aligned. If a lane has more than
``skew_budget`` blocks behind its held marker (the block written in this cycle included) while
another lane still has none, the skew is beyond the budget: a failure. The guarantee, for two
lanes whose markers are ``s`` line bits apart (:data:`~isa.link.BLOCK_BITS` to a block):

* ``s`` at most ``skew_budget`` blocks: the early lane has at most ``skew_budget`` blocks
  behind its marker when the late lane's marker is written, whatever the bit phases:
  absorbed;
* ``s`` more than ``skew_budget + 1`` blocks: the early lane's block ``skew_budget + 1`` after
  its marker ends before the late lane's marker, so it is written no later: always flagged;
* in between, whether that block is written by then depends on where the two blocks end in
  their words: the lanes are either aligned correctly (the FIFOs hold the extra block) or
  flagged, and no misaligned superblock is ever passed on.

(The markers are periodic: a skew of ``marker_period - skew_budget`` blocks or more can pair a
lane's marker with the next one of another lane, so the link's skew must stay well below that;
the default ``marker_period`` is 64 superblocks.)

Aligned: a superblock leaves, in lane-number order, in every cycle in which every FIFO holds a
block. Like IEEE 802.3ba's alignment marker lock, the deskew then knows where the markers are:
every ``marker_period`` superblocks after the one it aligned on (the framer sends a marker
superblock every ``marker_period`` superblocks, the marker included). The superblock at each
of those positions is dropped whatever its content; a lane whose block there is not its marker
(the marker type, :data:`~isa.link.MARKER_BYTE` and the lane number it aligned with) misses
it, and :data:`MARKER_MISSES` consecutive misses on one lane are a failure. A superblock that
looks like a marker at another position is passed on as data (the deframer finds it bad). A
FIFO that fills while aligned (blocks would be lost) is a failure too.

A failure, or any lane losing lock, empties the FIFOs and starts the search again at the next
markers. (In the first search after the lanes lock, the earliest lanes' markers may have come
before the last lane locked: a skew beyond the budget then starts the search again without a
failure.) An epoch pulse restarts the transmitter's marker count: while aligned, the receiver
then misses its markers and searches again after :data:`MARKER_MISSES`, a failure; the epoch
is meant to come before the lanes align, when the system starts.

Pipeline: a block written in cycle ``t`` can leave in cycle ``t + 1``; ``superblock`` is
registered, so the superblock whose last block arrives in cycle ``t`` is out in cycle ``t + 2``
(:data:`~isa.link.DESKEW_LATENCY`). Skew costs no latency of its own: the slowest lane sets
the pace.
"""

import operator
from functools import reduce

from amaranth import *
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from isa.link import BLOCK_BITS, MARKER_BYTE, SYNC_CONTROL, BlockType
from .framer import check_link, superblock_layout
from .lock import HEADER_BITS

__all__ = ["MARKER_MISSES", "deskew_depth", "LaneDeskew"]

#: Consecutive markers that a lane must miss, once aligned, before the deskew gives up its
#: alignment (IEEE 802.3ba's alignment marker lock uses the same count). Lanes that have really
#: slipped apart miss every marker, so four cost only four marker periods. A bit error damages
#: one lane's marker with a probability of about ``(BLOCK_BITS + SCRAMBLER_STATE_BITS) * BER``
#: (the block's bits, and the bits before it whose descrambled copies reach it): at a bit error
#: rate of 1e-4 a lane misses four in a row once in about 4e7 markers (at 1e-12, never), while
#: counting single misses would realign the link, and lose the frames in flight, at every error.
#: Misses are counted per lane, as 802.3ba does: counting a superblock with any lane's marker
#: damaged as a miss would multiply that rate by ``serial_lanes ** 3``.
MARKER_MISSES = 4


def deskew_depth(link):
    """Blocks of each lane's FIFO: the held marker, ``skew_budget + 1`` blocks behind it (the
    most a search lets pass, module docstring), one block written in the cycle the slowest
    lane's block becomes visible, and one written in the cycle the superblock leaves."""
    return link.skew_budget + 4


class LaneDeskew(wiring.Component):
    """Aligns and reorders the serial lanes (module docstring).

    Parameters
    ----------
    link : LinkConfig

    Members
    -------
    blocks : In(66).array(serial_lanes)
        Each received lane's descrambled block.
    valid : In(serial_lanes)
        Bit ``k``: ``blocks[k]`` is a new block in this cycle.
    locked : In(serial_lanes)
        Bit ``k``: received lane ``k`` has block lock.
    superblock : Out(ArrayLayout(66, serial_lanes))
        One block per lane, in the order of the lanes' marker numbers (registered).
    strobe : Out(1)
        ``superblock`` is a new superblock in this cycle (never one at a marker position).
    aligned : Out(1)
        The lanes are aligned.
    failure : Out(1)
        A one-cycle pulse: skew beyond the budget, markers that are not a permutation, a lane
        missing :data:`MARKER_MISSES` markers in a row, or a full FIFO while aligned.
    """

    def __init__(self, link):
        self.link = check_link("LaneDeskew", link)
        lanes = link.serial_lanes
        super().__init__({
            "blocks":     In(BLOCK_BITS).array(lanes),
            "valid":      In(lanes),
            "locked":     In(lanes),
            "superblock": Out(superblock_layout(link)),
            "strobe":     Out(1),
            "aligned":    Out(1),
            "failure":    Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        link = self.link
        lanes = link.serial_lanes
        depth = deskew_depth(link)
        flush = Signal()
        heads, present, room, markers, numbers, pops, behind = [], [], [], [], [], [], []
        for k in range(lanes):
            buffer = ResetInserter(flush)(fifo.SyncFIFO(width=BLOCK_BITS, depth=depth))
            m.submodules[f"lane_{k}"] = buffer
            m.d.comb += [buffer.w_data.eq(self.blocks[k]), buffer.w_en.eq(self.valid[k])]
            head = buffer.r_data
            payload = head[HEADER_BITS:]
            heads.append(head)
            present.append(buffer.r_rdy)
            room.append(buffer.w_rdy)
            markers.append(buffer.r_rdy & (head[:HEADER_BITS] == SYNC_CONTROL) &
                           (payload[:8] == BlockType.MARKER) &
                           (payload[8:16] == MARKER_BYTE))
            numbers.append(payload[16:24])
            pops.append(buffer.r_en)
            # Blocks behind the head, counting the one written in this cycle.
            count = Signal(range(depth + 1), name=f"behind_{k}")
            m.d.comb += count.eq(buffer.level - 1 + self.valid[k])
            behind.append(count)

        # The first search after the lanes lock: the earliest lanes' markers may have arrived
        # before the last lane locked, so a skew beyond the budget then is no failure.
        first = Signal()
        # Each received lane's marker number while aligned.
        lane_of = [Signal(range(lanes), name=f"lane_of_{k}") for k in range(lanes)]
        # Superblocks to pass on before the next marker position, and each lane's consecutive
        # marker misses.
        countdown = Signal(range(link.marker_period))
        misses = [Signal(range(MARKER_MISSES), name=f"misses_{k}") for k in range(lanes)]
        permutation = Cat(*(n < lanes for n in numbers)).all()
        for a in range(lanes):
            for b in range(a + 1, lanes):
                permutation &= numbers[a] != numbers[b]
        all_present = Cat(*present).all()
        all_markers = Cat(*markers).all()
        beyond = (Cat(*(markers[k] & (behind[k] > link.skew_budget) for k in range(lanes)))
                  .any())
        overflow = Cat(*(self.valid[k] & ~room[k] for k in range(lanes))).any()
        # A lane misses the marker at a marker position for the MARKER_MISSES-th time in a row.
        lost = Cat(*((misses[k] == MARKER_MISSES - 1) & ~(markers[k] & (numbers[k] == lane_of[k]))
                     for k in range(lanes))).any()

        m.d.comb += self.aligned.eq(0)
        m.d.sync += self.strobe.eq(0)
        with m.FSM():
            with m.State("UNLOCKED"):
                m.d.comb += flush.eq(1)
                m.d.sync += first.eq(1)
                with m.If(self.locked.all()):
                    m.next = "SEARCH"
            with m.State("SEARCH"):
                for k in range(lanes):
                    m.d.comb += pops[k].eq(present[k] & ~markers[k])
                with m.If(~self.locked.all()):
                    m.next = "UNLOCKED"
                with m.Elif(all_markers):
                    m.d.comb += [pop.eq(1) for pop in pops]
                    m.d.sync += first.eq(0)
                    with m.If(permutation):
                        m.d.sync += [lane_of[k].eq(numbers[k]) for k in range(lanes)]
                        m.d.sync += [countdown.eq(link.marker_period - 1),
                                     *(miss.eq(0) for miss in misses)]
                        m.next = "ALIGNED"
                    with m.Else():
                        m.d.comb += self.failure.eq(1)
                with m.Elif(beyond):
                    m.d.comb += [flush.eq(1), self.failure.eq(~first)]
                    m.d.sync += first.eq(0)
            with m.State("ALIGNED"):
                m.d.comb += self.aligned.eq(1)
                with m.If(~self.locked.all()):
                    m.d.comb += flush.eq(1)
                    m.next = "UNLOCKED"
                with m.Elif(overflow | (all_present & (countdown == 0) & lost)):
                    m.d.comb += [flush.eq(1), self.failure.eq(1)]
                    m.next = "SEARCH"
                with m.Elif(all_present):
                    m.d.comb += [pop.eq(1) for pop in pops]
                    with m.If(countdown == 0):
                        # A marker position: dropped whatever it holds.
                        m.d.sync += countdown.eq(link.marker_period - 1)
                        for k in range(lanes):
                            with m.If(markers[k] & (numbers[k] == lane_of[k])):
                                m.d.sync += misses[k].eq(0)
                            with m.Else():
                                m.d.sync += misses[k].eq(misses[k] + 1)
                    with m.Else():
                        m.d.sync += [countdown.eq(countdown - 1), self.strobe.eq(1)]
                        for logical in range(lanes):
                            # The head of the received lane whose marker carried ``logical``.
                            m.d.sync += self.superblock[logical].eq(reduce(operator.or_, (
                                Mux(lane_of[k] == logical, heads[k], 0) for k in range(lanes))))
        return m

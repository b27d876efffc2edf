"""The receive side of the link: aligned superblocks back to frames (:mod:`isa.link`).

The deframer takes the deskewed superblocks (markers already removed) and checks every block
of a frame against the format: the start block (sync header, type, zero bytes), the data
blocks' sync headers, the terminate block (header, type, zero bytes and the CRC-32, computed
lane by lane as the superblocks arrive) and the idle padding. A frame that passes every check
leaves with ``ok``; any other frame gives one ``error`` pulse and is never output as good.

Between frames, each superblock is one of:

* *idle*: every block is a valid idle block;
* *the start of a frame*: lane 0's block has a control header and the start type, or any block
  has a data sync header or a control header with the terminate type. A frame whose start
  block was damaged is still a frame, checked (and rejected) as one: it counts once, as a
  frame error;
* *a damaged idle superblock*: anything else (a bit error in an idle block, or the
  descrambler's copy of an error in the block before it). It gives one ``line_error`` pulse: no
  data was lost, so it is line quality, not a frame error.

When the lanes (re)align, the first superblocks may be the tail of a frame whose start was
lost before: until an idle superblock or one whose lane 0 holds a start block, the deframer
neither counts nor starts anything.

Pipeline: the superblock carrying a frame's terminate block is checked in the cycle it arrives;
``ok``, ``error`` and ``line_error`` are registered (:data:`~isa.link.DEFRAMER_LATENCY`).
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.link import (CRC32_INIT, CRC32_XOROUT, IDLE_PAYLOAD, PAYLOAD_BITS, SYNC_CONTROL,
                      SYNC_DATA, BlockType)
from .crc import CRC_BITS
from .framer import STAMP_BITS, absorb, check_link, superblock_layout
from .lock import HEADER_BITS

__all__ = ["Deframer"]


class Deframer(wiring.Component):
    """Rebuilds and checks frames (module docstring).

    Parameters
    ----------
    link : LinkConfig

    Members
    -------
    superblock : In(ArrayLayout(66, serial_lanes))
        Descrambled blocks in lane order.
    strobe : In(1)
        ``superblock`` is a new superblock in this cycle.
    aligned : In(1)
        The lanes are aligned; while low the deframer waits for a start block.
    ok : Out(1)
        A one-cycle pulse: ``data`` and ``stamp`` hold a good frame.
    error : Out(1)
        A one-cycle pulse: a frame (module docstring) was corrupt or malformed.
    line_error : Out(1)
        A one-cycle pulse: a damaged idle superblock between frames (module docstring).
    data : Out(8 * vector_bytes)
    stamp : Out(16)
    """

    def __init__(self, link):
        self.link = check_link("Deframer", link)
        super().__init__({
            "superblock": In(superblock_layout(link)),
            "strobe":     In(1),
            "aligned":    In(1),
            "ok":         Out(1),
            "error":      Out(1),
            "line_error": Out(1),
            "data":       Out(8 * link.vector_bytes),
            "stamp":      Out(STAMP_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        link = self.link
        lanes, words = link.serial_lanes, link.vector_bytes * 8 // PAYLOAD_BITS
        terminate = link.frame_blocks - 1
        last = link.frame_superblocks - 1

        in_frame = Signal()                                 # a frame's superblocks are coming
        hunting = Signal(init=1)                            # after (re)alignment
        position = Signal(range(link.frame_superblocks))    # superblock of the frame
        bad = Signal()                                      # a block of this frame was wrong
        crc = Signal(CRC_BITS)

        headers = [self.superblock[k][:HEADER_BITS] for k in range(lanes)]
        payloads = [self.superblock[k][HEADER_BITS:] for k in range(lanes)]
        idle = [(headers[k] == SYNC_CONTROL) & (payloads[k] == IDLE_PAYLOAD)
                for k in range(lanes)]
        starts = (headers[0] == SYNC_CONTROL) & (payloads[0][:8] == BlockType.START)
        # Between frames, blocks that only a frame carries: a damaged start block still opens
        # its frame.
        framed = starts | Cat(*((headers[k] == SYNC_DATA) | (
            (headers[k] == SYNC_CONTROL) & (payloads[k][:8] == BlockType.TERMINATE))
            for k in range(lanes))).any()
        here = Mux(in_frame, position, 0)       # superblock of the frame in this cycle
        process = Signal()                      # this superblock belongs to a frame
        m.d.comb += process.eq(self.aligned & self.strobe & (
            in_frame | starts | (framed & ~hunting)))

        running = Signal(CRC_BITS)
        m.d.comb += running.eq(Mux(in_frame, crc, CRC32_INIT))
        wrong = []
        for lane in range(lanes):
            header, payload = headers[lane], payloads[lane]
            block_wrong = Signal(name=f"wrong_{lane}")
            absorbs = Signal(name=f"absorbs_{lane}")
            ends = Signal(name=f"ends_{lane}")
            with m.Switch(here):
                for j in range(link.frame_superblocks):
                    i = j * lanes + lane
                    with m.Case(j):
                        if i == 0:
                            m.d.comb += [absorbs.eq(1), block_wrong.eq(
                                ~starts | (payload[8 + STAMP_BITS:] != 0))]
                        elif i <= words:
                            m.d.comb += [absorbs.eq(1), block_wrong.eq(header != SYNC_DATA)]
                        elif i == terminate:
                            m.d.comb += ends.eq(1)
                        else:
                            m.d.comb += block_wrong.eq(~idle[lane])
                        if 1 <= i <= words:
                            with m.If(process):
                                m.d.sync += self.data.word_select(i - 1, PAYLOAD_BITS).eq(payload)
            expected = Cat(Const(BlockType.TERMINATE, 8), running ^ CRC32_XOROUT)
            wrong.append(block_wrong | (ends & ((header != SYNC_CONTROL) | (
                payload != Cat(expected, Const(0, PAYLOAD_BITS - len(expected)))))))
            running = absorb(m, lane, running, payload, absorbs)
        frame_wrong = Cat(*wrong).any()

        m.d.sync += [self.ok.eq(0), self.error.eq(0), self.line_error.eq(0)]
        with m.If(~self.aligned):
            m.d.sync += [in_frame.eq(0), hunting.eq(1)]
        with m.Elif(self.strobe):
            with m.If(process):
                with m.If(~in_frame):
                    m.d.sync += self.stamp.eq(payloads[0][8:8 + STAMP_BITS])
                m.d.sync += [crc.eq(running), bad.eq(Mux(in_frame, bad, 0) | frame_wrong),
                             hunting.eq(0)]
                with m.If(here == last):
                    m.d.sync += [in_frame.eq(0), position.eq(0),
                                 self.ok.eq(~(in_frame & bad) & ~frame_wrong),
                                 self.error.eq((in_frame & bad) | frame_wrong)]
                with m.Else():
                    m.d.sync += [in_frame.eq(1), position.eq(here + 1)]
            with m.Elif(Cat(*idle).all()):
                m.d.sync += hunting.eq(0)
            with m.Elif(~hunting):
                m.d.sync += self.line_error.eq(1)
        return m

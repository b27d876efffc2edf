"""The transmit side of the link: vectors to superblocks of unscrambled blocks (:mod:`isa.link`).

A SEND writes the vector and its stamp into a queue of :data:`QUEUE_DEPTH` frames (a SEND
finding it full is dropped and counted as an overrun). In every ``ready`` cycle of the lanes'
transmit gearboxes (one pattern for all lanes) the framer hands over one superblock:

* a marker superblock when the superblock count, restarted by ``epoch`` and wrapping at
  ``marker_period``, is 0;
* else the next superblock of the frame at the head of the queue: the start block with the
  stamp, the data blocks, the terminate block with the CRC-32, idle padding;
* else an idle superblock.

The CRC register absorbs a superblock's words (the start block's payload and the vector's) in
the cycle the superblock is taken, lane by lane, so the terminate block's CRC is ready in the
same cycle as the frame's last data words.

A frame reaches the head of the queue the cycle after its SEND. With SENDs at least
:attr:`~isa.link.LinkConfig.send_interval` cycles apart a frame never waits for the previous one:
a window of ``send_interval`` cycles holds ``frame_superblocks + 1`` ready cycles (the
gearboxes' pattern spreads its ready cycles evenly), enough for the frame and one marker
(``marker_period`` exceeds a frame's superblocks).
"""

from amaranth import *
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from isa.link import (BLOCK_BITS, CRC32_INIT, CRC32_XOROUT, IDLE_PAYLOAD, MARKER_BYTE,
                      PAYLOAD_BITS, STAMP_BITS, SYNC_CONTROL, SYNC_DATA, BlockType,
                      LinkConfig)
from .crc import CRC_BITS, crc32_step
from .lock import HEADER_BITS

__all__ = ["QUEUE_DEPTH", "STAMP_BITS", "check_link", "superblock_layout", "control_payload",
           "absorb",
           "Framer"]

#: Frames the transmit queue holds: the one being sent and the next one.
QUEUE_DEPTH = 2


def check_link(component, link):
    """``link`` must be a :class:`~isa.link.LinkConfig` (``component`` names the caller)."""
    if not isinstance(link, LinkConfig):
        raise TypeError(f"{component} needs a LinkConfig, not {link!r}")
    return link


def superblock_layout(link):
    """One block per serial lane, lane 0 first."""
    return data.ArrayLayout(BLOCK_BITS, link.serial_lanes)


def control_payload(block_type, *fields):
    """The payload of a control block: its type byte, then ``fields`` (Values or integers of
    whole bytes), then zeros."""
    payload = Cat(Const(block_type, 8), *fields)
    return Cat(payload, Const(0, PAYLOAD_BITS - len(payload)))


def _block(header, payload):
    return Cat(Const(header, HEADER_BITS), payload)


def absorb(m, lane, crc, word, enable):
    """The running CRC register ``crc`` after ``word`` if ``enable``, for the word of lane
    ``lane`` in a chain across a superblock. Each step gets its own signal and module: the
    chained networks are not copied into each other, and a simulator re-evaluates one step
    when its inputs change, not the whole unit."""
    step = Module()
    m.submodules[f"crc_{lane}"] = step
    result = Signal(CRC_BITS, name=f"crc_{lane}")
    step.d.comb += result.eq(Mux(enable, crc32_step(crc, word), crc))
    return result


def _idle_block():
    return _block(SYNC_CONTROL, Const(int(IDLE_PAYLOAD), PAYLOAD_BITS))


class Framer(wiring.Component):
    """Frames vectors and interleaves alignment markers (module docstring).

    Parameters
    ----------
    link : LinkConfig

    Members
    -------
    send : In(1)
        Queue ``send_data`` with ``stamp`` as a frame in this cycle.
    send_data : In(8 * vector_bytes)
    stamp : In(16)
        The send stamp: the epoch count of the SEND cycle.
    epoch : In(1)
        Restart the superblock count: the first superblock taken after this cycle is a marker.
    ready : In(1)
        The lanes take ``superblock`` in this cycle.
    superblock : Out(ArrayLayout(66, serial_lanes))
        The unscrambled blocks of the lanes (combinational).
    overrun : Out(1)
        A SEND was dropped because the queue was full (a one-cycle pulse).
    """

    def __init__(self, link):
        self.link = check_link("Framer", link)
        super().__init__({
            "send":       In(1),
            "send_data":  In(8 * link.vector_bytes),
            "stamp":      In(STAMP_BITS),
            "epoch":      In(1),
            "ready":      In(1),
            "superblock": Out(superblock_layout(link)),
            "overrun":    Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        link = self.link
        lanes, words = link.serial_lanes, link.vector_bytes * 8 // PAYLOAD_BITS
        vector_bits = 8 * link.vector_bytes
        m.submodules.queue = queue = fifo.SyncFIFO(width=vector_bits + STAMP_BITS,
                                                   depth=QUEUE_DEPTH)
        m.d.comb += [
            queue.w_data.eq(Cat(self.send_data, self.stamp)),
            queue.w_en.eq(self.send),
            self.overrun.eq(self.send & ~queue.w_rdy),
        ]
        vector = queue.r_data[:vector_bits]
        stamp = queue.r_data[vector_bits:]

        superblocks = Signal(range(link.marker_period))     # count since the last marker
        position = Signal(range(link.frame_superblocks))    # of the head frame's superblocks
        crc = Signal(CRC_BITS)                               # running, before the final XOR

        # Block i of the frame: start, vector words, terminate, idle padding.
        def frame_block(i):
            if i == 0:
                return _block(SYNC_CONTROL, control_payload(BlockType.START, stamp))
            if i <= words:
                return _block(SYNC_DATA, vector.word_select(i - 1, PAYLOAD_BITS))
            return _idle_block()

        terminate = link.frame_blocks - 1
        running = Signal(CRC_BITS)
        m.d.comb += running.eq(Mux(position == 0, CRC32_INIT, crc))
        frame = []
        for lane in range(lanes):
            block = Signal(BLOCK_BITS, name=f"frame_block_{lane}")
            absorbs = Signal(name=f"absorbs_{lane}")      # a start or data block: CRC input
            ends = Signal(name=f"ends_{lane}")            # the terminate block
            with m.Switch(position):
                for j in range(link.frame_superblocks):
                    i = j * lanes + lane
                    with m.Case(j):
                        m.d.comb += [block.eq(frame_block(i)), absorbs.eq(i < terminate),
                                     ends.eq(i == terminate)]
            crc_block = _block(SYNC_CONTROL, control_payload(BlockType.TERMINATE,
                                                             running ^ CRC32_XOROUT))
            frame.append(Mux(ends, crc_block, block))
            running = absorb(m, lane, running, block[HEADER_BITS:], absorbs)

        marker = superblocks == 0
        with m.If(marker):
            for lane in range(lanes):
                m.d.comb += self.superblock[lane].eq(_block(SYNC_CONTROL, control_payload(
                    BlockType.MARKER, Const(MARKER_BYTE, 8), Const(lane, 8))))
        with m.Elif(queue.r_rdy):
            for lane in range(lanes):
                m.d.comb += self.superblock[lane].eq(frame[lane])
        with m.Else():
            for lane in range(lanes):
                m.d.comb += self.superblock[lane].eq(_idle_block())

        with m.If(self.ready):
            m.d.sync += superblocks.eq(Mux(superblocks == link.marker_period - 1, 0,
                                           superblocks + 1))
            with m.If(~marker & queue.r_rdy):
                m.d.sync += crc.eq(running)
                with m.If(position == link.frame_superblocks - 1):
                    m.d.sync += position.eq(0)
                    m.d.comb += queue.r_en.eq(1)
                with m.Else():
                    m.d.sync += position.eq(position + 1)
        with m.If(self.epoch):
            m.d.sync += superblocks.eq(0)
        return m

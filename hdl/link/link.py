"""The chip-to-chip link: :class:`SerialLink`, both directions of one link's digital path.

Transmit: SEND -> :class:`~hdl.link.framer.Framer` (queue, frame, CRC-32, markers) ->
``serial_lanes`` x :class:`~hdl.link.lanes.LaneTransmitter` (scrambler, gearbox) -> ``tx``.

Receive: ``rx`` -> ``serial_lanes`` x :class:`~hdl.link.lanes.LaneReceiver` (gearbox, block
lock, descrambler) -> :class:`~hdl.link.deskew.LaneDeskew` (markers, lane order) ->
:class:`~hdl.link.deframer.Deframer` (format and CRC checks) ->
:class:`~hdl.link.release.ReleaseBuffer` (release at stamp + latency) -> ``arrival``.

Both sides count cycles from the shared ``epoch`` pulse; a frame carries the count of its SEND
cycle and arrives exactly :attr:`~isa.link.LinkConfig.latency` cycles later, whatever the
channel's delay (up to ``delay_budget`` cycles on the slowest lane), skew and bit phases.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.link import LINK_COUNTER_BITS as COUNTER_BITS
from isa.link import LINK_COUNTERS as COUNTERS
from isa.link import STAMP_MODULUS
from .deframer import Deframer
from .deskew import LaneDeskew
from .framer import STAMP_BITS, Framer, check_link
from .lanes import LaneReceiver, LaneTransmitter
from .release import ReleaseBuffer

__all__ = ["COUNTER_BITS", "COUNTERS", "SerialLink"]


class SerialLink(wiring.Component):
    """One chip-to-chip link: transmitter and receiver with a fixed latency.

    Parameters
    ----------
    link : LinkConfig

    Members
    -------
    epoch : In(1)
        A pulse: ``count`` is 0 in the next cycle, then counts up by one per cycle modulo
        :data:`~isa.link.STAMP_MODULUS`. Both ends of a link get it in the same cycle. Until
        the first one after reset the link sends idles and markers (counted from reset) and
        ignores SENDs.
    synced : Out(1)
        An epoch pulse has been seen since reset.
    count : Out(16)
        The epoch counter.
    send : In(1)
        SEND ``send_data`` in this cycle (at least ``send_interval`` cycles apart).
    send_data : In(8 * vector_bytes)
    tx : Out(serdes_width).array(serial_lanes)
        Line words of the transmitted lanes, bit 0 first.
    rx : In(serdes_width).array(serial_lanes)
        Line words of the received lanes, bit 0 first, in any lane order.
    arrival : Out(1)
        A vector arrives in this cycle: one SENT :attr:`~isa.link.LinkConfig.latency` cycles
        ago by a link with the same epoch count.
    arrival_data : Out(8 * vector_bytes)
    locked : Out(serial_lanes)
        Block lock of each received lane.
    aligned : Out(1)
        The received lanes are deskewed.
    frames_received, crc_errors, line_errors, lock_losses, deskew_failures, late_frames, \
send_overruns : Out(16)
        Saturating counts of: good frames released; frames found corrupt or malformed, once
        per frame (a frame whose start block was damaged included); damaged idle superblocks
        between frames (:mod:`~hdl.link.deframer`: a bit error where no frame was, no data
        lost); lanes losing block lock; deskew failures (skew beyond the budget, markers that
        are not a permutation, a lane missing its markers); frames dropped as late; SENDs
        dropped on a full queue.
    error : Out(1)
        Sticky: a CRC error, late frame, deskew failure or overrun since the last ``clear``
        (not a line error or a lock loss: line quality, no data lost by themselves).
    error_count_at : Out(16)
        The epoch count of the first such error.
    clear : In(1)
        Zero the counters and ``error``.
    """

    def __init__(self, link):
        self.link = check_link("SerialLink", link)
        self.latency = link.latency
        width, lanes = link.serdes_width, link.serial_lanes
        super().__init__({
            "epoch":          In(1),
            "synced":         Out(1),
            "count":          Out(STAMP_BITS),
            "send":           In(1),
            "send_data":      In(8 * link.vector_bytes),
            "tx":             Out(width).array(lanes),
            "rx":             In(width).array(lanes),
            "arrival":        Out(1),
            "arrival_data":   Out(8 * link.vector_bytes),
            "locked":         Out(lanes),
            "aligned":        Out(1),
            **{name: Out(COUNTER_BITS) for name in COUNTERS},
            "error":          Out(1),
            "error_count_at": Out(STAMP_BITS),
            "clear":          In(1),
        })

    def elaborate(self, platform):
        m = Module()
        link = self.link
        lanes = link.serial_lanes

        with m.If(self.epoch):
            m.d.sync += [self.count.eq(0), self.synced.eq(1)]
        with m.Else():
            m.d.sync += self.count.eq((self.count + 1) % STAMP_MODULUS)

        # Transmit.
        m.submodules.framer = framer = Framer(link)
        transmitters = []
        for k in range(lanes):
            transmitter = LaneTransmitter(link.serdes_width)
            m.submodules[f"transmitter_{k}"] = transmitter
            transmitters.append(transmitter)
            m.d.comb += [transmitter.block.eq(framer.superblock[k]),
                         self.tx[k].eq(transmitter.word)]
        m.d.comb += [
            framer.send.eq(self.send & self.synced),
            framer.send_data.eq(self.send_data),
            framer.stamp.eq(self.count),
            framer.epoch.eq(self.epoch),
            # Every lane's gearbox has the same ready pattern from reset.
            framer.ready.eq(transmitters[0].ready),
        ]

        # Receive.
        m.submodules.deskew = deskew = LaneDeskew(link)
        lock_lost = []
        for k in range(lanes):
            receiver = LaneReceiver(link.serdes_width)
            m.submodules[f"receiver_{k}"] = receiver
            m.d.comb += [
                receiver.word.eq(self.rx[k]),
                deskew.blocks[k].eq(receiver.block),
                deskew.valid[k].eq(receiver.valid),
                deskew.locked[k].eq(receiver.locked),
            ]
            lock_lost.append(receiver.lock_lost)
        m.submodules.deframer = deframer = Deframer(link)
        m.submodules.release = release = ReleaseBuffer(link, self.latency)
        m.d.comb += [
            deframer.superblock.eq(deskew.superblock),
            deframer.strobe.eq(deskew.strobe),
            deframer.aligned.eq(deskew.aligned),
            release.count.eq(self.count),
            release.valid.eq(deframer.ok),
            release.data.eq(deframer.data),
            release.stamp.eq(deframer.stamp),
            self.arrival.eq(release.arrival),
            self.arrival_data.eq(release.arrival_data),
            self.locked.eq(deskew.locked),
            self.aligned.eq(deskew.aligned),
        ]

        # Status.
        events = {
            "frames_received": release.arrival,
            "crc_errors":      deframer.error,
            "line_errors":     deframer.line_error,
            "lock_losses":     sum(lock_lost),
            "deskew_failures": deskew.failure,
            "late_frames":     release.late,
            "send_overruns":   framer.overrun,
        }
        saturated = (1 << COUNTER_BITS) - 1
        for name in COUNTERS:
            counter = getattr(self, name)
            total = counter + events[name]
            with m.If(self.clear):
                m.d.sync += counter.eq(0)
            with m.Else():
                m.d.sync += counter.eq(Mux(total > saturated, saturated, total))
        fault = deframer.error | release.late | deskew.failure | framer.overrun
        with m.If(self.clear):
            m.d.sync += self.error.eq(0)
        with m.Elif(fault & ~self.error):
            m.d.sync += [self.error.eq(1), self.error_count_at.eq(self.count)]
        return m

"""Deterministic release: good frames wait until their stamp plus the link's latency.

A good frame from the deframer gets its release time, ``stamp + latency`` modulo
:data:`~isa.link.STAMP_MODULUS`, and joins a FIFO; the frame at the head leaves as an
``arrival`` in the cycle the local epoch count equals its release time. Frames arrive in the
order they were sent, so their release times are in order too. A frame whose release time is
not at least one cycle ahead when it comes in (its count already passed, or the count jumped at
an epoch) is dropped and counted as late; so is a frame that finds the FIFO full, and a head
whose time has passed.

Pipeline: a frame written in cycle ``t`` can leave in cycle ``t + 1``
(:data:`~isa.link.RELEASE_LATENCY`); ``arrival`` and ``arrival_data`` are combinational from the
FIFO's head and the count register.
"""

from amaranth import *
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from isa.link import STAMP_MODULUS
from ..parameters import check_integer
from .framer import STAMP_BITS, check_link

__all__ = ["release_depth", "ReleaseBuffer"]


def release_depth(link, latency):
    """Frames the buffer holds: every frame held in a cycle was sent at most ``latency`` cycles
    earlier and leaves within ``latency`` cycles, and SENDs are at least ``send_interval``
    cycles apart."""
    return (latency - 1) // link.send_interval + 1


class ReleaseBuffer(wiring.Component):
    """Holds good frames until their release time (module docstring).

    Parameters
    ----------
    link : LinkConfig
    latency : int
        Cycles from a SEND to its arrival, 1 to ``STAMP_MODULUS / 2 - 1``.

    Members
    -------
    count : In(16)
        The local epoch count.
    valid : In(1)
        ``data`` and ``stamp`` are a good frame in this cycle.
    data : In(8 * vector_bytes)
    stamp : In(16)
    arrival : Out(1)
        A frame is released in this cycle.
    arrival_data : Out(8 * vector_bytes)
        The released frame's vector (valid with ``arrival``).
    late : Out(1)
        A one-cycle pulse: a frame was dropped because it came too late for its release time.
    """

    def __init__(self, link, latency):
        self.link = check_link("ReleaseBuffer", link)
        self.latency = check_integer("Release latency", latency, 1, STAMP_MODULUS // 2 - 1)
        self.depth = release_depth(link, latency)
        super().__init__({
            "count":        In(STAMP_BITS),
            "valid":        In(1),
            "data":         In(8 * link.vector_bytes),
            "stamp":        In(STAMP_BITS),
            "arrival":      Out(1),
            "arrival_data": Out(8 * link.vector_bytes),
            "late":         Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bits = 8 * self.link.vector_bytes
        m.submodules.frames = frames = fifo.SyncFIFO(width=bits + STAMP_BITS, depth=self.depth)

        def ahead(time):
            """Cycles from now to ``time``, modulo the counter: in the second half of the range
            ``time`` has passed."""
            return (time - self.count)[:STAMP_BITS]

        half = STAMP_MODULUS // 2
        release = (self.stamp + self.latency)[:STAMP_BITS]
        on_time = (ahead(release) != 0) & (ahead(release) < half)
        m.d.comb += [
            frames.w_data.eq(Cat(self.data, release)),
            frames.w_en.eq(self.valid & on_time),
        ]
        head_time = frames.r_data[bits:]
        due = frames.r_rdy & (head_time == self.count)
        passed = frames.r_rdy & (ahead(head_time) >= half)
        m.d.comb += [
            self.arrival.eq(due),
            self.arrival_data.eq(frames.r_data[:bits]),
            frames.r_en.eq(due | passed),
            self.late.eq((self.valid & ~(on_time & frames.w_rdy)) | passed),
        ]
        return m

"""A link port: the unit at an end of the row between the stream fabric and one
:class:`~hdl.link.link.SerialLink`.

SEND issued in cycle t hands the stream flowing towards the port's edge, as it is at the port's
position in cycle t, to the link in the same cycle; the other end delivers it
:func:`~isa.timing.link_latency` cycles later. RECEIVE issued in the cycle of a delivery drives
the vector into the stream register towards the centre: at the neighbouring position in cycle
t + :data:`~isa.timing.LINK_RECEIVE_LATENCY`. The port raises
:attr:`~isa.host.ErrorFlag.LINK` for a SEND sooner than :func:`~isa.timing.link_send_interval`
after the previous one (nothing is sent), a RECEIVE in a cycle without a delivery (nothing is
driven) and a delivery in a cycle without a RECEIVE (it is dropped). Behaviour:
:mod:`golden.archsim.link`.
"""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from isa.formats import FORMATS
from isa.geometry import Hemisphere
from isa.host import ErrorFlag
from isa.opcodes import LinkOp
from isa.timing import LINK_RECEIVE_LATENCY, link_send_interval
from .interfaces import ERROR_BITS, IssueSignature, StreamTapSignature
from .parameters import check_config

__all__ = ["LinkPort"]

assert LINK_RECEIVE_LATENCY == 1, "LinkPort drives a received vector in the RECEIVE's cycle"


class LinkPort(wiring.Component):
    """The link port at the ``hemisphere`` edge of a chip ``config``.

    Members
    -------
    issue : In(IssueSignature)
    error : Out(ERROR_BITS)
    tap : Out(StreamTapSignature)
    clear : In(1)
        Program start: no SEND before.
    send : Out(1)
        Hand ``send_data`` to the link in this cycle.
    send_data : Out(vector_bits)
    arrival : In(1)
        The link delivers ``arrival_data`` in this cycle.
    arrival_data : In(vector_bits)
    """

    def __init__(self, config, hemisphere):
        self.config = check_config("LinkPort", config)
        if hemisphere not in (Hemisphere.WEST, Hemisphere.EAST):
            raise ValueError(f"LinkPort hemisphere must be WEST or EAST, not {hemisphere!r}")
        self.hemisphere = hemisphere
        super().__init__({
            "issue":        In(IssueSignature()),
            "error":        Out(ERROR_BITS),
            "tap":          Out(StreamTapSignature(config)),
            "clear":        In(1),
            "send":         Out(1),
            "send_data":    Out(config.vector_bits),
            "arrival":      In(1),
            "arrival_data": In(config.vector_bits),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        outward = self.hemisphere.away_from_centre.name.lower()
        inward = self.hemisphere.toward_centre.name.lower()
        f = data.View(FORMATS["link"].layout, self.issue.word)
        legal_op = f.op.matches(*(op.value for op in LinkOp))
        stream_ok = f.stream < cfg.streams
        legal = Signal()
        m.d.comb += legal.eq(self.issue.valid & legal_op & stream_ok)
        sending = legal & (f.op == LinkOp.SEND.value)
        receiving = legal & (f.op == LinkOp.RECEIVE.value)

        # Cycles since the last SEND, saturating at the interval (there: none too recent).
        interval = link_send_interval(cfg)
        since = Signal(range(interval + 1), init=interval)
        too_soon = since < interval
        with m.If(self.clear):
            m.d.sync += since.eq(interval)
        with m.Elif(sending & ~too_soon):
            m.d.sync += since.eq(1)
        with m.Elif(too_soon):
            m.d.sync += since.eq(since + 1)

        streams = Array(getattr(self.tap, outward))
        m.d.comb += [self.send.eq(sending & ~too_soon), self.send_data.eq(streams[f.stream])]

        # A delivery goes onto the stream its RECEIVE names, towards the centre.
        take = Signal()
        m.d.comb += take.eq(receiving & self.arrival)
        for s in range(cfg.streams):
            m.d.comb += getattr(self.tap, f"{inward}_out")[s].eq(self.arrival_data)
        m.d.comb += getattr(self.tap, f"{inward}_we").eq(Mux(take, 1 << f.stream, 0))

        link_error = ((sending & too_soon) | (receiving & ~self.arrival) |
                      (self.arrival & ~receiving))
        # An illegal instruction in the cycle of a delivery drops it too: both flags.
        m.d.comb += self.error.eq(
            Mux(self.issue.valid & ~legal_op, ErrorFlag.ILLEGAL_OPCODE, 0) |
            Mux(self.issue.valid & legal_op & ~stream_ok, ErrorFlag.BAD_OPERAND, 0) |
            Mux(link_error, ErrorFlag.LINK, 0))
        return m

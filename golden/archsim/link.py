"""Link port model: one chip-to-chip port at an edge of the row, and the link as its declared
latency (:func:`~isa.timing.link_latency`).

SEND issued in cycle ``t`` reads the stream flowing towards the port's edge at its position and
hands the vector to the link; the port at the other end delivers it in cycle
``t + link_latency`` (:class:`~golden.archsim.system.ChipSystem` carries it there). A RECEIVE
issued in the cycle of a delivery sends the vector towards the centre (at the neighbouring
position one cycle later: :data:`~isa.timing.LINK_RECEIVE_LATENCY`). Raising
:attr:`~isa.host.ErrorFlag.LINK`: a SEND sooner than :func:`~isa.timing.link_send_interval`
after the previous one (it sends nothing), a RECEIVE in a cycle nothing is delivered (it sends
nothing), a delivery in a cycle with no RECEIVE (the vector is dropped).
"""

from isa.host import ErrorFlag
from isa.timing import LINK_RECEIVE_LATENCY, link_latency, link_send_interval
from isa.opcodes import LinkOp
from .checks import UnitModel

__all__ = ["LinkPort"]

assert LINK_RECEIVE_LATENCY == 1, "LinkPort sends a received vector in the RECEIVE's cycle"


class LinkPort(UnitModel):
    """One link port (parameters: :class:`~golden.archsim.checks.UnitModel`)."""

    def __init__(self, unit, config, checks):
        super().__init__(unit, config, checks)
        self.outward = unit.hemisphere.away_from_centre
        self.inward = unit.hemisphere.toward_centre
        self.latency = link_latency(config)
        self.interval = link_send_interval(config)
        self.reset()

    def reset(self):
        #: ``[(cycle, vector)]``: the SENDs of this run not yet carried away (a
        #: :class:`~golden.archsim.system.ChipSystem` takes them after every cycle).
        self.sent = []
        self._deliveries = {}       # cycle -> vector delivered by the other end
        self._last_send = None

    @property
    def busy(self):
        """A delivery is due: the port acts in a later cycle (SENDs leave with the cycle)."""
        return bool(self._deliveries)

    def deliver(self, cycle, vector):
        """The other end delivers ``vector`` in ``cycle`` (a later cycle than this one's)."""
        self._deliveries[cycle] = vector

    def issue(self, instr, cycle, queue, fabric):
        """A SEND or RECEIVE issued in ``cycle`` by ``queue`` (its name); returns the flag it
        raises."""
        if instr.op is LinkOp.SEND:
            if self._last_send is not None and cycle - self._last_send < self.interval:
                return ErrorFlag.LINK
            planes, ok = fabric.read(self.outward, self.position, instr.stream, 1, cycle)
            self.checks.require(ok, f"{queue} sends stream {self.outward.name.lower()}"
                                    f"{instr.stream} at cycle {cycle}, which carries no value")
            self._last_send = cycle
            self.sent.append((cycle, planes[0].copy()))
            return ErrorFlag(0)
        vector = self._deliveries.pop(cycle, None)
        if vector is None:
            return ErrorFlag.LINK
        fabric.send(self.position, self.inward, instr.stream, vector)
        return ErrorFlag(0)

    def end_cycle(self, cycle):
        """After the issues of ``cycle``: the flag of a delivery no RECEIVE took (dropped)."""
        dropped = self._deliveries.pop(cycle, None) is not None
        return ErrorFlag.LINK if dropped else ErrorFlag(0)

    def take_sent(self):
        """The SENDs since the last call, ``[(cycle, vector)]``, for the link to carry."""
        sent, self.sent = self.sent, []
        return sent

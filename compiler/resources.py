"""The resource calendar: who uses which queue, MEM port and stream register, when and where.

Scheduling on the TSP is two-dimensional, in time and in space. A value a unit sends keeps a
constant *phase* while it travels (``t - p`` eastward, ``t + p`` westward, for position ``p``
at cycle ``t``), so a stream transfer occupies one stream at one phase over an interval of
positions; two transfers conflict only if they share the stream, the direction and the phase
and their intervals overlap. A :class:`Calendar` records those reservations, and every queue's
issue slots (a MEM slice's read and write queues are its SRAM ports).
"""

from collections import defaultdict

from isa.geometry import floorplan
from isa.opcodes import Direction
from isa.timing import arrival
from .queues import QueueBuilder, ScheduleError

__all__ = ["Calendar", "Transfer"]


class Transfer:
    """A value sent from position ``source`` (by an instruction issued at ``issue`` with
    ``latency``) to position ``target`` on ``streams`` in ``direction``."""

    __slots__ = ("direction", "streams", "source", "target", "issue", "latency", "arrival",
                 "phase", "span")

    def __init__(self, direction, streams, source, target, issue, latency):
        self.direction = direction
        self.streams = tuple(streams)
        self.source = source
        self.target = target
        self.issue = issue
        self.latency = latency
        #: The cycle the value is at ``target``.
        self.arrival = arrival(issue, latency, source, target)
        #: Constant along the way: ``t - p`` eastward, ``t + p`` westward.
        self.phase = (self.arrival - target if direction is Direction.EAST
                      else self.arrival + target)
        #: Positions the value occupies: from the sender's neighbour to the target.
        self.span = (source + 1, target) if direction is Direction.EAST else \
            (target, source - 1)

    def overlaps(self, spans):
        lo, hi = self.span
        return any(a <= hi and lo <= b for a, b in spans)


class Calendar:
    """Reservations of one program.

    Parameters
    ----------
    config : ChipConfig
    """

    def __init__(self, config):
        self.config = config
        self.plan = floorplan(config)
        self.builders = {q.number: QueueBuilder(q) for q in self.plan.queues}
        self.taken = defaultdict(set)           # queue number -> occupied cycles
        self.streams = defaultdict(list)        # (direction, stream, phase) -> [(lo, hi)]

    # ---- Queues (for MEM slices: their SRAM ports). ----

    def queue_free(self, name, cycle, count=1):
        taken = self.taken[self.plan.queue(name).number]
        return cycle >= 0 and not any(c in taken for c in range(cycle, cycle + count))

    def issue(self, name, cycle, word, count=1, stride=0):
        """Reserve ``count`` issue slots of queue ``name`` from ``cycle`` for ``word``."""
        number = self.plan.queue(name).number
        if not self.queue_free(name, cycle, count):
            raise ScheduleError(f"{name} is already busy in cycles {cycle}..{cycle + count - 1}")
        self.taken[number].update(range(cycle, cycle + count))
        self.builders[number].place(cycle, word, count, stride)

    def queue_end(self, name):
        return self.builders[self.plan.queue(name).number].end

    # ---- Streams. ----

    def transfer_free(self, transfer):
        lo, hi = transfer.span
        if lo > hi:
            return True
        for stream in transfer.streams:
            if not 0 <= stream < self.config.streams:
                return False
            key = (transfer.direction, stream, transfer.phase)
            if key in self.streams and transfer.overlaps(self.streams[key]):
                return False
        return True

    def reserve(self, transfer):
        if not self.transfer_free(transfer):
            raise ScheduleError(f"stream conflict: {transfer.direction.name.lower()}ward "
                                f"streams {transfer.streams} at phase {transfer.phase}")
        lo, hi = transfer.span
        for stream in transfer.streams:
            self.streams[(transfer.direction, stream, transfer.phase)].append((lo, hi))

    def free_group(self, direction, size, source, target, issue, latency, candidates=None):
        """The first free aligned group of ``size`` streams for a transfer, or ``None``."""
        bases = candidates if candidates is not None else range(0, self.config.streams, size)
        for base in bases:
            transfer = Transfer(direction, range(base, base + size), source, target, issue,
                                latency)
            if base % size == 0 and self.transfer_free(transfer):
                return transfer
        return None

    # ---- Output. ----

    def programs(self):
        """``{queue number: words}`` and the predicted length (the last queue's HALT)."""
        queues = {}
        for number, builder in self.builders.items():
            words = builder.words()
            if words:
                if len(words) > self.config.queue_depth:
                    raise ScheduleError(f"{builder.queue.name} needs {len(words)} instructions, "
                                        f"more than the queue depth {self.config.queue_depth}")
                queues[number] = words
        return queues, max((b.end for b in self.builders.values()), default=0)

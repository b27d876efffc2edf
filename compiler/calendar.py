"""The resource calendar: who uses which queue, stream register, SRAM word and constant
register, when and where. Every kernel of a program places its instructions on one calendar.

Scheduling on the TSP is two-dimensional, in time and in space. A value a unit sends keeps a
constant *phase* while it travels (``t - p`` eastward, ``t + p`` westward, for position ``p``
at cycle ``t``), so a stream transfer occupies one stream at one phase over an interval of
positions; two transfers conflict only if they share the stream, the direction and the phase
and their intervals overlap. A :class:`Calendar` records those reservations, every queue's
issue slots (a MEM slice's read and write queues are its SRAM ports), the SRAM words in use
(:class:`~compiler.sram.SramAllocator`) and the VXM constant registers.

Placement is transactional: a kernel takes a :meth:`Calendar.checkpoint`, reserves what one
step of its plan needs (a tile, a pass, a row), and on the first conflict :meth:`rolls back
<Calendar.rollback>` to the checkpoint and tries a later cycle. Every change is journaled, so a
rollback undoes exactly what was reserved since the checkpoint, SRAM allocations included.
"""

from collections import defaultdict

from isa.geometry import floorplan
from isa.timing import MEM_READ_LATENCY, MEM_WRITE_TO_READ, arrival, issue_for_arrival
from isa.opcodes import Direction
from .queues import QueueBuilder, ScheduleError
from .sram import SramAllocator

__all__ = ["Calendar", "Transfer", "Journal"]


class Journal:
    """Undo records of every change since the calendar was made; :meth:`mark` and
    :meth:`rollback` bracket a transaction."""

    def __init__(self):
        self._undo = []

    def record(self, undo):
        """Remember ``undo()``, which reverts the change just made."""
        self._undo.append(undo)

    def mark(self):
        return len(self._undo)

    def rollback(self, mark):
        """Undo every change made since :meth:`mark` returned ``mark``, latest first."""
        undo = self._undo
        while len(undo) > mark:
            undo.pop()()


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
        self.journal = Journal()
        self.builders = {q.number: QueueBuilder(q) for q in self.plan.queues}
        self._taken = defaultdict(set)          # queue number -> occupied cycles
        self._streams = defaultdict(list)       # (direction, stream, phase) -> [(lo, hi)]
        #: The SRAM words in use.
        self.sram = SramAllocator(config, self.journal)
        # Constant register -> the cycle after which it is free (its holder's last read).
        self._registers = [-1] * config.vxm_consts
        # ALU -> (table name, cycle from which it is loaded, last cycle a LUT reads it).
        self._tables = [None] * config.vxm_alus

    # ---- Transactions. ----

    def checkpoint(self):
        """A mark to :meth:`rollback` to."""
        return self.journal.mark()

    def rollback(self, mark):
        """Undo every reservation made since :meth:`checkpoint` returned ``mark``."""
        self.journal.rollback(mark)

    # ---- Queues (for MEM slices: their SRAM ports). ----

    def _number(self, queue):
        return queue if isinstance(queue, int) else self.plan.queue(queue).number

    def queue_free(self, queue, cycle, count=1, gap=0):
        """Whether ``queue`` (a name or number) has no reservation in the ``count`` cycles from
        ``cycle``, ``gap + 1`` apart."""
        taken = self._taken[self._number(queue)]
        return cycle >= 0 and not any(c in taken for c in
                                      range(cycle, cycle + count * (gap + 1), gap + 1))

    def _take(self, number, cycles):
        taken = self._taken[number]
        taken.update(cycles)
        self.journal.record(lambda: taken.difference_update(cycles))

    def issue(self, queue, cycle, word, count=1, stride=0, gap=0):
        """Reserve ``count`` issue slots of ``queue`` from ``cycle``, ``gap + 1`` cycles apart,
        and place ``word`` there, re-issued ``count - 1`` times adding ``stride`` to its offset
        field."""
        number = self._number(queue)
        if not self.queue_free(number, cycle, count, gap):
            raise ScheduleError(f"{self.plan.queues[number].name} is already busy in cycles "
                                f"{cycle}..{cycle + (count - 1) * (gap + 1)}")
        self._take(number, range(cycle, cycle + count * (gap + 1), gap + 1))
        self.place(number, cycle, word, count, stride, gap)

    def hold(self, queue, cycle, count=1):
        """Reserve ``count`` slots of ``queue`` from ``cycle`` without placing anything there:
        slots whose word :meth:`place` puts later, or idle slots a kernel needs its unit to keep
        (an ALU holding a value in its result register)."""
        number = self._number(queue)
        if not self.queue_free(number, cycle, count):
            raise ScheduleError(f"{self.plan.queues[number].name} is already busy in cycles "
                                f"{cycle}..{cycle + count - 1}")
        self._take(number, range(cycle, cycle + count))

    def place(self, queue, cycle, word, count=1, stride=0, gap=0):
        """Put ``word`` into slots already reserved (by :meth:`hold`)."""
        builder = self.builders[self._number(queue)]
        builder.place(cycle, word, count, stride, gap)
        self.journal.record(builder.runs.pop)

    def queue_end(self, queue):
        """The cycle after the last instruction placed on ``queue``."""
        return self.builders[self._number(queue)].end

    # ---- Streams. ----

    def transfer_free(self, transfer):
        lo, hi = transfer.span
        if lo > hi:
            return True
        for stream in transfer.streams:
            if not 0 <= stream < self.config.streams:
                return False
            key = (transfer.direction, stream, transfer.phase)
            if key in self._streams and transfer.overlaps(self._streams[key]):
                return False
        return True

    def plan_read(self, slice_index, position, when, direction, stream):
        """``(read cycle, transfer)`` of the READ that brings a word of MEM slice
        ``slice_index`` to ``position`` in cycle ``when`` on ``stream`` of ``direction``, or
        ``None`` if the slice's read port or a stream register on the way is taken, or the
        direction does not lead there from the slice. Reserves nothing."""
        unit = self.plan.mem_units[slice_index]
        if position == unit.position or (position < unit.position) != \
                (direction is Direction.WEST):
            return None
        read = issue_for_arrival(when, MEM_READ_LATENCY, unit.position, position)
        if not self.queue_free(f"{unit.name}.rd", read):
            return None
        transfer = Transfer(direction, [stream], unit.position, position, read,
                            MEM_READ_LATENCY)
        return (read, transfer) if self.transfer_free(transfer) else None

    def read_travel(self, slice_index, position):
        """Cycles from a READ of MEM slice ``slice_index`` to its word's arrival at
        ``position``."""
        unit = self.plan.mem_units[slice_index]
        return -issue_for_arrival(0, MEM_READ_LATENCY, unit.position, position)

    def earliest_arrival(self, tensor, vector, position):
        """The first cycle in which vector ``vector`` of ``tensor`` (all its planes) can reach
        ``position``: its READs come after its WRITEs (``-1`` for words the host loads)."""
        first = -1
        for plane in range(tensor.planes):
            written = tensor.written.get((vector, plane))
            if written is not None:
                slice_index = tensor.location(vector, plane)[0]
                first = max(first, written + MEM_WRITE_TO_READ +
                            self.read_travel(slice_index, position))
        return first

    def free_group(self, direction, size, source, target, issue, latency):
        """The first aligned group of ``size`` streams on which a value sent from ``source``
        in ``issue`` (with ``latency``) reaches ``target`` on free registers: its
        :class:`Transfer`, reserved, or ``None``."""
        for base in range(0, self.config.streams - size + 1, size):
            transfer = Transfer(direction, range(base, base + size), source, target, issue,
                                latency)
            if self.transfer_free(transfer):
                self.reserve(transfer)
                return transfer
        return None

    def reserve(self, transfer):
        """Reserve the stream registers ``transfer`` occupies on its way."""
        if not self.transfer_free(transfer):
            raise ScheduleError(f"stream conflict: {transfer.direction.name.lower()}ward "
                                f"streams {transfer.streams} at phase {transfer.phase}")
        lo, hi = transfer.span
        for stream in transfer.streams:
            spans = self._streams[(transfer.direction, stream, transfer.phase)]
            spans.append((lo, hi))
            self.journal.record(spans.pop)

    # ---- Constant registers. ----

    def registers(self, count, first_cycle):
        """The ``count`` VXM constant registers that become free soonest for a kernel that
        loads them from ``first_cycle`` on, and the cycle from which it may load them all:
        ``(registers, ready)``. Hold them until :meth:`release_registers`."""
        if count > self.config.vxm_consts:
            raise ScheduleError(f"the kernel needs {count} constant registers; the VXM has "
                                f"{self.config.vxm_consts}")
        order = sorted(range(self.config.vxm_consts),
                       key=lambda r: (max(self._registers[r], first_cycle - 1), r))
        chosen = order[:count]
        latest = max((self._registers[r] for r in chosen), default=-1)
        if latest == float("inf"):
            raise ScheduleError(f"the kernel needs {count} constant registers; a kernel being "
                                f"placed holds all but "
                                f"{sum(after < float('inf') for after in self._registers)}")
        self._set_registers(chosen, float("inf"))
        return chosen, max(first_cycle, latest + 1)

    def release_registers(self, registers, last_read):
        """``registers`` are free for loads whose value is visible after ``last_read``."""
        self._set_registers(registers, last_read)

    def _set_registers(self, registers, value):
        before = [self._registers[r] for r in registers]

        def undo():
            for r, old in zip(registers, before):
                self._registers[r] = old
        for r in registers:
            self._registers[r] = value
        self.journal.record(undo)

    # ---- Lookup tables. ----

    def table(self, alu):
        """``(name, ready, last_use)`` of the table ALU ``alu`` holds (loaded from cycle
        ``ready``, last read in cycle ``last_use``), or ``None``."""
        return self._tables[alu]

    def set_table(self, alu, name, ready, last_use=-1):
        """ALU ``alu`` holds table ``name`` from cycle ``ready`` on; read until ``last_use``."""
        old = self._tables[alu]

        def undo():
            self._tables[alu] = old
        self._tables[alu] = (name, ready, last_use)
        self.journal.record(undo)

    def use_table(self, alu, cycle):
        """A LUT on ALU ``alu`` reads its table in ``cycle``."""
        name, ready, last_use = self._tables[alu]
        self.set_table(alu, name, ready, max(last_use, cycle))

    # ---- Output. ----

    def programs(self):
        """``{queue number: words}`` and the predicted length (the last queue's HALT).
        Raises :class:`ScheduleError` when a queue needs more words than its depth."""
        queues = {}
        for number, builder in self.builders.items():
            words = builder.words()
            if words:
                if len(words) > self.config.queue_depth:
                    raise ScheduleError(f"{builder.queue.name} needs {len(words)} instructions, "
                                        f"more than the queue depth {self.config.queue_depth}")
                queues[number] = words
        return queues, max((b.end for b in self.builders.values()), default=0)

"""The resource calendar: who uses which queue, stream register, SRAM word and constant
register, when and where. Every kernel of a program places its instructions on one calendar.

Scheduling on the TSP is two-dimensional, in time and in space. A value a unit sends keeps a
constant *phase* while it travels (``t - p`` eastward, ``t + p`` westward, for position ``p``
at cycle ``t``), so a stream transfer occupies one stream at one phase over an interval of
positions; two transfers conflict only if they share the stream, the direction and the phase
and their intervals overlap. A :class:`Calendar` records those reservations, every queue's
issue slots (a MEM slice's read and write queues are its SRAM ports; an instruction of a folded
VXM ALU or matrix unit occupies its queue for the unit's issue interval, :mod:`isa.timing`), the
SRAM words in use (:class:`~compiler.sram.SramAllocator`) and the VXM constant registers.

Placement is transactional: a kernel takes a :meth:`Calendar.checkpoint`, reserves what one
step of its plan needs (a tile, a pass, a row), and on the first conflict :meth:`rolls back
<Calendar.rollback>` to the checkpoint and tries a later cycle. Every change is journaled, so a
rollback undoes exactly what was reserved since the checkpoint, SRAM allocations included.
"""

from collections import defaultdict

from isa.geometry import QueueKind, floorplan
from isa.timing import (MEM_READ_LATENCY, MEM_WRITE_TO_READ, arrival, issue_for_arrival,
                        mxm_issue_interval, sxm_issue_interval, vxm_issue_interval)
from isa.opcodes import Direction
from .queues import QueueBuilder, QueueOverflow, ScheduleError
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
        # Queue number -> cycles one instruction occupies it: a folded VXM ALU, switch unit or
        # matrix unit takes an operation every issue interval, the other units one per cycle.
        interval = {QueueKind.VXM_ALU: vxm_issue_interval(config),
                    QueueKind.SXM: sxm_issue_interval(config),
                    QueueKind.MXM_COMPUTE: mxm_issue_interval(config)}
        self._occupancy = {q.number: interval[q.kind] for q in self.plan.queues
                           if interval.get(q.kind, 1) > 1}
        self._streams = defaultdict(list)       # (direction, stream, phase) -> [(lo, hi)]
        #: The SRAM words in use.
        self.sram = SramAllocator(config, self.journal)
        # Constant register -> the cycle after which it is free (its holder's last read).
        self._registers = [-1] * config.vxm_consts
        # Constant register -> (key of the constant it holds, cycle from which it does), for
        # constants kernels may share; None while a kernel loads varying values into it.
        self._contents = [None] * config.vxm_consts
        # Shared registers taken by a kernel -> when they were free before (a release never
        # frees a register earlier than an earlier holder's last read).
        self._held_after = {}
        # (slice, words) -> first address of a scratch ring.
        self._scratch = {}
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

    def _slots(self, number, cycle, count, gap):
        """The cycles ``count`` instructions issued on queue ``number`` from ``cycle``,
        ``gap + 1`` apart, occupy (each of a folded ALU's takes the ALU's issue interval)."""
        occupancy = self._occupancy.get(number, 1)
        if occupancy == 1:
            return range(cycle, cycle + count * (gap + 1), gap + 1)
        if count > 1 and gap + 1 < occupancy:
            raise ValueError(f"{self.plan.queues[number].name} takes an operation every "
                             f"{occupancy} cycles, not every {gap + 1}")
        return [c + k for c in range(cycle, cycle + count * (gap + 1), gap + 1)
                for k in range(occupancy)]

    def _clear(self, number, cycles):
        """Whether queue ``number`` has no reservation in any of ``cycles``."""
        taken = self._taken[number]
        return not any(c in taken for c in cycles)

    def queue_free(self, queue, cycle, count=1, gap=0):
        """Whether ``queue`` (a name or number) has no reservation in the ``count`` cycles from
        ``cycle``, ``gap + 1`` apart (on a folded VXM ALU, switch unit or matrix unit: in the
        cycles the operations occupy)."""
        number = self._number(queue)
        return cycle >= 0 and self._clear(number, self._slots(number, cycle, count, gap))

    def first_busy(self, queue, cycle, count=1):
        """The first reserved cycle of ``queue`` in ``cycle .. cycle + count - 1``, or
        ``None``: a kernel retrying later skips past it."""
        taken = self._taken[self._number(queue)]
        if count < len(taken):
            return next((c for c in range(cycle, cycle + count) if c in taken), None)
        return min((c for c in taken if cycle <= c < cycle + count), default=None)

    def next_free(self, queue, cycle):
        """The first cycle from ``cycle`` on in which ``queue`` can take an instruction."""
        number = self._number(queue)
        while not self._clear(number, self._slots(number, cycle, 1, 0)):
            cycle += 1
        return cycle

    def busy(self, queue, first, end):
        """How many of cycles ``first .. end - 1`` of ``queue`` are reserved."""
        taken = self._taken[self._number(queue)]
        if end - first < len(taken):
            return sum(1 for c in range(first, end) if c in taken)
        return sum(1 for c in taken if first <= c < end)

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
        self._take(number, self._slots(number, cycle, count, gap))
        self.place(number, cycle, word, count, stride, gap)

    def hold(self, queue, cycle, count=1):
        """Reserve ``count`` slots of ``queue`` from ``cycle`` without placing anything there:
        slots whose word :meth:`place` puts later, or idle slots a kernel needs its unit to keep
        (an ALU holding a value in its result register). On a folded ALU or matrix unit each
        slot also holds the unit for its issue interval, as an instruction placed there
        would."""
        number = self._number(queue)
        cycles = range(cycle, cycle + count + self._occupancy.get(number, 1) - 1)
        if cycle < 0 or not self._clear(number, cycles):
            raise ScheduleError(f"{self.plan.queues[number].name} is already busy in cycles "
                                f"{cycle}..{cycle + count - 1}")
        self._take(number, cycles)

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
        leg = [(transfer.phase, lo, hi)]
        return all(self.legs_free(transfer.direction, stream, leg)
                   for stream in transfer.streams)

    @staticmethod
    def leg(direction, source, target, issue, latency):
        """``(phase, lo, hi)`` of a value sent as :class:`Transfer` describes, on any stream:
        its phase and the positions it occupies."""
        t = Transfer(direction, (), source, target, issue, latency)
        return t.phase, t.span[0], t.span[1]

    def legs_free(self, direction, stream, legs):
        """Whether ``stream`` of ``direction`` is free for every ``(phase, lo, hi)`` of
        ``legs``."""
        if not 0 <= stream < self.config.streams:
            return False
        reserved = self._streams
        for phase, lo, hi in legs:
            if lo > hi:
                continue
            spans = reserved.get((direction, stream, phase))
            if spans and any(a <= hi and lo <= b for a, b in spans):
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
        leg = [(transfer.phase, *transfer.span)]
        for stream in transfer.streams:
            self.reserve_legs(transfer.direction, stream, leg)

    def reserve_legs(self, direction, stream, legs):
        """Reserve ``stream`` of ``direction`` for every ``(phase, lo, hi)`` of ``legs`` (as
        :meth:`leg` gives them), without checking that it is free. A rollback drops the
        phases it leaves empty, so that trial reservations do not pile up."""
        streams = self._streams
        for phase, lo, hi in legs:
            key = (direction, stream, phase)
            spans = streams[key]
            spans.append((lo, hi))

            def undo(key=key, spans=spans):
                spans.pop()
                if not spans:
                    del streams[key]
            self.journal.record(undo)

    # ---- Scratch words. ----

    def scratch(self, slice_index, words):
        """The first address of ``words`` words of slice ``slice_index`` set aside, for the
        whole program, as a ring of scratch words (values kept for a few cycles); allocated by
        the first caller."""
        key = (slice_index, words)
        if key not in self._scratch:
            self._scratch[key] = self.sram.allocate(slice_index, words)
            self.journal.record(lambda: self._scratch.pop(key))
        return self._scratch[key]

    # ---- Constant registers. ----

    def registers(self, count, first_cycle):
        """The ``count`` VXM constant registers that become free soonest for a kernel that
        loads them from ``first_cycle`` on, and the cycle from which it may load them all:
        ``(registers, ready)``. Registers holding no shareable constant go first. Hold them
        until :meth:`release_registers`; record a shareable value loaded with
        :meth:`loaded`."""
        if count > self.config.vxm_consts:
            raise ScheduleError(f"the kernel needs {count} constant registers; the VXM has "
                                f"{self.config.vxm_consts}")
        order = sorted(range(self.config.vxm_consts),
                       key=lambda r: (max(self._registers[r], first_cycle - 1),
                                      self._contents[r] is not None, r))
        chosen = order[:count]
        latest = max((self._registers[r] for r in chosen), default=-1)
        if latest == float("inf"):
            raise ScheduleError(f"the kernel needs {count} constant registers; a kernel being "
                                f"placed holds all but "
                                f"{sum(after < float('inf') for after in self._registers)}")
        self._set_registers(chosen, float("inf"))
        self._set_contents(chosen, None)
        return chosen, max(first_cycle, latest + 1)

    def shared_register(self, key, first_cycle):
        """A free register already holding the constant ``key`` (as :meth:`loaded` recorded)
        from a cycle no later than ``first_cycle``, taken like :meth:`registers` takes one
        (release it the same way); ``None`` if there is none."""
        for r, contents in enumerate(self._contents):
            if contents is not None and contents[0] == key and contents[1] <= first_cycle \
                    and self._registers[r] < float("inf"):
                before = self._registers[r]
                self._held_after[r] = before
                self.journal.record(lambda r=r: self._held_after.pop(r, None))
                self._set_registers([r], float("inf"))
                return r
        return None

    def register_ready(self, register):
        """The cycle from which ``register`` holds its shareable constant (``-1`` if none)."""
        contents = self._contents[register]
        return -1 if contents is None else contents[1]

    def loaded(self, register, key, ready):
        """Register ``register`` holds the shareable constant ``key`` from cycle ``ready``."""
        self._set_contents([register], (key, ready))

    def release_registers(self, registers, last_read):
        """``registers`` are free for loads whose value is visible after ``last_read``."""
        for r in registers:
            after = max(last_read, self._held_after.get(r, -1))
            if r in self._held_after:
                before = self._held_after.pop(r)
                self.journal.record(lambda r=r, before=before:
                                    self._held_after.__setitem__(r, before))
            self._set_registers([r], after)

    def _set_registers(self, registers, value):
        self._assign(self._registers, registers, value)

    def _set_contents(self, registers, value):
        self._assign(self._contents, registers, value)

    def _assign(self, table, registers, value):
        """``table[r] = value`` for each of ``registers``, journaled."""
        before = [table[r] for r in registers]

        def undo():
            for r, old in zip(registers, before):
                table[r] = old
        for r in registers:
            table[r] = value
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
                    raise QueueOverflow(f"{builder.queue.name} needs {len(words)} instructions, "
                                        f"more than the queue depth {self.config.queue_depth}")
                queues[number] = words
        return queues, max((b.end for b in self.builders.values()), default=0)

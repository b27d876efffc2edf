"""The instruction queues of one chip: what each issues in each cycle (timing rules:
:mod:`isa.timing`).

Queues sleep through NOPs and REPEAT gaps on an event heap, so a cycle costs only the queues
that act in it. SYNC and NOTIFY couple the queues, which is why one object holds them all.
"""

import heapq

from isa.formats import FORMATS
from isa.host import ErrorFlag
from isa.opcodes import ControlOp, FIRST_UNIT_OPCODE, opcode_of

__all__ = ["InstructionQueues"]

# Pre-decoded queue entries (what the instruction at one program counter does).
_UNIT, _NOP, _REPEAT, _SYNC, _NOTIFY, _HALT, _ILLEGAL = range(7)


def _wrap32(value):
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _compile(words, depth):
    """One entry per instruction: ``(action, argument...)``. Running past the program (or the
    queue depth) reads HALT, as the hardware does."""
    entries = []
    has_last = False
    for word in words[:depth]:
        op = opcode_of(word)
        if op >= FIRST_UNIT_OPCODE:
            entries.append((_UNIT, word))
            has_last = True
        elif op == ControlOp.HALT.value:
            entries.append((_HALT,))
        elif op == ControlOp.NOP.value:
            count = FORMATS["count"].unpack(word)["count"]
            entries.append((_NOP, count) if count else (_ILLEGAL, ErrorFlag.BAD_OPERAND))
        elif op == ControlOp.REPEAT.value:
            fields = FORMATS["repeat"].unpack(word)
            if fields["count"] and has_last:
                entries.append((_REPEAT, fields["count"], fields["stride"], fields["gap"]))
            else:
                entries.append((_ILLEGAL, ErrorFlag.BAD_OPERAND))
        elif op == ControlOp.SYNC.value:
            entries.append((_SYNC,))
        elif op == ControlOp.NOTIFY.value:
            entries.append((_NOTIFY,))
        else:
            entries.append((_ILLEGAL, ErrorFlag.ILLEGAL_OPCODE))
    entries.append((_HALT,))
    return entries


class _Queue:
    __slots__ = ("number", "name", "program", "entries", "pc", "last_word", "last_offset",
                 "repeat_left", "repeat_stride", "repeat_gap", "waiting")

    def __init__(self, number, name):
        self.number, self.name = number, name
        self.program = []


class InstructionQueues:
    """Every queue of a chip (:attr:`isa.geometry.Floorplan.queues`).

    Parameters
    ----------
    plan : isa.geometry.Floorplan
    """

    def __init__(self, plan):
        self.depth = plan.config.queue_depth
        self.queues = [_Queue(q.number, q.name) for q in plan.queues]
        self.running = 0
        self._wake = []             # heap of (cycle, queue number)
        self._syncing = set()
        self._notify = False        # some queue issued NOTIFY last cycle

    def load(self, number, words):
        self.queues[number].program = [int(w) for w in words]

    def start(self):
        """Program start: every queue at its instruction 0, issuing in cycle 0."""
        self._wake = []
        for q in self.queues:
            q.entries = _compile(q.program, self.depth)
            q.pc, q.last_word, q.last_offset = 0, 0, 0
            q.repeat_left, q.repeat_stride, q.repeat_gap = 0, 0, 0
            q.waiting = False
            heapq.heappush(self._wake, (0, q.number))
        self.running = len(self.queues)
        self._syncing = set()
        self._notify = False

    @property
    def halted(self):
        return self.running == 0

    @property
    def notifying(self):
        """A NOTIFY of the last cycle releases queues in this one."""
        return self._notify

    def next_wake(self):
        """The next cycle in which a sleeping queue acts, or ``None`` if none will (every
        queue still running waits in SYNC)."""
        return self._wake[0][0] if self._wake else None

    def waiting(self):
        """Names of the queues waiting in SYNC."""
        return sorted(self.queues[n].name for n in self._syncing)

    def issue(self, cycle):
        """The queues' actions in ``cycle``: ``(issued, flags)``, where ``issued`` is
        ``{queue number: (word, offset)}`` (unit instructions, REPEAT's re-issues included) and
        ``flags`` ``{queue number: ErrorFlag}`` of illegal control instructions."""
        issued, flags = {}, {}
        notify_out = False
        due = []
        wake = self._wake
        while wake and wake[0][0] == cycle:
            due.append(heapq.heappop(wake)[1])
        if self._notify and self._syncing:
            due.extend(self._syncing)
            self._syncing = set()
        for number in due:
            q = self.queues[number]
            entry = q.entries[q.pc]
            action = entry[0]
            next_cycle = cycle + 1
            if q.repeat_left:
                # A re-issue; the next one (or the next instruction) after the gap.
                q.last_offset = _wrap32(q.last_offset + q.repeat_stride)
                issued[number] = (q.last_word, q.last_offset)
                q.repeat_left -= 1
                if q.repeat_left:
                    next_cycle = cycle + 1 + q.repeat_gap
                else:
                    q.pc += 1
            elif q.waiting:                 # released from SYNC by last cycle's NOTIFY
                q.waiting = False
                q.pc += 1
            elif action == _UNIT:
                issued[number] = (entry[1], 0)
                q.last_word, q.last_offset = entry[1], 0
                q.pc += 1
            elif action == _HALT:
                self.running -= 1
                continue
            elif action == _NOP:
                q.pc += 1
                next_cycle = cycle + entry[1]
            elif action == _REPEAT:
                q.repeat_left, q.repeat_stride, q.repeat_gap = entry[1], entry[2], entry[3]
                if q.repeat_gap:
                    # Idle for the gap; the re-issue happens when the queue wakes.
                    next_cycle = cycle + q.repeat_gap
                else:
                    q.last_offset = _wrap32(q.last_offset + q.repeat_stride)
                    issued[number] = (q.last_word, q.last_offset)
                    q.repeat_left -= 1
                    if not q.repeat_left:
                        q.pc += 1
            elif action == _SYNC:
                if self._notify:
                    q.pc += 1
                else:
                    q.waiting = True
                    self._syncing.add(number)
                    continue
            elif action == _NOTIFY:
                notify_out = True
                q.pc += 1
            else:
                flags[number] = entry[1]
                q.pc += 1
            heapq.heappush(wake, (next_cycle, number))
        self._notify = notify_out
        return issued, flags

"""Turning timed instructions into queue programs, and computing program length.

A :class:`QueueBuilder` collects, for one queue, instructions placed at absolute cycles
("issue this word at cycle 40 and re-issue it 63 more times, adding 1 to its address each
time"), checks that nothing overlaps, and emits the words: NOPs for the gaps, REPEATs for the
runs, a final HALT. Instructions placed one by one that differ only by a constant step of
their offset field (an address, a row) and are issued at a constant interval (every cycle, or
every ``gap + 1`` cycles, such as a folded matrix unit's activations) are merged into one run.
The cycle in which that HALT issues is the queue's length; the program's length is the longest
queue's (:mod:`isa.timing`).
"""

from isa.formats import FORMATS, encode, spec_for
from isa.opcodes import ControlOp, OPCODE_BITS

__all__ = ["QueueBuilder", "ScheduleError", "QueueOverflow", "MAX_NOP", "MAX_REPEAT", "MAX_GAP"]

MAX_NOP = (1 << FORMATS["count"].positions["count"][1].width) - 1
MAX_REPEAT = (1 << FORMATS["repeat"].positions["count"][1].width) - 1
MAX_GAP = (1 << FORMATS["repeat"].positions["gap"][1].width) - 1
_STRIDE = FORMATS["repeat"].positions["stride"][1]
_MIN_STRIDE, _MAX_STRIDE = -(1 << (_STRIDE.width - 1)), (1 << (_STRIDE.width - 1)) - 1


class ScheduleError(ValueError):
    """The scheduler could not place an instruction (an overlap or an exhausted resource)."""


class QueueOverflow(ScheduleError):
    """A queue's program has more instructions than its instruction memory holds."""



class QueueBuilder:
    """Timed instructions for one queue.

    Parameters
    ----------
    queue : isa.geometry.Queue
    """

    def __init__(self, queue):
        self.queue = queue
        self.runs = []          # (cycle, word, count, stride, gap)

    def place(self, cycle, word, count=1, stride=0, gap=0):
        """Issue ``word`` in cycle ``cycle`` and ``count - 1`` more times, ``gap + 1`` cycles
        apart, adding ``stride`` to its offset field each time."""
        if cycle < 0:
            raise ScheduleError(f"{self.queue.name}: instruction at negative cycle {cycle}")
        if count < 1:
            raise ScheduleError(f"{self.queue.name}: run of {count} issues")
        if not 0 <= gap <= MAX_GAP:
            raise ScheduleError(f"{self.queue.name}: gap {gap} outside 0..{MAX_GAP}")
        self.runs.append((cycle, word, count, stride, gap))

    @staticmethod
    def _last_issue(run):
        cycle, _, count, _, gap = run
        return cycle + (count - 1) * (gap + 1)

    @property
    def end(self):
        """The cycle in which this queue halts (0 for an empty queue)."""
        return max((self._last_issue(run) + 1 for run in self.runs), default=0)

    def _split(self, word):
        """``(word without its offset field, offset field value)``, or ``(word, None)``."""
        spec = spec_for(self.queue.kind, word & ((1 << OPCODE_BITS) - 1))
        if spec is None or spec.format.offset is None:
            return word, None
        lsb, field = spec.format.positions[spec.format.offset]
        mask = ((1 << field.width) - 1) << lsb
        return word & ~mask, field.decode((word & mask) >> lsb)

    def merged(self):
        """The runs in time order, consecutive compatible ones merged: the same word but for
        its offset field, which grows by one step per issue, issued at one interval."""
        runs = []
        for run in self._unwoven():
            if runs and (joined := self._join(runs[-1], run)):
                runs[-1] = joined
            else:
                runs.append(run)
        return runs

    def _unwoven(self):
        """The runs in time order, a run whose gaps hold another run's issues split into
        single issues (a queue runs one REPEAT at a time: the calendar lets kernels use the
        gaps between one kernel's repeats)."""
        ordered = sorted(self.runs, key=lambda run: run[0])
        woven = set()
        active = []                     # gapped runs whose span reaches the current run
        for index, run in enumerate(ordered):
            active = [j for j in active if self._last_issue(ordered[j]) > run[0]]
            gapped = run[2] > 1 and run[4] > 0
            if active:
                woven.update(active)
                if gapped:
                    woven.add(index)
            if gapped:
                active.append(index)
        unwoven = []
        for index, run in enumerate(ordered):
            if index in woven:
                cycle, word, count, stride, gap = run
                unwoven += [(cycle + k * (gap + 1), self._advance(word, k * stride), 1, 0, 0)
                            for k in range(count)]
            else:
                unwoven.append(run)
        return sorted(unwoven, key=lambda run: run[0])

    def _advance(self, word, amount):
        """``word`` with ``amount`` added to its offset field."""
        if not amount:
            return word
        spec = spec_for(self.queue.kind, word & ((1 << OPCODE_BITS) - 1))
        lsb, field = spec.format.positions[spec.format.offset]
        mask = ((1 << field.width) - 1) << lsb
        value = field.decode((word & mask) >> lsb) + amount
        return (word & ~mask) | (field.encode(value) << lsb)

    def _join(self, last, run):
        """``last`` and the ``run`` that follows it as one run, or ``None`` if they differ in
        more than the offset field or do not keep one step and one interval."""
        last_cycle, last_word, last_count, last_stride, last_gap = last
        cycle, word, count, stride, gap = run
        key, value = self._split(word)
        last_key, last_value = self._split(last_word)
        if value is None or key != last_key:
            return None
        # A single issue takes the interval and step of what follows it.
        interval = cycle - self._last_issue(last)
        step = last_stride if last_count > 1 else value - last_value
        joint_gap = last_gap if last_count > 1 else interval - 1
        if (interval == joint_gap + 1 and 0 <= joint_gap <= MAX_GAP
                and value == last_value + step * last_count
                and (count == 1 or (stride == step and gap == joint_gap))
                and _MIN_STRIDE <= step <= _MAX_STRIDE):
            return (last_cycle, last_word, last_count + count, step, joint_gap)
        return None

    def words(self):
        """The queue's program: the runs in time order with NOPs between them, then HALT."""
        kind = self.queue.kind
        words = []
        now = 0
        for run in self.merged():
            cycle, word, count, stride, gap = run
            if cycle < now:
                raise ScheduleError(f"{self.queue.name}: instructions overlap at cycle {cycle}")
            idle = cycle - now
            while idle:
                step = min(idle, MAX_NOP)
                words.append(encode(kind, ControlOp.NOP, count=step))
                idle -= step
            words.append(word)
            left = count - 1
            while left:
                step = min(left, MAX_REPEAT)
                words.append(encode(kind, ControlOp.REPEAT, count=step, stride=stride,
                                      gap=gap))
                left -= step
            now = self._last_issue(run) + 1
        if words:
            words.append(encode(kind, ControlOp.HALT))
        return words

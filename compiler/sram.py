"""The chip-wide SRAM allocator: which words of which MEM slice hold which tensor, and from
when a released word may be written again.

Each slice keeps a sorted list of free address ranges, each tagged with the cycle after which
it is free (``-1`` for a word no program has used). A tensor's words are freed at the cycle of
their last read; a later kernel may write them only after that cycle, which a kernel states by
the earliest cycle it writes (``after``). Allocation is first fit by address, so in a program
that frees nothing it hands out every slice's words in order, like a bump pointer.

Changes are journaled with the calendar's, so a placement rolled back returns its words.
"""

from isa.geometry import floorplan
from .queues import ScheduleError

__all__ = ["SramAllocator", "SramFull"]


class SramFull(ScheduleError):
    """A MEM slice has no free words for an allocation."""


class SramAllocator:
    """Free and used words of every MEM slice.

    Parameters
    ----------
    config : ChipConfig
    journal : compiler.calendar.Journal
    """

    def __init__(self, config, journal):
        self.config = config
        self.plan = floorplan(config)
        self.journal = journal
        slices = len(self.plan.mem_units)
        #: Per slice: ``[lo, hi, free after cycle]`` ranges, sorted by address.
        self._free = [[[0, config.words, -1]] for _ in range(slices)]
        self._used = [0] * slices
        self._high = [0] * slices       # per slice: one past the highest word ever taken

    def hemispheres(self):
        """``{hemisphere: [slice index]}``, west first."""
        found = {}
        for index, unit in enumerate(self.plan.mem_units):
            found.setdefault(unit.hemisphere, []).append(index)
        return found

    def emptiest_slices(self, count):
        """The ``count`` least-used slices of one hemisphere: the hemisphere whose ``count``
        least-used slices hold the fewest words (a larger hemisphere first; fewer slices if
        no hemisphere has ``count``)."""
        return max((sorted(group, key=lambda i: (self.used(i), i))[:count]
                    for group in self.hemispheres().values()),
                   key=lambda group: (len(group), -sum(self.used(i) for i in group)))

    def roomiest_slices(self, count):
        """The ``count`` least-used slices of the hemisphere with the most free words."""
        group = max(self.hemispheres().values(),
                    key=lambda g: sum(self.free_words(i) for i in g))
        return sorted(group, key=lambda i: (self.used(i), i))[:count]

    def used(self, index):
        """Words of slice ``index`` in use (allocated and not released)."""
        return self._used[index]

    def free_words(self, index):
        return self.config.words - self._used[index]

    def fits(self, index, count, *, after=None):
        """Whether :meth:`allocate` of ``count`` words of slice ``index`` would succeed."""
        limit = -1 if after is None else after
        return any(hi - lo >= count and since <= limit for lo, hi, since in self._free[index])

    def allocate(self, index, count=1, *, after=None):
        """The first address of ``count`` consecutive free words of slice ``index`` that may be
        written after cycle ``after`` (``None``: any words never used or released before the
        program's start). Raises :class:`ScheduleError` when there are none."""
        free = self._free[index]
        limit = -1 if after is None else after
        for k, (lo, hi, since) in enumerate(free):
            if hi - lo >= count and since <= limit:
                self._set(index, [*free[:k], *([[lo + count, hi, since]] if hi - lo > count
                                               else []), *free[k + 1:]], count, lo + count)
                return lo
        unit = self.plan.mem_units[index]
        raise SramFull(f"SRAM of {unit.name} is full: {count} more words needed, "
                            f"{self.free_words(index)} of its {self.config.words} words free"
                            + ("" if after is None else f" after cycle {after}"))

    def reserve(self, index, address, count):
        """Take words ``address .. address + count - 1`` of slice ``index``, which must be free
        (the words of tensors another allocator placed, such as a model resident in SRAM)."""
        free = self._free[index]
        for k, (lo, hi, since) in enumerate(free):
            if lo <= address and address + count <= hi:
                pieces = [[lo, address, since]] if address > lo else []
                if address + count < hi:
                    pieces.append([address + count, hi, since])
                self._set(index, [*free[:k], *pieces, *free[k + 1:]], count, address + count)
                return
        raise ScheduleError(f"words {address}..{address + count - 1} of "
                            f"{self.plan.mem_units[index].name} are not free")

    def release(self, index, address, count, after):
        """Words ``address .. address + count - 1`` of slice ``index`` are free for writes
        after cycle ``after`` (their last read)."""
        free = [list(r) for r in self._free[index]]
        if any(lo < address + count and address < hi for lo, hi, _ in free):
            raise ScheduleError(f"words {address}..{address + count - 1} of "
                                f"{self.plan.mem_units[index].name} released twice")
        free.append([address, address + count, after])
        free.sort()
        merged = []
        for lo, hi, since in free:
            if merged and merged[-1][1] == lo and merged[-1][2] == since:
                merged[-1][1] = hi
            else:
                merged.append([lo, hi, since])
        self._set(index, merged, -count)

    def high_bytes(self):
        """Bytes up to the highest word taken in each slice, summed: the SRAM the placements
        so far need (a chip with fewer words per slice would not hold them)."""
        return sum(self._high) * self.config.lanes

    def _set(self, index, free, used, end=0):
        old_free, old_used, old_high = self._free[index], self._used[index], self._high[index]

        def undo():
            self._free[index], self._used[index], self._high[index] = \
                old_free, old_used, old_high
        self._free[index] = free
        self._used[index] = old_used + used
        self._high[index] = max(old_high, end)
        self.journal.record(undo)

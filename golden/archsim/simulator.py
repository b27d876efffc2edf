"""The architectural simulator's host side: load a program and its SRAM images into a
:class:`~golden.archsim.chip.ChipModel`, run it to its end, read the memories back."""

from isa.host import RunOutcome
from .checks import ChipError, ProgramError, instruction_words, is_int
from .chip import ChipModel

__all__ = ["ArchSim"]


class ArchSim:
    """One chip driven as a host drives it.

    It implements the rules of :mod:`isa.timing` and :mod:`isa.legality` and the arithmetic of
    :mod:`golden.vector`, :mod:`golden.matrix` and :mod:`golden.switch`, independently of the
    RTL, and reports what the RTL must report: the memories' contents, the program length in
    cycles and the error registers.

    It is also strict where the RTL is merely deterministic: a program that consumes a value
    nobody produced (a stream register never written this run, an SRAM word never loaded or
    written, a lookup-table entry never written) raises
    :class:`~golden.archsim.checks.ProgramError`, because on the chip it would read a zero or
    stale data and is certainly a compiler bug. Pass ``strict=False`` to simulate such programs
    the way the RTL runs them.

    Parameters
    ----------
    config : ChipConfig
    strict : bool
    """

    def __init__(self, config, *, strict=True):
        self.config = config
        self.chip = ChipModel(config, strict=strict)
        self.plan = self.chip.plan

    # ---- Host side. ----

    def _slice(self, index):
        if not is_int(index) or not 0 <= index < len(self.chip.mems):
            raise ChipError(f"SRAM index {index!r} out of range (0..{len(self.chip.mems) - 1})")
        return self.chip.mems[index].sram

    def load_sram(self, index, address, words):
        """Write ``words`` (``[n, lanes]`` uint8) into MEM slice ``index`` from ``address``."""
        self._slice(index).load(address, words)

    def read_sram(self, index, address, count):
        """``count`` words of MEM slice ``index`` from ``address`` (``[count, lanes]`` uint8),
        decoded as the chip's host port returns them: corrected words counted, uncorrectable
        ones counted and flagged (:meth:`~golden.archsim.chip.ChipModel.host_read`)."""
        words, statuses = self._slice(index).unload(address, count)
        self.chip.host_read(index, address, statuses)
        return words

    def flip_sram_bit(self, index, address, bit):
        """Fault injection: invert bit ``bit`` of the stored word ``address`` of MEM slice
        ``index`` (:meth:`~golden.archsim.sram.Sram.flip`: data bits, then check bits)."""
        self._slice(index).flip(address, bit)

    def clear(self):
        """CLEAR: the error flags, the first error and the ECC registers."""
        self.chip.clear_errors()

    def load_program(self, queue, words):
        """Load the instruction words of queue number ``queue`` (integers of
        :data:`~isa.formats.WORD_BITS` bits). Raises :class:`ChipError`, and loads nothing, for
        a queue out of range, more words than the queue depth or a word that is not an
        instruction word."""
        if not is_int(queue) or not 0 <= queue < len(self.plan.queues):
            raise ChipError(f"queue {queue!r} out of range (0..{len(self.plan.queues) - 1})")
        self.chip.queues.load(queue, instruction_words(queue, words, self.config.queue_depth))

    # ---- Running. ----

    def run(self, *, max_cycles=10_000_000, trace=False, each_cycle=None):
        """Run the loaded programs from cycle 0 until every queue has halted; returns the
        :class:`~isa.host.RunOutcome` (without outputs: read them with :meth:`read_sram`).
        ``each_cycle(chip)`` is called after every cycle but the last (the run then steps
        through quiet cycles one by one instead of skipping them)."""
        chip = self.chip
        chip.start(trace=trace)
        while True:
            if chip.cycle >= max_cycles:
                raise ProgramError(f"no halt after {max_cycles} cycles")
            chip.step()
            if chip.halted:
                break
            if each_cycle is None:
                chip.skip_quiet(max_cycles)
            else:
                each_cycle(chip)
        return RunOutcome(cycles=chip.cycle, errors=chip.errors, error_queue=chip.error_queue,
                          error_cycle=chip.error_cycle, trace=tuple(chip.trace or ()))

    def execute(self, program, *, trace=False, max_cycles=10_000_000, each_cycle=None):
        """Load ``program`` (a :class:`~compiler.program.Program`: anything with
        ``load_into`` and ``read_outputs``), run it (:meth:`run`) and read its output regions
        back: its :class:`~isa.host.RunOutcome`."""
        program.load_into(self)
        outcome = self.run(trace=trace, max_cycles=max_cycles, each_cycle=each_cycle)
        outcome.outputs = program.read_outputs(self)
        outcome.ecc = self.chip.ecc
        return outcome

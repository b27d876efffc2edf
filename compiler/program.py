"""A compiled program: per-queue instruction words, initial SRAM contents, what to read back,
and the compiler's cycle prediction. Every engine (the golden simulator, the RTL through its
host port, a board) loads the same :class:`Program`."""

from dataclasses import dataclass, field

import numpy as np

from golden.archsim.checks import ChipError, byte_words, instruction_words, is_int
from isa.geometry import floorplan
from isa.opcodes import ControlOp

__all__ = ["Program", "Region"]


def _check_words(config, address, count, what=""):
    """Raise :class:`ChipError` unless ``count`` words from ``address`` lie in a slice."""
    if not (is_int(address) and is_int(count) and count >= 0 and
            0 <= address <= config.words - count):
        raise ChipError(f"{what}{count!r} words at address {address!r} do not fit "
                        f"{config.words} words of SRAM")


@dataclass(frozen=True)
class Region:
    """A named run of SRAM words: ``count`` words of MEM slice ``slice`` from ``address``."""
    name: str
    slice: int
    address: int
    count: int


@dataclass
class Program:
    """Everything one run needs.

    Attributes
    ----------
    config : ChipConfig
    queues : dict
        ``{queue number: [64-bit words]}``; queues not listed hold nothing (they halt at once).
    sram : list
        ``(slice, address, words)`` images loaded before the run (``words``: ``[n, lanes]``
        uint8).
    outputs : list of Region
        What to read back after the run.
    predicted_cycles : int or None
        The compiler's prediction of the program length.
    """
    config: object
    queues: dict = field(default_factory=dict)
    sram: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    predicted_cycles: int = None

    def instruction_images(self):
        """``{queue number: words}`` for every queue of the chip: the program's words followed
        by a HALT (unless they fill the queue). On a chip that ran an earlier program, an
        instruction memory still holds that program's words; the HALT keeps a queue from
        running on into them."""
        images = {}
        for queue in floorplan(self.config).queues:
            words = list(self.queues.get(queue.number, []))
            if len(words) < self.config.queue_depth:
                words.append(ControlOp.HALT.value)
            images[queue.number] = words
        return images

    def check(self, config=None):
        """Raise :class:`~golden.archsim.checks.ChipError` naming the first part of the program
        that a chip of ``config`` (default: the program's own) cannot load: a chip of another
        configuration, a queue number out of range, more words than the queue depth, a word
        that is not an instruction word, an SRAM image or an output region outside the slices
        or not of bytes. Instruction words with an illegal opcode load (they raise an error flag
        when they issue)."""
        config = self.config if config is None else config
        if config != self.config:
            raise ChipError(f"the program is for configuration {self.config.name!r} "
                            f"({self.config.summary()}), not {config.name!r} "
                            f"({config.summary()})")
        queues, slices = len(floorplan(config).queues), len(floorplan(config).mem_units)
        if not isinstance(self.queues, dict):
            raise ChipError(f"the program's queues must be a dict, not {self.queues!r}")
        for number, words in self.queues.items():
            if not is_int(number) or not 0 <= number < queues:
                raise ChipError(f"queue {number!r} out of range (0..{queues - 1})")
            if not isinstance(words, (list, tuple, np.ndarray)):
                raise ChipError(f"queue {number} must hold a list of words, not {words!r}")
            instruction_words(number, words, config.queue_depth)
        for image in self.sram:
            if not (isinstance(image, (tuple, list)) and len(image) == 3):
                raise ChipError(f"an SRAM image must be (slice, address, words), not {image!r}")
            index, address, words = image
            if not is_int(index) or not 0 <= index < slices:
                raise ChipError(f"SRAM index {index!r} out of range (0..{slices - 1})")
            _check_words(config, address, len(byte_words(words, config.lanes)))
        for region in self.outputs:
            if not is_int(region.slice) or not 0 <= region.slice < slices:
                raise ChipError(f"output {region.name!r}: SRAM index {region.slice!r} out of "
                                f"range (0..{slices - 1})")
            _check_words(config, region.address, region.count, f"output {region.name!r}: ")

    def load_into(self, machine):
        """Load every queue's :meth:`instruction_images` and the SRAM images into a machine
        with ``load_program`` and ``load_sram`` (the golden simulator, the board host). The
        program is checked first (:meth:`check`, against ``machine.config``): a program that
        does not fit raises and loads nothing."""
        self.check(getattr(machine, "config", self.config))
        for number, words in self.instruction_images().items():
            machine.load_program(number, words)
        for index, address, words in self.sram:
            machine.load_sram(index, address, byte_words(words, self.config.lanes))

    def read_outputs(self, machine):
        """``{region name: [count, lanes] uint8}`` read from ``machine.read_sram``."""
        return {r.name: machine.read_sram(r.slice, r.address, r.count) for r in self.outputs}

"""A compiled program: per-queue instruction words, initial SRAM contents, what to read back,
and the compiler's cycle prediction. Every engine (the golden simulator, the RTL through its
host port, a board) loads the same :class:`Program`."""

from dataclasses import dataclass, field

import numpy as np

from isa.geometry import floorplan
from isa.opcodes import ControlOp

__all__ = ["Program", "Region"]


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

    def load_into(self, machine):
        """Load every queue's :meth:`instruction_images` and the SRAM images into a machine
        with ``load_program`` and ``load_sram`` (the golden simulator, the board host)."""
        for number, words in self.instruction_images().items():
            machine.load_program(number, words)
        for index, address, words in self.sram:
            machine.load_sram(index, address, np.asarray(words, dtype=np.uint8))

    def read_outputs(self, machine):
        """``{region name: [count, lanes] uint8}`` read from ``machine.read_sram``."""
        return {r.name: machine.read_sram(r.slice, r.address, r.count) for r in self.outputs}

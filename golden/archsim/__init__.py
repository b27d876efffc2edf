"""The architectural simulator: an independent cycle-level model of one chip, built from one
model per unit kind (:mod:`.mem` with its :mod:`.sram`, :mod:`.vxm`, :mod:`.mxm`, :mod:`.sxm`,
the queues :mod:`.icu`) around the stream fabric (:mod:`.fabric`), composed by
:class:`~.chip.ChipModel` and driven from the host side by :class:`~.simulator.ArchSim`."""

from .checks import ChipError, ProgramError
from .chip import ChipModel
from .simulator import ArchSim

__all__ = ["ArchSim", "ChipModel", "ChipError", "ProgramError"]

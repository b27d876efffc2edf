"""The architectural simulator: an independent cycle-level model of one chip, built from one
model per unit kind (:mod:`.mem` with its :mod:`.sram`, :mod:`.vxm`, :mod:`.mxm`, :mod:`.sxm`,
the queues :mod:`.icu`, the link ports :mod:`.link`) around the stream fabric (:mod:`.fabric`),
composed by :class:`~.chip.ChipModel` and driven from the host side by
:class:`~.simulator.ArchSim`; :class:`~.system.ChipSystem` runs several chips joined by
links."""

from .checks import ChipError, ProgramError
from .chip import ChipModel
from .simulator import ArchSim
from .system import ChipSystem, Connection, chain

__all__ = ["ArchSim", "ChipModel", "ChipError", "ProgramError", "ChipSystem", "Connection",
           "chain"]

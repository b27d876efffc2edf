"""Where every slice sits, which instruction queues exist, and what the host can address.

The chip is one row of slice positions, mirrored about the central VXM as in the TSP::

    LINK_W(k-1) .. LINK_W0 | MXM_W(m-1) .. MXM_W0 | SXM_W | MEM_W(n-1) .. MEM_W0 | VXM |
        MEM_E0 .. MEM_E(n-1) | SXM_E | MXM_E0 .. MXM_E(m-1) | LINK_E0 .. LINK_E(k-1)

with ``n = mem_slices``, ``m = mxms`` and ``k = links`` (the chip-to-chip ports sit at the ends
of the row, as on the TSP).

Positions are numbered from 0 at the west edge; "east" is increasing position. Units in a
hemisphere are indexed outwards from the VXM (``mem_w0`` is the VXM's western neighbour).
"""

import enum
from dataclasses import dataclass
from functools import cache

from .opcodes import Direction

__all__ = [
    "Hemisphere", "UnitKind", "QueueKind", "Unit", "Queue", "Floorplan", "floorplan",
    "HostSpace",
]


class Hemisphere(enum.Enum):
    WEST = "w"
    EAST = "e"
    CENTRE = "c"

    @property
    def toward_centre(self):
        """The direction in which a value sent from this hemisphere reaches the VXM."""
        if self is Hemisphere.CENTRE:
            raise ValueError("the centre has no direction towards itself")
        return Direction.EAST if self is Hemisphere.WEST else Direction.WEST

    @property
    def away_from_centre(self):
        """The direction in which a value sent from the VXM reaches this hemisphere."""
        return self.toward_centre.opposite


class UnitKind(enum.Enum):
    MXM = "mxm"
    SXM = "sxm"
    MEM = "mem"
    VXM = "vxm"
    LINK = "link"


class QueueKind(enum.Enum):
    """What a queue drives; each kind has its own opcode enumeration (:mod:`isa.opcodes`)."""
    MEM_READ = "rd"     #: a MEM slice's read port (Read)
    MEM_WRITE = "wr"    #: a MEM slice's write port (Write)
    VXM_ALU = "alu"     #: one VXM ALU
    MXM_LOAD = "load"   #: a matrix unit's weight loader
    MXM_COMPUTE = "mm"  #: a matrix unit's multiply/accumulate pipeline
    SXM = "sxm"         #: a switch unit
    LINK = "port"       #: a chip-to-chip link port (SEND, RECEIVE)


class HostSpace(enum.IntEnum):
    """Memory spaces the host load/unload path addresses (the ``space`` field)."""
    SRAM = 0    #: index = MEM slice number (:attr:`Floorplan.mem_units` order)
    IMEM = 1    #: index = queue number (:attr:`Floorplan.queues` order)


@dataclass(frozen=True)
class Unit:
    """One functional slice at one position."""
    kind: UnitKind
    hemisphere: Hemisphere
    index: int          #: within its kind and hemisphere, counted outwards from the VXM
    position: int       #: 0 at the west edge

    @property
    def name(self):
        if self.kind is UnitKind.VXM:
            return "vxm"
        return f"{self.kind.value}_{self.hemisphere.value}{self.index}"


@dataclass(frozen=True)
class Queue:
    """One instruction queue, bound to the unit it drives."""
    number: int         #: index in :attr:`Floorplan.queues`; the host addresses it by this
    kind: QueueKind
    unit: Unit
    index: int = 0      #: ALU number for :attr:`QueueKind.VXM_ALU`, else 0

    @property
    def name(self):
        if self.kind is QueueKind.VXM_ALU:
            return f"vxm.alu{self.index}"
        return f"{self.unit.name}.{self.kind.value}"


class Floorplan:
    """Positions, units and queues of one configuration. Build it with :func:`floorplan`."""

    def __init__(self, config):
        self.config = config
        n, m = config.mem_slices, config.mxms
        outward = ([(UnitKind.MEM, i) for i in range(n)] + [(UnitKind.SXM, 0)] +
                   [(UnitKind.MXM, i) for i in range(m)] +
                   [(UnitKind.LINK, i) for i in range(config.links)])
        self.centre = len(outward)
        self.positions = 2 * self.centre + 1

        units = [Unit(UnitKind.VXM, Hemisphere.CENTRE, 0, self.centre)]
        for distance, (kind, index) in enumerate(outward, start=1):
            units.append(Unit(kind, Hemisphere.WEST, index, self.centre - distance))
            units.append(Unit(kind, Hemisphere.EAST, index, self.centre + distance))
        #: Every unit, ordered by position (west edge first).
        self.units = tuple(sorted(units, key=lambda u: u.position))

        def of_kind(kind):
            west = [u for u in units if u.kind is kind and u.hemisphere is Hemisphere.WEST]
            east = [u for u in units if u.kind is kind and u.hemisphere is Hemisphere.EAST]
            return tuple(sorted(west, key=lambda u: u.index) + sorted(east, key=lambda u: u.index))

        #: MEM slices: west hemisphere outwards, then east; the host's SRAM index.
        self.mem_units = of_kind(UnitKind.MEM)
        self.sxm_units = of_kind(UnitKind.SXM)
        self.mxm_units = of_kind(UnitKind.MXM)
        #: Link ports: west edge inwards-out, then east; the host's link register block index.
        self.link_units = of_kind(UnitKind.LINK)
        self.vxm_unit = units[0]

        queues = []

        def add(kind, unit, index=0):
            queues.append(Queue(len(queues), kind, unit, index))

        for unit in self.mem_units:
            add(QueueKind.MEM_READ, unit)
            add(QueueKind.MEM_WRITE, unit)
        for alu in range(config.vxm_alus):
            add(QueueKind.VXM_ALU, self.vxm_unit, alu)
        for unit in self.sxm_units:
            add(QueueKind.SXM, unit)
        for unit in self.mxm_units:
            add(QueueKind.MXM_LOAD, unit)
            add(QueueKind.MXM_COMPUTE, unit)
        for unit in self.link_units:
            add(QueueKind.LINK, unit)
        #: Every instruction queue; a queue's number is its index here.
        self.queues = tuple(queues)
        self._by_name = {q.name: q for q in queues}
        self._units_by_name = {u.name: u for u in units}

    def queue(self, name):
        """The queue called ``name`` (for example ``"mem_w0.rd"`` or ``"vxm.alu3"``)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"No queue named {name!r} in configuration "
                           f"{self.config.name!r}") from None

    def unit(self, name):
        """The unit called ``name`` (for example ``"mem_e2"``, ``"vxm"``, ``"mxm_w0"``)."""
        try:
            return self._units_by_name[name]
        except KeyError:
            raise KeyError(f"No unit named {name!r} in configuration "
                           f"{self.config.name!r}") from None

    def has_queue(self, name):
        return name in self._by_name

    def queues_of(self, unit):
        """The queues that drive ``unit``, in queue-number order."""
        return tuple(q for q in self.queues if q.unit == unit)

    def sram_index(self, unit):
        """The host's SRAM index of MEM slice ``unit``."""
        return self.mem_units.index(unit)


@cache
def floorplan(config):
    """The :class:`Floorplan` of ``config`` (cached; configurations are frozen)."""
    return Floorplan(config)

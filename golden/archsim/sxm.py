"""Switch unit model: an operation issued in cycle ``t`` reads its streams in ``t`` and sends
its result in ``t + 1`` (at the neighbouring position in ``t + 2``:
:data:`~isa.timing.SXM_LATENCY`); arithmetic: :mod:`golden.switch`."""

from isa.config import SUPERLANE
from isa.opcodes import DType, SwitchOp
from isa.timing import SXM_LATENCY
from .. import switch
from .checks import UnitModel

__all__ = ["SwitchUnit"]

assert SXM_LATENCY == 2, "SwitchUnit models a result sent one cycle after its issue"


class SwitchUnit(UnitModel):
    """One SXM (parameters: :class:`~golden.archsim.checks.UnitModel`)."""

    def __init__(self, unit, config, checks):
        super().__init__(unit, config, checks)
        self._sends = []            # computed last cycle: (direction, stream, plane)

    def reset(self):
        self._sends = []

    @property
    def busy(self):
        return bool(self._sends)

    def advance(self, cycle, fabric):
        """Start of ``cycle``: the result computed last cycle goes onto its streams."""
        for direction, stream, plane in self._sends:
            fabric.send(self.position, direction, stream, plane)
        self._sends = []

    def issue(self, instr, offset, cycle, queue, fabric):
        """An operation issued in ``cycle`` by ``queue`` (its name)."""
        count = SUPERLANE if instr.op is SwitchOp.TRANS else instr.dtype.bytes
        planes, ok = fabric.read(instr.src_dir, self.position, instr.src, count, cycle)
        self.checks.require(ok, f"{queue} reads streams {instr.src_dir.name.lower()}"
                                f"{instr.src}.. at cycle {cycle}, which carry no value")
        if instr.op is SwitchOp.TRANS:
            out = switch.transpose(planes)
        else:
            map_planes = None
            if instr.op is SwitchOp.PERM:
                map_planes, map_ok = fabric.read(instr.map_dir, self.position, instr.map,
                                                 DType.I16.bytes, cycle)
                self.checks.require(map_ok, f"{queue} reads a map carrying no value at cycle "
                                            f"{cycle}")
            out = switch.move(instr.op, planes, instr.dtype, instr.amount + offset, instr.fill,
                              map_planes)
        self._sends = [(instr.dst_dir, instr.dst + k, out[k]) for k in range(count)]

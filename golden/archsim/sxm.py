"""Switch unit model: an operation issued in cycle ``t`` reads its streams in ``t`` and sends
its result so that it is at the neighbouring position in cycle ``t + sxm_latency``
(:func:`~isa.timing.sxm_latency`: ``t + 2`` unfolded). A folded unit takes an operation every
:func:`~isa.timing.sxm_issue_interval` cycles; one issued sooner raises ``BAD_OPERAND`` and has
no effect. Arithmetic: :mod:`golden.switch`."""

from isa.config import SUPERLANE
from isa.host import ErrorFlag
from isa.opcodes import DType, SwitchOp
from isa.timing import sxm_issue_interval, sxm_latency
from .. import switch
from .checks import UnitModel

__all__ = ["SwitchUnit"]


class SwitchUnit(UnitModel):
    """One SXM (parameters: :class:`~golden.archsim.checks.UnitModel`)."""

    def __init__(self, unit, config, checks):
        super().__init__(unit, config, checks)
        # Cycles from issue to the cycle the result is sent, and between two operations.
        self._send_after = sxm_latency(config) - 1
        self._interval = sxm_issue_interval(config)
        self._sends = []            # (cycle, [(direction, stream, plane), ...])
        self._free = 0              # first cycle the unit accepts an operation

    def reset(self):
        self._sends = []
        self._free = 0

    @property
    def busy(self):
        return bool(self._sends)

    def advance(self, cycle, fabric):
        """Start of ``cycle``: a result due now goes onto its streams."""
        for when, planes in self._sends:
            if when == cycle:
                for direction, stream, plane in planes:
                    fabric.send(self.position, direction, stream, plane)
        self._sends = [entry for entry in self._sends if entry[0] != cycle]

    def issue(self, instr, offset, cycle, queue, fabric):
        """An operation issued in ``cycle`` by ``queue`` (its name); returns the error flag
        (``BAD_OPERAND`` while a folded unit is still computing, else none)."""
        if cycle < self._free:
            return ErrorFlag.BAD_OPERAND
        self._free = cycle + self._interval
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
        self._sends.append((cycle + self._send_after,
                            [(instr.dst_dir, instr.dst + k, out[k]) for k in range(count)]))
        return ErrorFlag(0)

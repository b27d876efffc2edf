"""VXM model: the ALUs at the central position, their result registers and lookup tables, and
the constant registers they share.

An operation issued in cycle ``t`` reads its operands in ``t`` (stage 0) and computes in
``t + 1`` .. ``t + f`` (``f = vxm_fold``, 1 unfolded), reading its lookup table there; its
result is in the ALU's result register, and on its stream at the neighbouring position, in
``t + vxm_latency`` (:func:`~isa.timing.vxm_latency`: ``t + f + 1`` unfolded, later on a
folded ALU, whose lanes pass through a pipeline; the ALU may then take its next operation
before the result is out). LDC and LUTW act in ``t + 1``. An ALU accepts an operation
every :func:`~isa.timing.vxm_issue_interval` cycles; one issued sooner raises ``BAD_OPERAND``
and has no effect. Registers written in a cycle (results, constants, table entries) change at
its end, so every read in a cycle sees the values of the cycle before.
"""

import numpy as np

from isa.config import LUT_ENTRIES
from isa.host import ErrorFlag
from isa.opcodes import IMMEDIATE_INDEX, OperandKind, VectorOp
from isa.timing import VXM_LATENCY, vxm_issue_interval, vxm_latency
from .. import vector
from .checks import UnitModel

__all__ = ["VectorUnit"]


def _wrap32(value):
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


class VectorUnit(UnitModel):
    """The VXM (parameters: :class:`~golden.archsim.checks.UnitModel`)."""

    def __init__(self, unit, config, checks):
        super().__init__(unit, config, checks)
        alus, lanes = config.vxm_alus, config.lanes
        self.results = np.zeros((alus, lanes), dtype=np.int64)
        self.consts = np.zeros((config.vxm_consts, lanes), dtype=np.int64)
        self.tables = np.zeros((alus, LUT_ENTRIES), dtype=np.int64)
        self.tables_ok = np.zeros((alus, LUT_ENTRIES), dtype=bool)
        # Cycles from issue to the last cycle of reading the table, to the cycle that sends the
        # result, and between an ALU's operations.
        self._computed = VXM_LATENCY + config.vxm_fold - 2
        self._finish = vxm_latency(config) - 1
        self._interval = vxm_issue_interval(config)
        # In flight, in issue order: [alu, first cycle of stage 1, cycle the lanes are
        # computed, cycle the result is sent, instr, imm, a, b, c, result (once computed)].
        self._inflight = []
        self._free = [0] * alus     # ALU -> first cycle it accepts an operation
        self._commits = []

    def reset(self):
        self.results[:] = 0
        self.consts[:] = 0
        self.tables[:] = 0
        self.tables_ok[:] = False
        self._inflight = []
        self._free = [0] * self.config.vxm_alus
        self._commits = []

    @property
    def busy(self):
        """Some operation is in stage 1."""
        return bool(self._inflight)

    def advance(self, cycle, fabric):
        """Stage 1 of the operations in flight: LDC and LUTW act in their first cycle, the
        others compute in their last cycle of computing (reading the table then) and send
        when their latency says (the same cycle unfolded); register writes are buffered for
        :meth:`commit`."""
        for work in self._inflight:
            alu, first, computed, last, instr, imm, a, b, c, result = work
            op = instr.op
            if op is VectorOp.LDC:
                if cycle == first:
                    self._commits.append(("const", imm, a))
            elif op is VectorOp.LUTW:
                if cycle == first:
                    self._commits.append(("table", alu, imm, a))
            else:
                if cycle == computed:
                    if op is VectorOp.LUT:
                        self.checks.require(self.tables_ok[alu][a & (LUT_ENTRIES - 1)].all(),
                                            f"vxm.alu{alu} reads a lookup-table entry never "
                                            f"written at cycle {cycle}")
                    result = work[-1] = vector.compute(op, instr.stype, instr.dtype, a, b, c,
                                                       table=self.tables[alu])
                if cycle == last:
                    self._commits.append(("result", alu, result))
                    if instr.dst_en:
                        planes = vector.to_bytes(result, instr.dtype)
                        for k in range(instr.dtype.bytes):
                            fabric.send(self.position, instr.dst_dir, instr.dst_stream + k,
                                        planes[k])
        self._inflight = [work for work in self._inflight if work[3] > cycle]

    def issue(self, issues, cycle, fabric, flags):
        """Stage 0 of the operations issued in ``cycle``: ``issues`` is ``{alu: (instr,
        offset, flag, queue number)}``. Illegal ones, and one that sends to a stream (or loads
        a constant register) an ALU of lower number already claims this cycle, raise their
        flag in ``flags`` and have no effect, as does one issued to an ALU still computing
        (``BAD_OPERAND``); the others read their operands."""
        claimed_streams = set()
        claimed_consts = set()
        for alu in sorted(issues):
            instr, offset, flag, number = issues[alu]
            if not flag and cycle < self._free[alu]:
                flag = ErrorFlag.BAD_OPERAND
            if flag:
                flags[number] = flag
                continue
            imm = _wrap32(instr.imm + offset)
            claims = set()
            if instr.spec.result and instr.dst_en:
                claims = {(instr.dst_dir, instr.dst_stream + k)
                          for k in range(instr.dtype.bytes)}
            if claims & claimed_streams or (instr.op is VectorOp.LDC and imm in claimed_consts):
                flags[number] = ErrorFlag.STREAM_CONFLICT
                continue
            claimed_streams |= claims
            if instr.op is VectorOp.LDC:
                claimed_consts.add(imm)
            values = [self._operand(getattr(instr, name), instr.stype, imm, cycle, fabric, alu)
                      if name in instr.spec.operands else 0
                      for name in "abc"]
            self._inflight.append([alu, cycle + 1, cycle + self._computed, cycle + self._finish,
                                   instr, imm, *values, None])
            self._free[alu] = cycle + self._interval

    def commit(self):
        """End of the cycle: result, constant and table registers take their new values."""
        lanes = self.config.lanes
        for commit in self._commits:
            if commit[0] == "result":
                self.results[commit[1]] = commit[2]
            elif commit[0] == "const":
                self.consts[commit[1]] = commit[2]
            else:
                _, alu, base, values = commit
                self.tables[alu] = vector.lut_write(self.tables[alu], base, values)
                self.tables_ok[alu][base:base + max(0, min(lanes, LUT_ENTRIES - base))] = True
        self._commits = []

    def _operand(self, operand, stype, imm, cycle, fabric, alu):
        if operand.kind in (OperandKind.EAST, OperandKind.WEST):
            direction = operand.kind.direction
            planes, ok = fabric.read(direction, self.position, operand.index, stype.bytes, cycle)
            self.checks.require(ok, f"vxm.alu{alu} reads stream {operand} at cycle {cycle}, "
                                    f"which carries no value")
            value = vector.from_bytes(planes, stype)
        elif operand.kind is OperandKind.ALU:
            value = self.results[operand.index]
        elif operand.index == IMMEDIATE_INDEX:
            value = np.full(self.config.lanes, imm, dtype=np.int64)
        else:
            value = self.consts[operand.index]
        return vector.read_as(value, stype)

"""Matrix unit model: shadow and active weights and bias, accumulator rows, and the MMs in
flight (timing: :mod:`isa.timing`, arithmetic: :mod:`golden.matrix`).

In a cycle, an MM issued in it installs the shadow weights and bias first (with ``install``)
and captures its activation; loads issued in it then write the shadow; MMs finishing in it
(the cycle before their row is at the neighbouring position, :func:`~isa.timing.mxm_latency`)
update their accumulator row and send it. An MM issued while the array is still busy with the
previous one (a folded unit takes ``mxm_fold`` cycles per MM) is flagged.
"""

import numpy as np

from isa.host import ErrorFlag
from isa.opcodes import DType, MatrixLoadOp
from isa.timing import mxm_issue_interval, mxm_latency
from .. import vector
from .checks import UnitModel

__all__ = ["MatrixUnit"]


class MatrixUnit(UnitModel):
    """One MXM (parameters: :class:`~golden.archsim.checks.UnitModel`)."""

    def __init__(self, unit, config, checks):
        super().__init__(unit, config, checks)
        self.reset()

    def reset(self):
        lanes, depth = self.config.lanes, self.config.mxm_acc_depth
        #: Row ``k`` of the weights is the weights of input lane ``k``.
        self.shadow = np.zeros((lanes, lanes), dtype=np.int64)
        self.shadow_ok = np.zeros(lanes, dtype=bool)
        self.weights = np.zeros((lanes, lanes), dtype=np.int64)
        self.weights_ok = np.zeros(lanes, dtype=bool)
        self.shadow_bias = np.zeros(lanes, dtype=np.int64)
        self.bias = np.zeros(lanes, dtype=np.int64)
        self.acc = np.zeros((depth, lanes), dtype=np.int64)
        self.acc_ok = np.zeros(depth, dtype=bool)
        self.busy_until = 0             # first cycle a new MM may issue
        self._pending = []              # (finish cycle, instr, acc row, product, bias)
        self._computes = []             # issued this cycle: (instr, offset, queue name)
        self._loads = []

    @property
    def busy(self):
        """Some MM is still in the array."""
        return bool(self._pending)

    def compute(self, instr, offset, cycle, queue, number, flags):
        """An MM issued in ``cycle``; flagged in ``flags`` if the array is busy."""
        if cycle < self.busy_until:
            flags[number] = ErrorFlag.BAD_OPERAND
        else:
            self._computes.append((instr, offset, queue))

    def load(self, instr, offset, queue):
        """An LW or LB issued in this cycle."""
        self._loads.append((instr, offset, queue))

    def execute(self, cycle, fabric):
        """This cycle's MMs, loads, and the MMs that finish in it."""
        for instr, offset, name in self._computes:
            planes, ok = fabric.read(instr.act_dir, self.position, instr.act_stream, 1, cycle)
            self.checks.require(ok, f"{name} reads activation stream "
                                    f"{instr.act_dir.name.lower()}{instr.act_stream} at cycle "
                                    f"{cycle}, which carries no value")
            if instr.install:
                self.weights, self.weights_ok = self.shadow.copy(), self.shadow_ok.copy()
                self.bias = self.shadow_bias.copy()
            self.checks.require(self.weights_ok.all(), f"{name} multiplies by weight rows "
                                                       f"never loaded at cycle {cycle}")
            activation = vector.read_as(planes[0], DType.I8)
            product = activation @ self.weights
            finish = cycle + mxm_latency(self.config) - 1
            self.busy_until = cycle + mxm_issue_interval(self.config)
            self._pending.append((finish, instr, instr.acc + offset, product, self.bias.copy(),
                                  name))
        self._computes = []
        for instr, offset, name in self._loads:
            self._load(instr, offset, name, cycle, fabric)
        self._loads = []
        while self._pending and self._pending[0][0] == cycle:
            _, instr, row, product, bias, name = self._pending.pop(0)
            if instr.accumulate:
                self.checks.require(self.acc_ok[row], f"{name} accumulates into row {row}, "
                                                      f"never written, at cycle {cycle}")
                base = self.acc[row]
            else:
                base = bias
            self.acc[row] = vector.wrap(base + product, DType.I32)
            self.acc_ok[row] = True
            if instr.emit:
                planes = vector.to_bytes(self.acc[row], DType.I32)
                for k in range(DType.I32.bytes):
                    fabric.send(self.position, instr.out_dir, instr.out_stream + k, planes[k])

    def _load(self, instr, offset, name, cycle, fabric):
        direction = instr.dir.name.lower()
        slot, registers, ok = fabric.registers(instr.dir, self.position, cycle)
        if instr.op is MatrixLoadOp.LB:
            planes = vector.to_bytes(self.shadow_bias, DType.I32)
            for k in range(instr.count):
                plane, stream = instr.row + offset + k, instr.stream + k
                self.checks.require(ok[slot, stream], f"{name} loads bias plane {plane} from "
                                                      f"stream {direction}{stream} at cycle "
                                                      f"{cycle}, which carries no value")
                planes[plane] = registers[slot, stream]
            self.shadow_bias = vector.from_bytes(planes, DType.I32)
        else:
            row = instr.row + offset
            for k in range(instr.count):
                stream = instr.stream + k
                self.checks.require(ok[slot, stream], f"{name} loads weight row {row + k} from "
                                                      f"stream {direction}{stream} at cycle "
                                                      f"{cycle}, which carries no value")
                self.shadow[row + k] = vector.read_as(registers[slot, stream], DType.I8)
                self.shadow_ok[row + k] = True

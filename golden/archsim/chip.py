"""One chip: the unit models of its floorplan around one stream fabric, stepped a cycle at a
time.

A cycle runs in three phases, so that every read in it sees the state the cycle began with:

1. the fabric fills its edge registers; every queue issues (:class:`InstructionQueues`);
2. units advance work in flight (a read or a switch result reaching its stream, a VXM stage 1,
   an MM finishing) and execute what was issued (decoded and checked against
   :mod:`isa.legality`), reading registers and buffering what they write;
3. errors are recorded, then every buffered write takes effect: SRAM words, VXM registers, and
   the values sent onto streams.

The edges are explicit: :meth:`ChipModel.step` takes the vectors that enter the eastward
registers at the west edge and the westward ones at the east edge, and returns those that
leave past the edges. The chip-to-chip links are not there but in link port units at the ends of
the row (:mod:`.link`), which a :class:`~golden.archsim.system.ChipSystem` connects.
"""

from dataclasses import replace

from isa.formats import decode
from isa.geometry import QueueKind, UnitKind, floorplan
from isa.ecc import EccStatus
from isa.host import ECC_COUNTER_BITS, HOST_QUEUE, EccReport, ErrorFlag
from isa.legality import check
from .checks import Checks, ProgramError
from .fabric import StreamFabric
from .icu import InstructionQueues
from .link import LinkPort
from .mem import MemorySlice
from .mxm import MatrixUnit
from .sxm import SwitchUnit
from .vxm import VectorUnit

__all__ = ["ChipModel"]


class ChipModel:
    """The state of one chip and its cycle.

    Parameters
    ----------
    config : ChipConfig
    strict : bool
        Raise :class:`~golden.archsim.checks.ProgramError` when a program consumes a value
        never produced.
    """

    def __init__(self, config, *, strict=True):
        self.config = config
        self.plan = plan = floorplan(config)
        self.checks = Checks(strict)
        self.fabric = StreamFabric(plan.positions, config.streams, config.lanes)
        self.queues = InstructionQueues(plan)
        self.mems = [MemorySlice(u, config, self.checks) for u in plan.mem_units]
        self.vxm = VectorUnit(plan.vxm_unit, config, self.checks)
        self.mxms = [MatrixUnit(u, config, self.checks) for u in plan.mxm_units]
        self.sxms = [SwitchUnit(u, config, self.checks) for u in plan.sxm_units]
        self.links = [LinkPort(u, config, self.checks) for u in plan.link_units]
        unit_of = {UnitKind.MEM: self.mems, UnitKind.MXM: self.mxms, UnitKind.SXM: self.sxms,
                   UnitKind.LINK: self.links}
        # Queue number -> (kind, the unit model it drives, its ALU or unit index).
        self._targets = []
        for q in plan.queues:
            if q.kind is QueueKind.VXM_ALU:
                self._targets.append((q.kind, self.vxm, q.index))
            else:
                models = unit_of[q.unit.kind]
                index = {UnitKind.MEM: plan.mem_units, UnitKind.MXM: plan.mxm_units,
                         UnitKind.SXM: plan.sxm_units,
                         UnitKind.LINK: plan.link_units}[q.unit.kind].index(q.unit)
                self._targets.append((q.kind, models[index], index))
        # Link port -> the number of its queue (which its errors flag).
        self._link_queue = {self.links[plan.link_units.index(q.unit)]: q.number
                            for q in plan.queues if q.kind is QueueKind.LINK}
        # SRAM index -> number of its read queue (which an uncorrectable word flags).
        self._read_queue = {plan.sram_index(q.unit): q.number for q in plan.queues
                            if q.kind is QueueKind.MEM_READ}
        self._decoded = {}
        self.cycle = 0
        self.errors = ErrorFlag(0)
        self.error_queue = self.error_cycle = 0
        self.ecc = EccReport()
        self.trace = None

    # ---- Program start and state. ----

    def start(self, *, trace=False):
        """START: clear the fabric, the units' state and the errors; queues issue their
        instruction 0 in the next :meth:`step`, cycle 0."""
        self.fabric.clear()
        for model in [*self.mems, self.vxm, *self.mxms, *self.sxms, *self.links]:
            model.reset()
        self.queues.start()
        self.cycle = 0
        self.clear_errors()
        self.trace = [] if trace else None

    def clear_errors(self):
        """CLEAR (and START): the error flags, the first error and the ECC registers."""
        self.errors = ErrorFlag(0)
        self.error_queue = self.error_cycle = 0
        self.ecc = EccReport()

    def count_ecc(self, status, index, address, cycle):
        """Count a word of SRAM ``index`` read in ``cycle`` with ``status``; returns the flag
        an uncorrectable word raises (else 0)."""
        saturated = (1 << ECC_COUNTER_BITS) - 1
        ecc = self.ecc
        if status is EccStatus.CORRECTED:
            self.ecc = replace(ecc, corrected=min(ecc.corrected + 1, saturated))
        elif status is EccStatus.UNCORRECTABLE:
            first = {} if ecc.uncorrectable else {"slice": index, "address": address,
                                                  "cycle": cycle}
            self.ecc = replace(ecc, uncorrectable=min(ecc.uncorrectable + 1, saturated),
                               **first)
            return ErrorFlag.ECC_UNCORRECTABLE
        return ErrorFlag(0)

    def host_read(self, index, address, statuses):
        """The host read words ``address ..`` of SRAM ``index`` with ``statuses``: count them;
        an uncorrectable one raises its flag for the host (:data:`~isa.host.HOST_QUEUE`)."""
        for offset, status in enumerate(statuses):
            flag = self.count_ecc(status, index, address + offset, self.cycle)
            if flag:
                self.record_errors({HOST_QUEUE: flag}, self.cycle)

    def record_errors(self, flags, cycle):
        """Raise ``flags`` (``{queue number: flag}``) in ``cycle``: the first error of a run
        records the lowest queue number and the cycle."""
        if not self.errors:
            self.error_queue = min(flags)
            self.error_cycle = cycle
        for flag in flags.values():
            self.errors |= flag

    @property
    def halted(self):
        """Every queue has halted: the program is over, and :attr:`cycle` is its length."""
        return self.queues.halted

    @property
    def quiet(self):
        """No unit has work in flight and no NOTIFY is pending: nothing happens until a
        sleeping queue wakes."""
        return not (self.queues.notifying or self.vxm.busy or self.fabric.sending or
                    any(m.busy for m in self.mems) or any(m.busy for m in self.mxms) or
                    any(s.busy for s in self.sxms) or any(p.busy for p in self.links))

    def _decode(self, kind, word, offset):
        """The decoded instruction and the flag it raises with ``offset`` (both cached)."""
        key = (kind, word, offset)
        found = self._decoded.get(key)
        if found is None:
            instr = decode(kind, word)
            found = self._decoded[key] = (instr, check(self.config, kind, instr, offset))
        return found

    # ---- One cycle. ----

    def step(self, east_in=None, west_in=None, *, edges=False):
        """Run one cycle (:attr:`cycle`, then the next one).

        ``east_in`` / ``west_in`` (``{stream: [lanes] uint8}``) enter the eastward registers
        at the west edge and the westward registers at the east edge in this cycle. With
        ``edges``, returns ``(east_out, west_out)``: the values that left past the east and the
        west edge into this cycle. A cycle in which the last queue halts does nothing else;
        :attr:`halted` is then true and :attr:`cycle` stays the program's length.
        """
        cycle = self.cycle
        fabric = self.fabric
        out = fabric.begin(cycle, east_in, west_in, edges=edges)
        issued, flags = self.queues.issue(cycle)
        if self.queues.halted:
            return out

        # Work in flight reaches the streams first, then this cycle's issues execute.
        for index, mem in enumerate(self.mems):
            leaving = mem.advance(cycle, fabric)
            if leaving is not None:
                status, address = leaving
                flag = self.count_ecc(status, index, address, cycle)
                if flag:
                    number = self._read_queue[index]
                    flags[number] = flags.get(number, ErrorFlag(0)) | flag
        for sxm in self.sxms:
            sxm.advance(cycle, fabric)
        self.vxm.advance(cycle, fabric)
        vxm_issues = {}
        for number, (word, offset) in issued.items():
            kind, model, index = self._targets[number]
            instr, flag = self._decode(kind, word, offset)
            if kind is QueueKind.VXM_ALU:
                vxm_issues[index] = (instr, offset, flag, number)
            elif flag:
                flags[number] = flags.get(number, ErrorFlag(0)) | flag
            elif kind is QueueKind.MEM_READ:
                model.read(instr, offset, cycle, self.queues.queues[number].name)
            elif kind is QueueKind.MEM_WRITE:
                model.write(instr, offset, cycle, self.queues.queues[number].name, fabric)
            elif kind is QueueKind.MXM_LOAD:
                model.load(instr, offset, self.queues.queues[number].name)
            elif kind is QueueKind.MXM_COMPUTE:
                model.compute(instr, offset, cycle, self.queues.queues[number].name, number,
                              flags)
            elif kind is QueueKind.LINK:
                flag = model.issue(instr, cycle, self.queues.queues[number].name, fabric)
                if flag:
                    flags[number] = flags.get(number, ErrorFlag(0)) | flag
            else:
                flag = model.issue(instr, offset, cycle, self.queues.queues[number].name, fabric)
                if flag:
                    flags[number] = flags.get(number, ErrorFlag(0)) | flag
        if vxm_issues:
            self.vxm.issue(vxm_issues, cycle, fabric, flags)
        for mxm in self.mxms:
            mxm.execute(cycle, fabric)
        for port, number in self._link_queue.items():
            flag = port.end_cycle(cycle)
            if flag:
                flags[number] = flags.get(number, ErrorFlag(0)) | flag

        # Errors, then every write of the cycle.
        if flags:
            self.record_errors(flags, cycle)
        if self.trace is not None:
            for number in sorted(set(issued) | set(flags)):
                word, offset = issued.get(number, (None, 0))
                self.trace.append((cycle, number, word, offset, flags.get(number, ErrorFlag(0))))
        for mem in self.mems:
            mem.commit()
        self.vxm.commit()
        fabric.commit(cycle)
        self.cycle = cycle + 1
        return out

    def skip_quiet(self, limit):
        """If nothing happens before the next queue wakes, jump to that cycle (at most
        ``limit``). Raises :class:`ProgramError` if nothing will ever happen again (queues
        waiting in SYNC for a NOTIFY that cannot come)."""
        if not self.quiet:
            return
        target = self.queues.next_wake()
        if target is None:
            raise ProgramError(f"queues {', '.join(self.queues.waiting())} wait in SYNC forever "
                               f"(from cycle {self.cycle})")
        if target > self.cycle:
            target = min(target, limit)
            self.fabric.skip(self.cycle, target)
            self.cycle = target

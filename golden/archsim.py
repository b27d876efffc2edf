"""Architectural simulator: executes the per-queue programs of one chip cycle by cycle.

It implements the rules of :mod:`isa.timing` and :mod:`isa.legality` and the arithmetic of
:mod:`golden.vector` directly, independently of the RTL, and reports what the RTL must report:
final SRAM contents, the program length in cycles and the error flags.

It is also strict where the RTL is merely deterministic: a program that consumes a value nobody
produced (a stream register never written this run, an SRAM word never loaded or written, a
lookup-table entry never written) raises :class:`ProgramError`, because on the chip it would
read a zero or stale data and is certainly a compiler bug. Pass ``strict=False`` to simulate
such programs the way the RTL runs them.

Speed: stream registers live in ring buffers indexed by a value's *phase* (``t - p`` for
eastward values, ``t + p`` for westward ones), which stays constant while the value moves, so
the fabric's shift costs nothing; queues sleep through NOPs on an event heap; and when every
queue sleeps and no unit has work in flight, time jumps to the next wake-up.
"""

import heapq
from dataclasses import dataclass, field

import numpy as np

from isa.config import LUT_ENTRIES
from isa.formats import FORMATS, decode
from isa.geometry import QueueKind, floorplan
from isa.host import ErrorFlag
from isa.legality import check
from isa.opcodes import (ControlOp, Direction, DType, IMMEDIATE_INDEX, MatrixLoadOp, OperandKind,
                         SwitchOp, VectorOp)
from isa.timing import MEM_READ_LATENCY, NOTIFY_TO_ISSUE, SXM_LATENCY, VXM_LATENCY
from . import switch, vector

__all__ = ["ArchSim", "RunResult", "ProgramError", "ChipError"]

FIRST_UNIT_OPCODE = 8

assert MEM_READ_LATENCY == 2 and VXM_LATENCY == 2 and NOTIFY_TO_ISSUE == 2 and \
    SXM_LATENCY == 2, "the pipelines below model two-cycle READ, VXM, SXM and NOTIFY latencies"


class _MatrixUnit:
    """State of one MXM: shadow and active weights (row k = the weights of input lane k) and
    bias, the accumulator rows, and the MM in progress."""

    def __init__(self, config):
        lanes = config.lanes
        self.shadow = np.zeros((lanes, lanes), dtype=np.int64)
        self.shadow_ok = np.zeros(lanes, dtype=bool)
        self.weights = np.zeros((lanes, lanes), dtype=np.int64)
        self.weights_ok = np.zeros(lanes, dtype=bool)
        self.shadow_bias = np.zeros(lanes, dtype=np.int64)
        self.bias = np.zeros(lanes, dtype=np.int64)
        self.acc = np.zeros((config.mxm_acc_depth, lanes), dtype=np.int64)
        self.acc_ok = np.zeros(config.mxm_acc_depth, dtype=bool)
        self.busy_until = 0             # first cycle a new MM may issue
        self.pending = []               # (finish cycle, instr, acc row, product, bias)


class ProgramError(RuntimeError):
    """A program consumed a value that was never produced (strict mode), or never halted."""


class ChipError(ValueError):
    """A host-side request the chip refuses (bad slice, queue or address)."""


def _wrap32(value):
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@dataclass
class RunResult:
    """What a run reports: the program length and the error registers."""
    cycles: int
    errors: ErrorFlag
    error_queue: int = 0        #: queue of the first error (0 if none)
    error_cycle: int = 0        #: cycle of the first error (0 if none)
    trace: list = field(default_factory=list)  #: ``(cycle, queue, word, offset, flags)``

    def issues(self, queue):
        """``[(cycle, word, offset)]``: the unit instructions queue number ``queue`` issued
        (first issues and REPEAT's re-issues), from the trace of a ``run(trace=True)``."""
        return [(cycle, word, offset) for cycle, number, word, offset, _ in self.trace
                if number == queue and word is not None]


# Pre-decoded queue entries (what the instruction at one program counter does).
_UNIT, _NOP, _REPEAT, _SYNC, _NOTIFY, _HALT, _ILLEGAL = range(7)


def _compile_queue(words, depth):
    """One entry per instruction: ``(action, argument...)``. Running past the program (or the
    queue depth) reads HALT, as the hardware does."""
    entries = []
    has_last = False
    for word in words[:depth]:
        op = word & 0x3F
        if op >= FIRST_UNIT_OPCODE:
            entries.append((_UNIT, word))
            has_last = True
        elif op == ControlOp.HALT.value:
            entries.append((_HALT,))
        elif op == ControlOp.NOP.value:
            count = FORMATS["count"].unpack(word)["count"]
            entries.append((_NOP, count) if count else (_ILLEGAL, ErrorFlag.BAD_OPERAND))
        elif op == ControlOp.REPEAT.value:
            fields = FORMATS["repeat"].unpack(word)
            if fields["count"] and has_last:
                entries.append((_REPEAT, fields["count"], fields["stride"], fields["gap"]))
            else:
                entries.append((_ILLEGAL, ErrorFlag.BAD_OPERAND))
        elif op == ControlOp.SYNC.value:
            entries.append((_SYNC,))
        elif op == ControlOp.NOTIFY.value:
            entries.append((_NOTIFY,))
        else:
            entries.append((_ILLEGAL, ErrorFlag.ILLEGAL_OPCODE))
    entries.append((_HALT,))
    return entries


class _Queue:
    __slots__ = ("number", "kind", "name", "program", "entries", "pc", "last_word",
                 "last_offset", "repeat_left", "repeat_stride", "repeat_gap", "waiting",
                 "halted")

    def __init__(self, number, kind, name):
        self.number, self.kind, self.name = number, kind, name
        self.program = []


class ArchSim:
    """One chip: SRAMs, instruction queues, stream registers and unit state.

    Parameters
    ----------
    config : ChipConfig
    strict : bool
        Raise :class:`ProgramError` when a program consumes a value never produced.
    """

    def __init__(self, config, *, strict=True):
        self.config = config
        self.strict = strict
        self.plan = floorplan(config)
        self.sram = [np.zeros((config.words, config.lanes), dtype=np.uint8)
                     for _ in self.plan.mem_units]
        self.sram_written = [np.zeros(config.words, dtype=bool) for _ in self.plan.mem_units]
        self.queues = [_Queue(q.number, q.kind, q.name) for q in self.plan.queues]
        self._decoded = {}

    # ---- Host side. ----

    def load_sram(self, index, address, words):
        """Write ``words`` (``[n, lanes]`` uint8) into MEM slice ``index`` from ``address``."""
        words = np.asarray(words, dtype=np.uint8)
        if not 0 <= index < len(self.sram):
            raise ChipError(f"SRAM index {index} out of range (0..{len(self.sram) - 1})")
        if words.ndim != 2 or words.shape[1] != self.config.lanes:
            raise ChipError(f"SRAM words must have shape [n, {self.config.lanes}], "
                            f"not {list(words.shape)}")
        if not 0 <= address <= self.config.words - len(words):
            raise ChipError(f"{len(words)} words at address {address} do not fit "
                            f"{self.config.words} words of SRAM")
        self.sram[index][address:address + len(words)] = words
        self.sram_written[index][address:address + len(words)] = True

    def read_sram(self, index, address, count):
        """``count`` words of MEM slice ``index`` from ``address`` (``[count, lanes]`` uint8)."""
        return self.sram[index][address:address + count].copy()

    def load_program(self, queue, words):
        """Load the instruction words of queue number ``queue``."""
        if not 0 <= queue < len(self.queues):
            raise ChipError(f"queue {queue} out of range (0..{len(self.queues) - 1})")
        if len(words) > self.config.queue_depth:
            raise ChipError(f"{len(words)} instructions do not fit queue depth "
                            f"{self.config.queue_depth}")
        self.queues[queue].program = [int(w) for w in words]

    # ---- Running. ----

    def _decode(self, kind, word, offset):
        """The decoded instruction and the flag it raises with ``offset`` (both cached)."""
        key = (kind, word, offset)
        found = self._decoded.get(key)
        if found is None:
            instr = decode(kind, word)
            found = self._decoded[key] = (instr, check(self.config, kind, instr, offset))
        return found

    def run(self, *, max_cycles=10_000_000, trace=False):
        """Run the loaded programs from cycle 0 until every queue has halted."""
        cfg = self.config
        plan = self.plan
        positions, streams, lanes = plan.positions, cfg.streams, cfg.lanes
        P = positions
        # Stream ring buffers: E[p] at cycle t is slot (t - p) mod P; W[p] is slot (t + p) mod P.
        east = np.zeros((P, streams, lanes), dtype=np.uint8)
        west = np.zeros((P, streams, lanes), dtype=np.uint8)
        east_ok = np.zeros((P, streams), dtype=bool)
        west_ok = np.zeros((P, streams), dtype=bool)
        alus = cfg.vxm_alus
        results = np.zeros((alus, lanes), dtype=np.int64)
        consts = np.zeros((cfg.vxm_consts, lanes), dtype=np.int64)
        tables = np.zeros((alus, LUT_ENTRIES), dtype=np.int64)
        tables_ok = np.zeros((alus, LUT_ENTRIES), dtype=bool)
        stage1 = {}                 # ALU -> operation issued last cycle
        mem_pending = {}            # MEM slice -> READ issued last cycle
        sxm_pending = []            # switch results sent this cycle
        matrix = [_MatrixUnit(cfg) for _ in plan.mxm_units]
        mxm_pos = [u.position for u in plan.mxm_units]
        sxm_pos = [u.position for u in plan.sxm_units]
        queue_mxm = {q.number: plan.mxm_units.index(q.unit) for q in plan.queues
                     if q.kind in (QueueKind.MXM_LOAD, QueueKind.MXM_COMPUTE)}
        queue_sxm = {q.number: plan.sxm_units.index(q.unit) for q in plan.queues
                     if q.kind is QueueKind.SXM}
        notify = False
        errors = ErrorFlag(0)
        error_queue = error_cycle = 0
        log = []
        vxm_pos = plan.vxm_unit.position
        mem_pos = [u.position for u in plan.mem_units]
        queue_slice = {q.number: plan.sram_index(q.unit) for q in plan.queues
                       if q.kind in (QueueKind.MEM_READ, QueueKind.MEM_WRITE)}
        queue_alu = {q.number: q.index for q in plan.queues if q.kind is QueueKind.VXM_ALU}

        wake = []                   # heap of (cycle, queue number)
        for q in self.queues:
            q.entries = _compile_queue(q.program, cfg.queue_depth)
            q.pc, q.last_word, q.last_offset = 0, 0, 0
            q.repeat_left, q.repeat_stride, q.repeat_gap = 0, 0, 0
            q.waiting, q.halted = False, False
            heapq.heappush(wake, (0, q.number))
        running = len(self.queues)
        syncing = set()

        cycle = 0
        while True:
            if cycle >= max_cycles:
                raise ProgramError(f"no halt after {max_cycles} cycles")
            # Clear the slots whose values entered at the edges this cycle.
            east[cycle % P] = 0
            east_ok[cycle % P] = False
            west[(cycle + P - 1) % P] = 0
            west_ok[(cycle + P - 1) % P] = False

            # ---- Queues. ----
            issued = {}
            flags = {}
            notify_out = False
            due = []
            while wake and wake[0][0] == cycle:
                due.append(heapq.heappop(wake)[1])
            if notify and syncing:
                due.extend(syncing)
                syncing = set()
            for number in due:
                q = self.queues[number]
                entry = q.entries[q.pc]
                action = entry[0]
                next_cycle = cycle + 1
                if q.repeat_left:
                    # A re-issue; the next one (or the next instruction) after the gap.
                    q.last_offset = _wrap32(q.last_offset + q.repeat_stride)
                    issued[number] = (q.last_word, q.last_offset)
                    q.repeat_left -= 1
                    if q.repeat_left:
                        next_cycle = cycle + 1 + q.repeat_gap
                    else:
                        q.pc += 1
                elif q.waiting:                 # released from SYNC by last cycle's NOTIFY
                    q.waiting = False
                    q.pc += 1
                elif action == _UNIT:
                    issued[number] = (entry[1], 0)
                    q.last_word, q.last_offset = entry[1], 0
                    q.pc += 1
                elif action == _HALT:
                    q.halted = True
                    running -= 1
                    continue
                elif action == _NOP:
                    q.pc += 1
                    next_cycle = cycle + entry[1]
                elif action == _REPEAT:
                    q.repeat_left, q.repeat_stride, q.repeat_gap = entry[1], entry[2], entry[3]
                    if q.repeat_gap:
                        # Idle for the gap; the re-issue happens when the queue wakes.
                        next_cycle = cycle + q.repeat_gap
                    else:
                        q.last_offset = _wrap32(q.last_offset + q.repeat_stride)
                        issued[number] = (q.last_word, q.last_offset)
                        q.repeat_left -= 1
                        if not q.repeat_left:
                            q.pc += 1
                elif action == _SYNC:
                    if notify:
                        q.pc += 1
                    else:
                        q.waiting = True
                        syncing.add(number)
                        continue
                elif action == _NOTIFY:
                    notify_out = True
                    q.pc += 1
                else:
                    flags[number] = entry[1]
                    q.pc += 1
                heapq.heappush(wake, (next_cycle, number))
            if running == 0:
                break

            sends = []                  # (slot buffer, slot, ok buffer, stream, bytes)
            # ---- MEM: reads issued last cycle reach the stream now. ----
            for i, (stream, direction, data, ok) in mem_pending.items():
                sends.append((mem_pos[i], direction, stream, data, ok))
            mem_pending = {}

            sram_writes = []
            vxm_issues = {}
            matrix_loads, matrix_issues = [], []
            # SXM: results computed last cycle reach the stream now.
            sends.extend(sxm_pending)
            sxm_pending = []
            for number, (word, offset) in issued.items():
                q = self.queues[number]
                instr, flag = self._decode(q.kind, word, offset)
                if q.kind is QueueKind.VXM_ALU:
                    vxm_issues[queue_alu[number]] = (instr, offset, flag, number)
                    continue
                if flag:
                    flags[number] = flag
                    continue
                if q.kind in (QueueKind.MXM_LOAD, QueueKind.MXM_COMPUTE):
                    unit = matrix[queue_mxm[number]]
                    position = mxm_pos[queue_mxm[number]]
                    if q.kind is QueueKind.MXM_LOAD:
                        matrix_loads.append((unit, instr, offset, position, q.name))
                    elif cycle < unit.busy_until:
                        flags[number] = ErrorFlag.BAD_OPERAND
                    else:
                        matrix_issues.append((unit, instr, offset, position, q.name))
                    continue
                if q.kind is QueueKind.SXM:
                    position = sxm_pos[queue_sxm[number]]
                    sxm_pending.extend(self._switch(instr, offset, position, east, west,
                                                    east_ok, west_ok, cycle, q.name))
                    continue
                i = queue_slice[number]
                address = instr.addr + offset
                if q.kind is QueueKind.MEM_READ:
                    written = bool(self.sram_written[i][address])
                    self._require(written, f"{q.name} reads SRAM word {address} at cycle "
                                           f"{cycle}, which was never loaded or written")
                    mem_pending[i] = (instr.stream, instr.dir, self.sram[i][address].copy(),
                                      written)
                else:
                    p = mem_pos[i]
                    if instr.dir is Direction.EAST:
                        slot, data, ok = (cycle - p) % P, east, east_ok
                    else:
                        slot, data, ok = (cycle + p) % P, west, west_ok
                    self._require(ok[slot, instr.stream],
                                  f"{q.name} writes stream {instr.dir.name.lower()}"
                                  f"{instr.stream} at cycle {cycle}, which carries no value")
                    sram_writes.append((i, address, data[slot, instr.stream].copy()))

            # ---- VXM stage 1: operations issued last cycle compute and commit. ----
            commits = []
            for j, (instr, imm, a, b, c) in stage1.items():
                op = instr.op
                if op is VectorOp.LDC:
                    commits.append(("const", imm, a))
                elif op is VectorOp.LUTW:
                    commits.append(("table", j, imm, a))
                else:
                    if op is VectorOp.LUT:
                        self._require(tables_ok[j][a & (LUT_ENTRIES - 1)].all(),
                                      f"vxm.alu{j} reads a lookup-table entry never written "
                                      f"at cycle {cycle}")
                    result = vector.compute(op, instr.stype, instr.dtype, a, b, c,
                                            table=tables[j])
                    commits.append(("result", j, result))
                    if instr.dst_en:
                        planes = vector.to_bytes(result, instr.dtype)
                        for k in range(instr.dtype.bytes):
                            sends.append((vxm_pos, instr.dst_dir, instr.dst_stream + k,
                                          planes[k], True))
            stage1 = {}

            # ---- VXM stage 0: check, resolve conflicts, read operands. ----
            claimed_streams = set()
            claimed_consts = set()
            for j in sorted(vxm_issues):
                instr, offset, flag, number = vxm_issues[j]
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
                values = [self._operand(getattr(instr, name), instr.stype, imm, east, west,
                                        east_ok, west_ok, cycle, vxm_pos, results, consts, j)
                          if name in instr.spec.operands else 0
                          for name in "abc"]
                stage1[j] = (instr, imm, *values)

            # ---- MXM: MMs issued now capture their activation (installing first); loads write
            # the shadow after any install of this cycle; MMs finishing now commit. ----
            for unit, instr, offset, position, name in matrix_issues:
                slot, regs, ok = self._slot(instr.act_dir, position, cycle, east, west,
                                            east_ok, west_ok)
                self._require(ok[slot, instr.act_stream],
                              f"{name} reads activation stream {instr.act_dir.name.lower()}"
                              f"{instr.act_stream} at cycle {cycle}, which carries no value")
                if instr.install:
                    unit.weights, unit.weights_ok = unit.shadow.copy(), unit.shadow_ok.copy()
                    unit.bias = unit.shadow_bias.copy()
                self._require(unit.weights_ok.all(), f"{name} multiplies by weight rows never "
                                                     f"loaded at cycle {cycle}")
                activation = vector.read_as(regs[slot, instr.act_stream], DType.I8)
                product = (activation @ unit.weights)
                finish = cycle + cfg.mxm_fold
                unit.busy_until = finish
                unit.pending.append((finish, instr, instr.acc + offset, product,
                                     unit.bias.copy(), name, position))
            for unit, instr, offset, position, name in matrix_loads:
                slot, regs, ok = self._slot(instr.dir, position, cycle, east, west,
                                            east_ok, west_ok)
                if instr.op is MatrixLoadOp.LB:
                    planes = vector.to_bytes(unit.shadow_bias, DType.I32)
                    for k in range(instr.count):
                        plane, stream = instr.row + offset + k, instr.stream + k
                        self._require(ok[slot, stream],
                                      f"{name} loads bias plane {plane} from stream "
                                      f"{instr.dir.name.lower()}{stream} at cycle {cycle}, "
                                      f"which carries no value")
                        planes[plane] = regs[slot, stream]
                    unit.shadow_bias = vector.from_bytes(planes, DType.I32)
                else:
                    row = instr.row + offset
                    for k in range(instr.count):
                        stream = instr.stream + k
                        self._require(ok[slot, stream],
                                      f"{name} loads weight row {row + k} from stream "
                                      f"{instr.dir.name.lower()}{stream} at cycle {cycle}, "
                                      f"which carries no value")
                        unit.shadow[row + k] = vector.read_as(regs[slot, stream], DType.I8)
                        unit.shadow_ok[row + k] = True
            for unit in matrix:
                while unit.pending and unit.pending[0][0] == cycle:
                    _, instr, row, product, bias, name, position = unit.pending.pop(0)
                    if instr.accumulate:
                        self._require(unit.acc_ok[row], f"{name} accumulates into row {row}, "
                                                        f"never written, at cycle {cycle}")
                        base = unit.acc[row]
                    else:
                        base = bias
                    unit.acc[row] = vector.wrap(base + product, DType.I32)
                    unit.acc_ok[row] = True
                    if instr.emit:
                        planes = vector.to_bytes(unit.acc[row], DType.I32)
                        for k in range(4):
                            sends.append((position, instr.out_dir, instr.out_stream + k,
                                          planes[k], True))

            # ---- Errors of this cycle. ----
            if flags:
                if not errors:
                    error_queue = min(flags)
                    error_cycle = cycle
                for flag in flags.values():
                    errors |= flag
            if trace:
                for number in sorted(set(issued) | set(flags)):
                    word, offset = issued.get(number, (None, 0))
                    log.append((cycle, number, word, offset, flags.get(number, ErrorFlag(0))))

            # ---- Commit: SRAM, VXM registers, stream writes (for cycle + 1). ----
            for i, address, data in sram_writes:
                self.sram[i][address] = data
                self.sram_written[i][address] = True
            for commit in commits:
                if commit[0] == "result":
                    results[commit[1]] = commit[2]
                elif commit[0] == "const":
                    consts[commit[1]] = commit[2]
                else:
                    _, j, base, values = commit
                    tables[j] = vector.lut_write(tables[j], base, values)
                    tables_ok[j][base:base + max(0, min(lanes, LUT_ENTRIES - base))] = True
            for position, direction, stream, data, ok in sends:
                # A value sent from p in cycle t is at p + 1 (east) in cycle t + 1: the same
                # phase as the value at p in cycle t.
                if direction is Direction.EAST:
                    if position + 1 < P:
                        slot = (cycle - position) % P
                        east[slot, stream], east_ok[slot, stream] = data, ok
                elif position > 0:
                    slot = (cycle + position) % P
                    west[slot, stream], west_ok[slot, stream] = data, ok
            notify = notify_out

            # ---- Next cycle; jump over cycles in which nothing happens. ----
            cycle += 1
            quiet = not (stage1 or mem_pending or notify or sxm_pending or
                         any(unit.pending for unit in matrix))
            if quiet and not wake:
                names = ", ".join(sorted(self.queues[n].name for n in syncing))
                raise ProgramError(f"queues {names} wait in SYNC forever (from cycle {cycle})")
            if quiet and wake[0][0] > cycle:
                target = min(wake[0][0], max_cycles)
                skipped = target - cycle
                if skipped >= P:
                    east[:], east_ok[:], west[:], west_ok[:] = 0, False, 0, False
                else:
                    for t in range(cycle, target):
                        east[t % P], east_ok[t % P] = 0, False
                        west[(t + P - 1) % P], west_ok[(t + P - 1) % P] = 0, False
                cycle = target

        return RunResult(cycles=cycle, errors=errors, error_queue=error_queue,
                         error_cycle=error_cycle, trace=log)

    # ---- Internals. ----

    def _require(self, condition, message):
        if self.strict and not condition:
            raise ProgramError(message)

    def _slot(self, direction, position, cycle, east, west, east_ok, west_ok):
        """The ring-buffer slot holding the ``direction`` registers at ``position`` now."""
        P = self.plan.positions
        if direction is Direction.EAST:
            return (cycle - position) % P, east, east_ok
        return (cycle + position) % P, west, west_ok

    def _switch(self, instr, offset, position, east, west, east_ok, west_ok, cycle, name):
        """An SXM operation issued now: its sends (made next cycle)."""
        slot, regs, ok = self._slot(instr.src_dir, position, cycle, east, west, east_ok, west_ok)
        count = 16 if instr.op is SwitchOp.TRANS else instr.dtype.bytes
        sources = range(instr.src, instr.src + count)
        self._require(all(ok[slot, s] for s in sources),
                      f"{name} reads streams {instr.src_dir.name.lower()}{instr.src}.. at "
                      f"cycle {cycle}, which carry no value")
        planes = regs[slot, instr.src:instr.src + count]
        if instr.op is SwitchOp.TRANS:
            out = switch.transpose(planes)
        else:
            map_planes = None
            if instr.op is SwitchOp.PERM:
                map_slot, map_regs, map_ok = self._slot(instr.map_dir, position, cycle, east,
                                                        west, east_ok, west_ok)
                self._require(map_ok[map_slot, instr.map] and map_ok[map_slot, instr.map + 1],
                              f"{name} reads a map carrying no value at cycle {cycle}")
                map_planes = map_regs[map_slot, instr.map:instr.map + 2]
            out = switch.move(instr.op, planes, instr.dtype, instr.amount + offset, instr.fill,
                              map_planes)
        return [(position, instr.dst_dir, instr.dst + k, out[k], True) for k in range(count)]

    def _operand(self, operand, stype, imm, east, west, east_ok, west_ok, cycle, position,
                 results, consts, alu):
        P = self.plan.positions
        if operand.kind in (OperandKind.EAST, OperandKind.WEST):
            if operand.kind is OperandKind.EAST:
                slot, regs, ok = (cycle - position) % P, east, east_ok
            else:
                slot, regs, ok = (cycle + position) % P, west, west_ok
            streams = range(operand.index, operand.index + stype.bytes)
            self._require(all(ok[slot, s] for s in streams),
                          f"vxm.alu{alu} reads stream {operand} at cycle {cycle}, which "
                          f"carries no value")
            value = vector.from_bytes([regs[slot, s] for s in streams], stype)
        elif operand.kind is OperandKind.ALU:
            value = results[operand.index]
        elif operand.index == IMMEDIATE_INDEX:
            value = np.full(self.config.lanes, imm, dtype=np.int64)
        else:
            value = consts[operand.index]
        return vector.read_as(value, stype)

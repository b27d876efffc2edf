"""GEMM: ``C = requantise(A @ B + bias)`` for any M, K, N, scheduled to the cycle on the MXMs.

The matrices are cut into ``lanes x lanes`` weight tiles; N-tiles are dealt round-robin to the
matrix units (both hemispheres). Each unit runs through its tiles, for each M-block (rows that
fit its accumulators), N-tile and K-tile in turn::

    cycle   T_prev ............................ T .......... T + f Mb
    load    [LB x4 on a new N-tile] LW LW ... LW |  (the next tile's rows)
    mm                                           MM MM ... MM   (row m at T + f m)

- A unit with ``mxm_fold = f`` takes an activation every ``f`` cycles, so a tile's MMs issue
  ``f`` cycles apart (one per cycle on an unfolded unit).
- While a tile's ``Mb`` MMs run, the next tile's weight rows load into the shadow buffer (one
  row per MEM slice and stream per cycle, as many slices as are free), and the first MM of the
  next tile installs them: with ``f Mb >= lanes / slices`` the array never waits.
- MMs accumulate across K-tiles in accumulator rows ``0 .. Mb - 1``; the first K-tile starts
  from the bias (loaded byte plane by byte plane with LB), the last emits the int32 row.
- Emitted rows flow to the VXM, where one ALU per matrix unit requantises them (REQ; the
  multiplier and shift per output channel come from constant registers, reloaded for each
  N-tile) and sends them to a MEM slice that writes them.

Every transfer is reserved in a :class:`~compiler.resources.Calendar` (queue slots, MEM ports,
stream registers in space-time), so the schedule is conflict-free by construction; the golden
simulator checks it in strict mode. Tensors are placed in SRAM in the order they are read, so
the read queues compress into READ + REPEAT runs.
"""

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from golden import vector
from golden.matrix import matmul
from isa.formats import Instruction, Operand, spec_for
from isa.geometry import Hemisphere, QueueKind, floorplan
from isa.opcodes import (DType, Direction, MatrixLoadOp, MatrixOp, MemReadOp, MemWriteOp,
                         OperandKind, VectorOp)
from isa.timing import (MEM_READ_LATENCY, VXM_LATENCY, arrival, issue_for_arrival,
                        mxm_latency)
from .program import Program, Region
from .queues import ScheduleError
from .resources import Calendar, Transfer

__all__ = ["GemmKernel", "compile_gemm", "gemm_reference", "ScheduleError"]

_IMMEDIATE = 1 << 25        # immediates are 26-bit signed


def gemm_reference(a, b, bias=None, multiplier=None, shift=None, out_dtype=DType.I8):
    """The NumPy definition: int32 ``a @ b + bias``, then (if ``multiplier`` is given)
    MultiplyByQuantizedMultiplier per output column, saturated to ``out_dtype``."""
    acc = matmul(a, b, None if bias is None else np.broadcast_to(bias, (len(a), b.shape[1])))
    if multiplier is None:
        return acc
    n = b.shape[1]
    mult = np.broadcast_to(np.asarray(multiplier, dtype=np.int64), (n,))
    sh = np.broadcast_to(np.asarray(shift, dtype=np.int64), (n,))
    return vector.compute(VectorOp.REQ, DType.I32, out_dtype, acc, mult[None, :], sh[None, :])


@dataclass
class GemmKernel:
    """A scheduled GEMM: instructions, where every input goes, where every output lands."""
    config: object
    m: int
    k: int
    n: int
    queues: dict
    predicted_cycles: int
    out_dtype: DType
    requantised: bool
    has_bias: bool
    images: list = field(default_factory=list)      # (slice, address, source, selector)
    outputs: list = field(default_factory=list)     # (name, slice, address, row, n-tile, plane)
    mm_cycles: int = 0
    tiles: int = 0

    @property
    def macs(self):
        return self.m * self.k * self.n

    def utilisation(self, cycles=None):
        """Useful MACs / (cycles x matrix units x multipliers per unit), where a unit has
        ``lanes^2 / mxm_fold`` multipliers."""
        cycles = self.predicted_cycles if cycles is None else cycles
        units = 2 * self.config.mxms
        per_unit = self.config.lanes ** 2 // self.config.mxm_fold
        return self.macs / (cycles * units * per_unit)

    def program(self, a, b, bias=None, multiplier=None, shift=None):
        """A :class:`~compiler.program.Program` with the operands placed in SRAM."""
        cfg = self.config
        lanes = cfg.lanes
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        if a.shape != (self.m, self.k) or b.shape != (self.k, self.n):
            raise ValueError(f"operands must have shapes ({self.m}, {self.k}) and "
                             f"({self.k}, {self.n}), not {a.shape} and {b.shape}")
        kt, nt = -(-self.k // lanes), -(-self.n // lanes)
        a_pad = np.zeros((self.m, kt * lanes), dtype=np.int64)
        a_pad[:, :self.k] = a
        b_pad = np.zeros((kt * lanes, nt * lanes), dtype=np.int64)
        b_pad[:self.k, :self.n] = b

        def per_column(values, name):
            padded = np.zeros(nt * lanes, dtype=np.int64)
            if values is None:
                return padded
            padded[:self.n] = np.broadcast_to(np.asarray(values, dtype=np.int64), (self.n,))
            return padded

        columns = {"bias": per_column(bias, "bias"), "multiplier": per_column(multiplier, "m"),
                   "shift": per_column(shift, "shift")}
        words = {}
        for slice_index, address, source, key in self.images:
            if source == "a":
                row, tile = key
                word = a_pad[row, tile * lanes:(tile + 1) * lanes]
                plane = 0
            elif source == "b":
                row, tile = key
                word = b_pad[row, tile * lanes:(tile + 1) * lanes]
                plane = 0
            else:
                tile, plane = key
                word = vector.to_bytes(columns[source][tile * lanes:(tile + 1) * lanes],
                                       DType.I32)[plane]
            data = vector.to_bytes(word, DType.I8)[0] if source in "ab" else word
            words.setdefault(slice_index, {})[address] = data
        images = []
        for slice_index, by_address in sorted(words.items()):
            for address in sorted(by_address):
                images.append((slice_index, address, by_address[address][None, :]))
        regions = [Region(name, s, address, 1) for name, s, address, *_ in self.outputs]
        return Program(cfg, queues=dict(self.queues), sram=images, outputs=regions,
                       predicted_cycles=self.predicted_cycles)

    def decode_outputs(self, regions):
        """``C`` (``[m, n]``) from the regions read back after a run."""
        lanes = self.config.lanes
        nt = -(-self.n // lanes)
        dtype = self.out_dtype if self.requantised else DType.I32
        planes = np.zeros((dtype.bytes, self.m, nt * lanes), dtype=np.uint8)
        for name, _, _, row, tile, plane in self.outputs:
            planes[plane, row, tile * lanes:(tile + 1) * lanes] = regions[name][0]
        return vector.from_bytes(planes, dtype)[:, :self.n]


@lru_cache(maxsize=None)
def _encode(kind, op, fields):
    return Instruction(spec_for(kind, op.value), dict(fields)).encode()


class _Tentative:
    """Reservations made for one tile, checked against the calendar and each other, then
    committed together (or dropped when the tile has to start later)."""

    def __init__(self, calendar):
        self.calendar = calendar
        self.slots = {}             # queue name -> {cycle: (word, count, stride)}
        self.transfers = []
        self.spans = {}             # (direction, stream, phase) -> [(lo, hi)]

    def queue_free(self, name, cycle, count=1):
        mine = self.slots.get(name, {})
        return (self.calendar.queue_free(name, cycle, count) and
                not any(c in mine for c in range(cycle, cycle + count)))

    def issue(self, name, cycle, word, count=1, stride=0):
        """Reserve queue slots; ``word`` ``None`` reserves one slot whose word is placed later."""
        if not self.queue_free(name, cycle, count):
            raise ScheduleError(f"{name} busy at {cycle}")
        slots = self.slots.setdefault(name, {})
        for c in range(cycle, cycle + count):
            slots[c] = None
        slots[cycle] = (word, count, stride)

    def transfer_free(self, transfer):
        if not self.calendar.transfer_free(transfer):
            return False
        for stream in transfer.streams:
            spans = self.spans.get((transfer.direction, stream, transfer.phase))
            if spans and transfer.overlaps(spans):
                return False
        return True

    def reserve(self, transfer):
        if not self.transfer_free(transfer):
            raise ScheduleError("stream conflict")
        self.transfers.append(transfer)
        for stream in transfer.streams:
            self.spans.setdefault((transfer.direction, stream, transfer.phase),
                                  []).append(transfer.span)

    def commit(self):
        for name, slots in self.slots.items():
            for cycle, entry in slots.items():
                if entry is None:
                    continue
                word, count, stride = entry
                if word is None:        # a slot whose word is placed when SRAM is allocated
                    self.calendar.taken[self.calendar.plan.queue(name).number].add(cycle)
                else:
                    self.calendar.issue(name, cycle, word, count, stride)
        for transfer in self.transfers:
            self.calendar.reserve(transfer)


class _Unit:
    """One matrix unit's fixed resources and progress."""

    def __init__(self, plan, unit, slices, streams):
        self.unit = unit
        self.position = unit.position
        self.inward = Direction.WEST if unit.hemisphere is Hemisphere.WEST else Direction.EAST
        self.outward = Direction.EAST if self.inward is Direction.WEST else Direction.WEST
        self.slices = slices
        self.act_slice = slices[0]
        self.load = f"{unit.name}.load"
        self.mm = f"{unit.name}.mm"
        self.result_streams = streams["result"]
        self.act_stream = streams["act"]
        self.weight_streams = streams["weights"]
        self.out_streams = streams["out"]
        self.alu = None
        self.tiles = []
        self.last_install = None
        self.last_rows = 0


class _GemmScheduler:
    def __init__(self, config, m, k, n, has_bias, requant, out_dtype, per_channel):
        self.cfg = config
        self.plan = floorplan(config)
        self.m, self.k, self.n = m, k, n
        self.lanes = config.lanes
        self.kt = -(-k // self.lanes)
        self.nt = -(-n // self.lanes)
        self.block = min(m, config.mxm_acc_depth)
        self.has_bias = has_bias
        self.requant = requant
        self.out_dtype = out_dtype if requant else DType.I32
        self.per_channel = per_channel
        self.calendar = Calendar(config)
        self.vxm = self.plan.vxm_unit.position
        self.latency = mxm_latency(config)
        # A unit takes an activation every `fold` cycles: MM m of a tile issues at t + m * fold.
        self.fold = config.mxm_fold
        self.sram_next = [0] * len(self.plan.mem_units)
        self.images = []
        self.outputs = []
        self.act_address = {}       # (slice, row, k-tile) -> address of an activation vector
        self.register_busy = {}     # constant register -> last cycle a REQ reads it
        self.channel_registers = {}     # (unit, N-tile) -> (multiplier, shift, valid from)
        self.claimed = {}
        if not self.plan.mxm_units:
            raise ScheduleError("the configuration has no matrix units")

    # ---- Helpers. ----

    def alloc(self, slice_index, what):
        address = self.sram_next[slice_index]
        if address >= self.cfg.words:
            name = self.plan.mem_units[slice_index].name
            raise ScheduleError(f"SRAM of {name} is full ({self.cfg.words} words)")
        self.sram_next[slice_index] += 1
        self.images.append((slice_index, address) + what)
        return address

    def slice_unit(self, i):
        return self.plan.mem_units[i]

    @staticmethod
    def encode(kind, op, **fields):
        return _encode(kind, op, tuple(sorted(fields.items())))

    def read_word(self, address, stream, direction):
        return self.encode(QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=stream,
                           dir=direction)

    def write_word(self, address, stream, direction):
        return self.encode(QueueKind.MEM_WRITE, MemWriteOp.WRITE, addr=address, stream=stream,
                           dir=direction)

    def can_read(self, tentative, slice_index, when, position, direction, stream):
        """``(read cycle, transfer)`` of a READ from ``slice_index`` whose word is at
        ``position`` in cycle ``when`` on ``stream``, or ``None`` if its port or stream is
        busy. Reserves nothing."""
        unit = self.slice_unit(slice_index)
        if (position < unit.position) != (direction is Direction.WEST):
            return None
        read = issue_for_arrival(when, MEM_READ_LATENCY, unit.position, position)
        if read < 0 or not tentative.queue_free(f"{unit.name}.rd", read):
            return None
        transfer = Transfer(direction, [stream], unit.position, position, read,
                            MEM_READ_LATENCY)
        if not tentative.transfer_free(transfer):
            return None
        return read, transfer

    def read_into(self, tentative, slice_index, when, position, direction, stream):
        """Reserve a READ as :meth:`can_read` plans it; returns its read cycle, or ``None``."""
        plan = self.can_read(tentative, slice_index, when, position, direction, stream)
        if plan is None:
            return None
        read, transfer = plan
        tentative.reserve(transfer)
        tentative.issue(f"{self.slice_unit(slice_index).name}.rd", read, None)
        return read

    # ---- Setup: units, streams, slices. ----

    def setup(self):
        cfg = self.cfg
        streams = cfg.streams
        if streams < 12:
            raise ScheduleError(f"GEMM needs at least 12 streams per direction, the "
                                f"configuration has {streams}")
        out_planes = self.out_dtype.bytes
        # Per direction: emitted int32 rows of the units on the other side (4 streams),
        # requantised rows to the MEM slices (out_planes), activations (1), weight rows (rest).
        roles = {"result": list(range(0, 4)), "act": 4,
                 "out": list(range(streams - 4, streams - 4 + out_planes))}
        roles["weights"] = list(range(5, streams - 4 if out_planes > 1 else streams - 1))
        if out_planes == 1:
            roles["out"] = [streams - 1]
        self.units = []
        for unit in self.plan.mxm_units:
            hemisphere = unit.hemisphere
            own = [i for i, u in enumerate(self.plan.mem_units) if u.hemisphere is hemisphere]
            # A unit reads from its own hemisphere's slices first; a port the other unit
            # leaves free can deliver a weight row too (it travels through the VXM).
            other = [i for i in range(len(self.plan.mem_units)) if i not in own]
            self.units.append(_Unit(self.plan, unit, own + other, roles))
            self.units[-1].own = own
        # Activations stream every cycle during the multiplies; take them all from the east
        # hemisphere, so the west one has cycles in which all its slices are free (an int32
        # constant needs four slices of one hemisphere at once).
        east = [i for i, u in enumerate(self.plan.mem_units) if u.hemisphere is Hemisphere.EAST]
        if len(east) < len(self.units):
            raise ScheduleError("GEMM needs a MEM slice per matrix unit in the east hemisphere")
        for unit, slice_index in zip(self.units, east):
            unit.act_slice = slice_index
        alus = self.cfg.vxm_alus
        if alus < len(self.units):
            raise ScheduleError(f"GEMM needs one VXM ALU per matrix unit ({len(self.units)}), "
                                f"the VXM has {alus}")
        for index, unit in enumerate(self.units):
            unit.alu = index
            unit.ldc_alu = len(self.units) + index if alus > 2 * len(self.units) else index
        for j in range(self.nt):
            self.units[j % len(self.units)].tiles.append(j)
        # Constant registers: per unit, two buffers of (multiplier, shift) for per-channel
        # requantisation; scalars for per-tensor.
        self.const_next = 0

    # ---- Prologue: per-tensor requantisation constants. ----

    def scalar_const(self, value, start):
        """A constant register holding ``value``, built from immediates on ALU 0 from
        ``start``; returns ``(register, ready cycle)``."""
        register = self.const_next
        self.const_next += 1
        if register >= self.cfg.vxm_consts:
            raise ScheduleError("out of VXM constant registers")
        alu = "vxm.alu0"
        me = Operand(OperandKind.ALU, 0)
        imm = Operand.immediate()
        i32 = {"stype": DType.I32, "dtype": DType.I32}
        steps = [(VectorOp.MOV, {"a": imm, "imm": value >> 16}),
                 (VectorOp.SHL, {"a": me, "b": imm, "imm": 16}),
                 (VectorOp.OR, {"a": me, "b": imm, "imm": value & 0xFFFF}),
                 (VectorOp.LDC, {"a": me, "imm": register})]
        cycle = start
        for op, fields in steps:
            self.calendar.issue(alu, cycle, self.encode(QueueKind.VXM_ALU, op, **i32, **fields))
            cycle += VXM_LATENCY
        return register, cycle

    # ---- One tile. ----

    def schedule(self, scalar):
        """Place every tile; ``scalar`` holds per-tensor requantisation registers."""
        units = self.units
        queue = []
        for unit in units:
            for mb in range(0, self.m, self.block):
                for j in unit.tiles:
                    for i in range(self.kt):
                        queue.append((unit, mb, j, i))
        # Interleave units by time: each unit's tiles in order.
        pending = {id(u): [t for t in queue if t[0] is u] for u in units}
        self.mm_cycles = 0
        start = self.prologue_end
        while any(pending.values()):
            unit = min((u for u in units if pending[id(u)]),
                       key=lambda u: u.last_install if u.last_install is not None else -1)
            tile = pending[id(unit)].pop(0)
            self.place_tile(*tile, scalar, start)
        self.tiles = len(queue)

    def place_tile(self, unit, mb, j, i, scalar, start):
        rows = min(self.block, self.m - mb)
        if self.requant and self.per_channel and i == 0:
            self.load_channel_constants(unit, j, start)
        first_k = i == 0
        per_cycle = min(len(unit.weight_streams), len(unit.own))
        load_cycles = (1 if first_k and self.has_bias else 0) + -(-self.lanes // per_cycle)
        if unit.last_install is None:
            earliest = start
            window_start = 0
        else:
            earliest = unit.last_install + max(unit.last_rows, 1) * self.fold
            window_start = unit.last_install
        t = max(earliest, window_start + load_cycles)
        for attempt in range(100_000):
            tentative = _Tentative(self.calendar)
            plan = self.try_tile(tentative, unit, mb, j, i, rows, t, window_start, scalar)
            if plan is not None:
                tentative.commit()
                for apply in plan:
                    apply()
                unit.last_install = t
                unit.last_rows = rows
                return
            t += 1
        raise ScheduleError("could not place a tile")

    def try_tile(self, tentative, unit, mb, j, i, rows, t, window_start, scalar):
        """Plan tile (mb, j, i) with its first MM at cycle ``t``; returns deferred SRAM
        placements, or ``None`` if some resource is busy."""
        lanes = self.lanes
        deferred = []
        self.claimed = {}           # slice -> weight words this plan will place there
        pos = unit.position
        # 1. MMs and their activations.
        for m in range(rows):
            when = t + m * self.fold
            if not tentative.queue_free(unit.mm, when):
                return None
            key = (id(unit), mb + m, i)
            read = self.read_into(tentative, unit.act_slice, when, pos, unit.inward,
                                  unit.act_stream)
            if read is None:
                return None
            deferred.append(("act", key, read, unit.act_slice, unit.act_stream, unit.inward))
            word = self.encode(QueueKind.MXM_COMPUTE, MatrixOp.MM, act_stream=unit.act_stream,
                               act_dir=unit.inward, acc=m, accumulate=int(i > 0),
                               emit=int(i == self.kt - 1), install=int(m == 0),
                               out_stream=unit.result_streams[0], out_dir=unit.outward)
            tentative.issue(unit.mm, when, word)
        # 2. Loads in [window_start, t): bias planes (first K-tile), then weight rows.
        loads = []
        if i == 0 and self.has_bias:
            loads += [("bias", plane) for plane in range(4)]
        rows_left = list(range(lanes))
        cycle = window_start
        while (loads or rows_left) and cycle < t:
            if not tentative.queue_free(unit.load, cycle):
                cycle += 1
                continue
            if loads:
                _, plane = loads[0]
                for slice_index in unit.slices:
                    read = self.read_into(tentative, slice_index, cycle, pos, unit.inward,
                                          unit.weight_streams[0])
                    if read is not None:
                        deferred.append(("bias", (j, plane), read, slice_index,
                                         unit.weight_streams[0], unit.inward))
                        tentative.issue(unit.load, cycle, self.encode(
                            QueueKind.MXM_LOAD, MatrixLoadOp.LB, row=plane,
                            stream=unit.weight_streams[0], count=1, dir=unit.inward))
                        loads.pop(0)
                        break
                cycle += 1
                continue
            # As many rows as free slices, on consecutive weight streams; the emptiest slices
            # first (own hemisphere before the other), so SRAM fills evenly.
            chosen = []
            for slice_index in self.by_fill(unit):
                if len(chosen) == min(len(rows_left), len(unit.weight_streams)):
                    break
                stream = unit.weight_streams[len(chosen)]
                read = self.read_into(tentative, slice_index, cycle, pos, unit.inward, stream)
                if read is not None:
                    chosen.append((slice_index, stream, read))
                    self.claimed[slice_index] = self.claimed.get(slice_index, 0) + 1
            if chosen:
                first = rows_left[0]
                for q, (slice_index, stream, read) in enumerate(chosen):
                    deferred.append(("weight", (i * lanes + rows_left[q], j), read,
                                     slice_index, stream, unit.inward))
                tentative.issue(unit.load, cycle, self.encode(
                    QueueKind.MXM_LOAD, MatrixLoadOp.LW, row=first,
                    stream=unit.weight_streams[0], count=len(chosen), dir=unit.inward))
                rows_left = rows_left[len(chosen):]
            cycle += 1
        if loads or rows_left:
            return None
        # 3. Emits: requantise in the VXM, write to a MEM slice.
        if i == self.kt - 1:
            if not self.place_emits(tentative, unit, mb, j, rows, t, scalar, deferred):
                return None
        return self.apply(deferred)

    def place_emits(self, tentative, unit, mb, j, rows, t, scalar, deferred):
        planes = self.out_dtype.bytes
        alu = f"vxm.alu{unit.alu}"
        kind = OperandKind.EAST if unit.outward is Direction.EAST else OperandKind.WEST
        # Output slices: in the hemisphere the VXM sends towards (this unit's own side).
        out_slices = self.out_slices(unit)
        out_direction = Direction.WEST if unit.unit.hemisphere is Hemisphere.WEST \
            else Direction.EAST
        registers = None
        if self.requant:
            if self.per_channel:
                *registers, ready = self.channel_registers[(id(unit), j)]
                registers = tuple(registers)
                first_req = arrival(t, self.latency, unit.position, self.vxm)
                if first_req < ready:
                    return False
            else:
                registers = scalar
        for m in range(rows):
            result = Transfer(unit.outward, unit.result_streams, unit.position, self.vxm,
                              t + m * self.fold, self.latency)
            if not tentative.transfer_free(result):
                return False
            tentative.reserve(result)
            at_vxm = result.arrival
            if not tentative.queue_free(alu, at_vxm):
                return False
            fields = {"stype": DType.I32, "dtype": self.out_dtype,
                      "a": Operand(kind, unit.result_streams[0]), "dst_en": 1,
                      "dst_dir": out_direction, "dst_stream": unit.out_streams[0], "imm": 0}
            if self.requant:
                multiplier, shift = registers
                fields["b"] = Operand(OperandKind.CONST, multiplier)
                if isinstance(shift, tuple):
                    fields["c"] = Operand.immediate()
                    fields["imm"] = shift[1]
                else:
                    fields["c"] = Operand(OperandKind.CONST, shift)
                op = VectorOp.REQ
            else:
                op = VectorOp.MOV
            tentative.issue(alu, at_vxm, self.encode(QueueKind.VXM_ALU, op, **fields))
            for plane in range(planes):
                target = out_slices[plane]
                target_unit = self.slice_unit(target)
                out = Transfer(out_direction, [unit.out_streams[plane]], self.vxm,
                               target_unit.position, at_vxm, VXM_LATENCY)
                if not tentative.transfer_free(out):
                    return False
                tentative.reserve(out)
                write = out.arrival
                queue = f"{target_unit.name}.wr"
                if not tentative.queue_free(queue, write):
                    return False
                deferred.append(("out", (mb + m, j, plane), write, target,
                                 unit.out_streams[plane], out_direction))
                tentative.issue(queue, write, None)
            last_req = at_vxm
        if registers is not None:
            for register in registers:
                if not isinstance(register, tuple):
                    deferred.append(("busy", register, last_req, None, None, None))
        return True

    def by_fill(self, unit):
        """The unit's slices, own hemisphere first, each group emptiest first (counting the
        words this tile's plan already claims)."""
        def fill(i):
            return self.sram_next[i] + self.claimed.get(i, 0)
        return sorted(unit.own, key=fill) + sorted(
            (i for i in unit.slices if i not in unit.own), key=fill)

    def out_slices(self, unit):
        """The slices an N-tile's results are written to: the emptiest of the unit's
        hemisphere (the same ones for the whole N-tile, so its writes form runs)."""
        own = unit.own
        planes = self.out_dtype.bytes
        if len(own) < planes:
            raise ScheduleError(f"{planes} output planes need {planes} MEM slices per "
                                f"hemisphere, the configuration has {len(own)}")
        return sorted(own, key=lambda i: (self.sram_next[i], i))[:planes]

    def load_channel_constants(self, unit, j, start):
        """Load N-tile ``j``'s multipliers and shifts into this unit's constant registers
        (two buffers, by N-tile parity), as early as their previous contents allow; records
        the registers and the cycle from which they are valid."""
        index = self.units.index(unit)
        parity = unit.tiles.index(j) % 2
        base = 4 * index + 2 * parity
        if base + 2 > self.cfg.vxm_consts:
            raise ScheduleError(f"per-channel requantisation needs {4 * len(self.units)} "
                                f"constant registers, the VXM has {self.cfg.vxm_consts}")
        alu = f"vxm.alu{unit.ldc_alu}"
        when = start
        ready = 0
        for register, source in ((base, "multiplier"), (base + 1, "shift")):
            # An LDC in cycle c is visible from c + 2: not before the last REQ reading the
            # register's previous contents.
            when = max(when, self.register_busy.get(register, -1) - VXM_LATENCY + 1, 0)
            while True:
                tentative = _Tentative(self.calendar)
                if tentative.queue_free(alu, when):
                    group = self.constant_group(tentative, when)
                    if group is not None:
                        break
                when += 1
            direction, stream, reads = group
            kind = OperandKind.EAST if direction is Direction.EAST else OperandKind.WEST
            tentative.issue(alu, when, self.encode(
                QueueKind.VXM_ALU, VectorOp.LDC, stype=DType.I32, dtype=DType.I32,
                a=Operand(kind, stream), imm=register))
            deferred = [(source, (j, plane), read, slice_index, stream + plane, direction)
                        for plane, (slice_index, read) in enumerate(reads)]
            tentative.commit()
            for action in self.apply(deferred):
                action()
            ready = when + VXM_LATENCY
            when += 1
        self.channel_registers[(id(unit), j)] = (base, base + 1, ready)

    def constant_group(self, tentative, when):
        """Reserve four slices of one hemisphere and four streams delivering an int32 vector
        to the VXM in cycle ``when``: ``(direction, first stream, [(slice, read)])``, or
        ``None`` (reserving nothing)."""
        for hemisphere in (Hemisphere.WEST, Hemisphere.EAST):
            direction = Direction.EAST if hemisphere is Hemisphere.WEST else Direction.WEST
            slices = [i for i, u in enumerate(self.plan.mem_units) if u.hemisphere is hemisphere]
            for base in range(0, self.cfg.streams - 3, 4):
                picks = []
                for plane in range(4):
                    for slice_index in slices:
                        if slice_index in [p[0] for p in picks]:
                            continue
                        plan = self.can_read(tentative, slice_index, when, self.vxm, direction,
                                             base + plane)
                        if plan is not None:
                            picks.append((slice_index, *plan))
                            break
                if len(picks) == 4:
                    for slice_index, read, transfer in picks:
                        tentative.reserve(transfer)
                        tentative.issue(f"{self.slice_unit(slice_index).name}.rd", read, None)
                    return direction, base, [(p[0], p[1]) for p in picks]
        return None

    def apply(self, deferred):
        """Actions placing planned reads and writes (SRAM words and queue words), to run when
        the tile commits."""
        actions = []
        for what, key, cycle, slice_index, stream, direction in deferred:
            if what == "busy":
                actions.append(lambda register=key, cycle=cycle: self.register_busy.__setitem__(
                    register, max(cycle, self.register_busy.get(register, -1))))
                continue

            def act(what=what, key=key, cycle=cycle, slice_index=slice_index, stream=stream,
                    direction=direction):
                unit = self.slice_unit(slice_index)
                if what == "out":
                    row, tile, plane = key
                    address = self.sram_next[slice_index]
                    if address >= self.cfg.words:
                        raise ScheduleError(f"SRAM of {unit.name} is full")
                    self.sram_next[slice_index] += 1
                    name = f"c{row}.{tile}.{plane}"
                    self.outputs.append((name, slice_index, address, row, tile, plane))
                    self.calendar.builders[self.plan.queue(f"{unit.name}.wr").number].place(
                        cycle, self.write_word(address, stream, direction))
                    return
                if what == "act":
                    cache = (slice_index,) + key[1:]
                    if cache not in self.act_address:
                        self.act_address[cache] = self.alloc(slice_index, ("a", key[1:]))
                    address = self.act_address[cache]
                elif what == "weight":
                    address = self.alloc(slice_index, ("b", key))
                else:
                    address = self.alloc(slice_index, (what, key))
                self.calendar.builders[self.plan.queue(f"{unit.name}.rd").number].place(
                    cycle, self.read_word(address, stream, direction))
            actions.append(act)
        return actions

    def run(self, multiplier, shift):
        self.setup()
        start = 0
        scalar = None
        if self.requant and not self.per_channel:
            mult_register, start = self.scalar_const(int(multiplier), start)
            shift = int(shift)
            if -_IMMEDIATE <= shift < _IMMEDIATE:
                scalar = (mult_register, ("imm", shift))
            else:
                shift_register, start = self.scalar_const(shift, start)
                scalar = (mult_register, shift_register)
        self.prologue_end = start
        self.schedule(scalar)
        # Activations read by a unit were planned into its act slice; the reads the
        # "apply" step placed are already in the builders. Everything reserved: emit.
        queues, predicted = self.calendar.programs()
        return queues, predicted


def compile_gemm(config, m, k, n, *, bias=False, requantise=True, per_channel=False,
                 multiplier=None, shift=None, out_dtype=DType.I8):
    """Schedule ``C = requantise(A[m, k] @ B[k, n] + bias)`` for ``config``.

    ``bias``: whether a per-column int32 bias is added. ``requantise``: REQ to ``out_dtype``
    (else the raw int32 accumulators are the output). ``per_channel``: the multiplier and shift
    are per output column (loaded from SRAM per N-tile); otherwise ``multiplier`` and
    ``shift`` are the per-tensor values, fixed in the program.
    """
    for name, value in (("m", m), ("k", k), ("n", n)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"GEMM dimension {name} must be a positive integer, not {value!r}")
    if requantise and not per_channel and (multiplier is None or shift is None):
        raise ValueError("per-tensor requantisation needs multiplier and shift")
    scheduler = _GemmScheduler(config, m, k, n, bias, requantise, out_dtype, per_channel)
    queues, predicted = scheduler.run(multiplier, shift)
    return GemmKernel(config, m, k, n, queues, predicted, scheduler.out_dtype, requantise,
                      bias, scheduler.images, scheduler.outputs, tiles=scheduler.tiles)

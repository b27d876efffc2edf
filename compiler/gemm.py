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
- Emitted rows flow to the VXM, where one ALU per matrix unit (units share one when the VXM
  has fewer) requantises them (REQ; the multiplier and shift per output channel come from
  constant registers, reloaded for each N-tile) and sends them to a MEM slice that writes
  them.

Every tile is placed transactionally on the program's :class:`~compiler.calendar.Calendar`
(queue slots, MEM ports, stream registers in space-time): if anything is taken at the planned
cycle, the tile's reservations are rolled back and it starts one cycle later. The operands are
placed in SRAM in the order they are read, so the read queues compress into READ + REPEAT runs.
A tile's loads are planned by :mod:`compiler.weight_loads`, the requantisation's constant
registers by :mod:`compiler.requant_constants`.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from isa.formats import Operand, encode
from isa.geometry import Hemisphere, QueueKind
from isa.opcodes import DType, MatrixOp, VectorOp
from isa.timing import (MEM_WRITE_TO_READ, arrival, mxm_latency, vxm_issue_interval,
                        vxm_latency)
from .access import Read, Write, place_read, place_write
from .calendar import Transfer
from .queues import ScheduleError
from .requant_constants import load_channel_constants, place_prologue, requant_registers
from .schedule import Kernel, Schedule
from .tensors import Tensor
from .weight_loads import place_tile_loads

__all__ = ["GemmKernel", "place_gemm", "compile_gemm", "ScheduleError"]

#: Tries to place one tile, one cycle later each time, before giving up.
_ATTEMPTS = 100_000


@dataclass
class GemmKernel(Kernel):
    """A scheduled GEMM: its program template (inputs ``a``, ``b``, ``bias``, ``multiplier``,
    ``shift``; output ``C``) and its shape."""
    m: int = 0
    k: int = 0
    n: int = 0
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
        """A :class:`~compiler.program.Program` with the operands placed in SRAM (``bias``,
        ``multiplier`` and ``shift`` per output column, or scalars)."""
        if (getattr(a, "shape", None), getattr(b, "shape", None)) != ((self.m, self.k),
                                                                     (self.k, self.n)):
            raise ValueError(f"operands must have shapes ({self.m}, {self.k}) and "
                             f"({self.k}, {self.n}), not {getattr(a, 'shape', None)} and "
                             f"{getattr(b, 'shape', None)}")
        columns = {"bias": bias, "multiplier": multiplier, "shift": shift}
        values = {"a": a, "b": b}
        for name in self.inputs:
            if name in columns:
                per_column = columns[name] if columns[name] is not None else 0
                values[name] = (np.broadcast_to(np.asarray(per_column, dtype=np.int64),
                                                (self.n,))[None, :])
        return self.bind(values)

    def decode_outputs(self, regions):
        """``C`` (``[m, n]``) from the regions read back after a run."""
        return self.unbind(regions)["C"]


class _RegisterRead(NamedTuple):
    """A REQ reads constant register ``register`` in ``cycle``."""
    register: int
    cycle: int


class _Unit:
    """One matrix unit's fixed resources and progress.

    Parameters
    ----------
    unit : isa.geometry.Unit
    own : list of int
        The MEM slices of its hemisphere.
    other : list of int
        The other hemisphere's slices.
    act_slice : int
        The slice its activations stream from.
    alu, ldc_alu : int
        The ALU requantising its results, and the one loading its per-channel constants.
    roles : dict
        Stream roles (``result``, ``act``, ``weights``, ``out``).
    """

    def __init__(self, unit, own, other, act_slice, alu, ldc_alu, roles):
        self.unit = unit
        self.position = unit.position
        #: Towards the VXM (the direction its operands arrive in), and away from it.
        self.inward = unit.hemisphere.away_from_centre
        self.outward = unit.hemisphere.toward_centre
        self.own = own
        self.slices = own + other
        self.act_slice = act_slice
        self.alu, self.ldc_alu = alu, ldc_alu
        self.load = f"{unit.name}.load"
        self.mm = f"{unit.name}.mm"
        self.result_streams = roles["result"]
        self.act_stream = roles["act"]
        self.weight_streams = roles["weights"]
        self.out_streams = roles["out"]
        self.tiles = []
        #: The K-tiles in the order the unit multiplies them.
        self.k_order = []
        self.last_install = None
        self.last_rows = 0


class _GemmScheduler:
    def __init__(self, schedule, m, k, n, has_bias, requant, out_dtype, per_channel, start,
                 a, b, prefix, units, columns):
        self.schedule = schedule
        self.calendar = calendar = schedule.calendar
        self.sram = calendar.sram
        self.cfg = cfg = schedule.config
        self.plan = calendar.plan
        if not self.plan.mxm_units:
            raise ScheduleError("the configuration has no matrix units")
        count = len(self.plan.mxm_units)
        self.unit_indexes = list(range(count)) if units is None else list(units)
        if not self.unit_indexes or any(not isinstance(u, int) or not 0 <= u < count
                                        for u in self.unit_indexes):
            raise ValueError(f"GEMM units must be matrix unit indexes 0..{count - 1}, not "
                             f"{units!r}")
        self.m, self.k, self.n = m, k, n
        self.lanes = lanes = cfg.lanes
        self.kt = -(-k // lanes)
        self.nt = -(-n // lanes)
        self.block = min(m, cfg.mxm_acc_depth)
        self.has_bias = has_bias
        self.requant = requant
        self.out_dtype = out_dtype or (DType.I8 if requant else DType.I32)
        self.per_channel = per_channel
        self.start = start
        self.vxm = self.plan.vxm_unit.position
        self.latency = mxm_latency(cfg)
        # A unit takes an activation every `fold` cycles: MM m of a tile issues at t + m * fold.
        self.fold = cfg.mxm_fold
        # One ALU requantises a unit's rows as they arrive, one every `fold` cycles.
        if vxm_issue_interval(cfg) > self.fold:
            raise ScheduleError(f"GEMM requantises a matrix unit's rows on one VXM ALU, which "
                                f"takes an operation every {vxm_issue_interval(cfg)} cycles "
                                f"(vxm_fold); the unit emits one every {self.fold} "
                                f"(mxm_fold): vxm_fold must not exceed mxm_fold")
        self.vxm_latency = vxm_latency(cfg)
        self.register_busy = {}         # constant register -> last cycle a REQ reads it
        self.channel_registers = {}     # (unit, N-tile) -> (multiplier, shift, valid from)
        self.claimed = {}               # slice -> weight words the tile being planned claims
        self.tiles = 0
        # Operands and result. A and B are tensors earlier kernels wrote, or host inputs.
        self.prefix = prefix
        self.a_copies = {}              # activation slice -> its copy of A
        self.a = list(a) if isinstance(a, (list, tuple)) else [a] if a is not None else None
        for tensor in self.a or ():
            if tensor.shape != (m, k) or tensor.dtype is not DType.I8:
                raise ValueError(f"GEMM operand a must be an int8 tensor of shape {(m, k)}, "
                                 f"not {tensor!r}")
        if b is not None and (b.shape != (k, n) or b.dtype is not DType.I8):
            raise ValueError(f"GEMM operand b must be an int8 tensor of shape {(k, n)}, "
                             f"not {b!r}")
        self.b_external = b
        # Host-loaded weight rows: all of B, or the zero rows padding a tensor's last K-tile
        # (loaded because the array multiplies by every row; the activations' lanes there are
        # zero). A host weight row read twice is loaded twice; other words are read again.
        if b is None:
            self.b = self.host_input("b", Tensor(f"{prefix}b", DType.I8, (k, n), lanes,
                                                 stored_rows=self.kt * lanes))
        else:
            padding = self.kt * lanes - k
            self.b = self.host_constant(
                Tensor(f"{prefix}b.padding", DType.I8, (padding, n), lanes),
                np.zeros((padding, n), dtype=np.int64)) if padding else None
        #: The tensors whose words are read again by later tiles (the others get a word per
        #: read): A, B when a kernel wrote it, and its zero padding.
        self.reread = {id(t) for t in [*(self.a or ()), b, self.b if b is not None else None]
                       if t is not None}
        # Per-column int32 constants: tensors placed by the caller (resident, read where they
        # lie) or host inputs (a word per read).
        self.columns = {}
        self.placed = set()
        for name, tensor in (columns or {}).items():
            if name not in ("bias", "multiplier", "shift") or tensor.shape != (1, n) or \
                    tensor.dtype is not DType.I32:
                raise ValueError(f"GEMM column {name!r} must be an int32 tensor of shape "
                                 f"(1, {n}), not {tensor!r}")
            self.columns[name] = tensor
            self.placed.add(id(tensor))
            self.reread.add(id(tensor))
        if "bias" in self.columns:
            self.has_bias = True
        elif has_bias:
            self.columns["bias"] = self.host_input("bias", Tensor(f"{prefix}bias", DType.I32,
                                                                  (1, n), lanes))
        elif any(calendar.queue_end(f"{self.plan.mxm_units[u].name}.load")
                 for u in self.unit_indexes):
            # An earlier kernel left its bias in a matrix unit: load a zero one instead.
            self.has_bias = True
            self.columns["bias"] = self.host_constant(
                Tensor(f"{prefix}bias.zero", DType.I32, (1, n), lanes),
                np.zeros((1, n), dtype=np.int64))
        if requant and per_channel:
            for name in ("multiplier", "shift"):
                if name not in self.columns:
                    self.columns[name] = self.host_input(name, Tensor(
                        f"{prefix}{name}", DType.I32, (1, n), lanes))
        self.c = Tensor(f"{prefix}C", self.out_dtype, (m, n), lanes)
        self.out_blocks = {}            # (N-tile, plane, slice) -> address of row 0
        # Per slice: words of output blocks not written yet. Slices are chosen by how many
        # words they hold (:meth:`fill`), blocks counting as their rows are written.
        self.unwritten = [0] * len(self.plan.mem_units)

    # ---- Helpers. ----

    def host_input(self, name, tensor):
        """Declare ``tensor`` as the host input ``<prefix><name>``."""
        return self.schedule.input(f"{self.prefix}{name}", tensor)

    def host_constant(self, tensor, values):
        return self.schedule.constant(tensor, values)

    def slice_unit(self, i):
        return self.plan.mem_units[i]

    def read_into(self, slice_index, when, position, direction, stream, written=None):
        """Reserve the READ :meth:`~compiler.calendar.Calendar.plan_read` plans (its word is
        placed when the tile commits; a word a kernel writes in cycle ``written`` is read after
        it); returns its read cycle, or ``None``."""
        plan = self.calendar.plan_read(slice_index, position, when, direction, stream)
        if plan is None or (written is not None and plan[0] < written + MEM_WRITE_TO_READ):
            return None
        read, transfer = plan
        self.calendar.reserve(transfer)
        self.calendar.hold(f"{self.slice_unit(slice_index).name}.rd", read)
        return read

    # ---- Setup: units, streams, slices, registers. ----

    def setup(self):
        cfg = self.cfg
        streams = cfg.streams
        out_planes = self.out_dtype.bytes
        # Per direction: emitted int32 rows of the units on the other side (4 streams, in
        # the other hemisphere only, so weight rows may share them in the unit's own),
        # requantised rows to the MEM slices (the top out_planes), activations (1, below
        # them), weight rows (the rest, from 0). With fewer streams than that, the
        # requantised rows share the weight rows' streams (the calendar keeps every transfer
        # apart, so a clash only moves one to a later cycle), and the activations keep the
        # top one.
        act = streams - out_planes - 1
        if act >= 1:
            out = list(range(act + 1, streams))
        else:
            act = streams - 1
            out = list(range(out_planes))
        roles = {"result": list(range(0, DType.I32.bytes)), "act": act,
                 "weights": list(range(act)), "out": out}
        # When the output planes take the activations' stream too, a unit's outputs written
        # in its own hemisphere would travel inward on every stream while its activations do:
        # with the latencies of a folded unit, row m's output can then meet row m + k's
        # activation in the same cycle and place for every start cycle of the tile. Each unit
        # writes to the other hemisphere instead: its results travel on past the VXM, outward,
        # on the streams that brought them.
        self.cross_out = act in out
        mems = self.plan.mem_units
        # Activations stream every cycle during the multiplies; take them all from the east
        # hemisphere, so the west one has cycles in which all its slices are free (an int32
        # constant needs four slices of one hemisphere at once).
        east = [i for i, u in enumerate(mems) if u.hemisphere is Hemisphere.EAST]
        # A unit's activation slice and ALUs follow its place in the floorplan, so that GEMMs
        # on different units use different ones.
        units = len(self.plan.mxm_units)
        if len(east) < units:
            raise ScheduleError("GEMM needs a MEM slice per matrix unit in the east hemisphere")
        # Each unit requantises on an ALU of its own where the VXM has one per unit; with
        # fewer, units share (a unit emits one row per output row and column tile, after all
        # its K-tiles, so a shared ALU is rarely the bound).
        alus = cfg.vxm_alus
        self.units = []
        for index in self.unit_indexes:
            unit = self.plan.mxm_units[index]
            # A unit reads from its own hemisphere's slices first; a port the other unit
            # leaves free can deliver a weight row too (it travels through the VXM).
            own = [i for i, u in enumerate(mems) if u.hemisphere is unit.hemisphere]
            other = [i for i in range(len(mems)) if i not in own]
            alu = index % alus
            ldc_alu = units + index if alus > 2 * units else alu
            self.units.append(_Unit(unit, own, other, east[index], alu, ldc_alu, roles))
        for j in range(self.nt):
            self.units[j % len(self.units)].tiles.append(j)
        self.shared_out = self.shared_out_slices()

    def shared_out_slices(self):
        """For a result of several byte planes: the ``planes`` slices every unit writes it to
        (the emptiest of the hemisphere with the most free words), so that a later kernel
        reads each plane from one slice whichever unit computed the tile; ``None`` for int8
        (each unit writes to its own hemisphere), when each unit writes to the other one
        (``cross_out``, see :meth:`setup`) or when a hemisphere has too few slices for the
        units to write at once."""
        planes = self.out_dtype.bytes
        if planes == 1 or self.cross_out:
            return None
        if min(len(g) for g in self.sram.hemispheres().values()) < planes:
            return None
        return self.sram.roomiest_slices(planes)

    # ---- Tiles. ----

    def run(self, multiplier, shift):
        self.setup()
        self.multiplier = multiplier
        self.shift = None if shift is None else int(shift)
        count = requant_registers(self)
        self.held = []
        if count:
            # The requantisation constants load once their registers are free.
            self.held, self.start = self.calendar.registers(count, self.start)
        scalar = None
        self.prologue_end = self.start
        if self.requant and not self.per_channel:
            scalar, self.prologue_end = place_prologue(self)
        order = []
        shared = self.a is not None and len(self.a) < len(self.units)
        for index, unit in enumerate(self.units):
            # Units sharing one copy of A start their K loops at different K-tiles, so they
            # read different words of it at once (accumulation order does not change a
            # wrapping integer sum).
            offset = index * self.kt // len(self.units) if shared else 0
            unit.k_order = [(offset + step) % self.kt for step in range(self.kt)]
            for mb in range(0, self.m, self.block):
                for j in unit.tiles:
                    for i in unit.k_order:
                        order.append((unit, mb, j, i))
        # Interleave units by time: each unit's tiles in order.
        pending = {id(u): [t for t in order if t[0] is u] for u in self.units}
        while any(pending.values()):
            unit = min((u for u in self.units if pending[id(u)]),
                       key=lambda u: u.last_install if u.last_install is not None else -1)
            self.place_tile(*pending[id(unit)].pop(0), scalar)
        self.tiles = len(order)
        if self.held:
            self.calendar.release_registers(self.held, max(self.register_busy.values(),
                                                           default=self.prologue_end))
        return self.c

    def place_tile(self, unit, mb, j, i, scalar):
        rows = min(self.block, self.m - mb)
        first_k = i == unit.k_order[0]
        if self.requant and self.per_channel and first_k:
            load_channel_constants(self, unit, j)
        per_cycle = min(len(unit.weight_streams), len(unit.own))
        load_cycles = (1 if first_k and self.has_bias else 0) + -(-self.lanes // per_cycle)
        if unit.last_install is None:
            # The unit's first tile: after whatever an earlier kernel left in its array.
            busy_until = max(self.calendar.queue_end(unit.mm), self.calendar.queue_end(unit.load))
            earliest = max(self.prologue_end, busy_until)
            window_start = busy_until
        else:
            earliest = unit.last_install + max(unit.last_rows, 1) * self.fold
            window_start = unit.last_install
        t = max(earliest, window_start + load_cycles, self.operands_ready(unit, mb, j, i, rows))
        for _ in range(_ATTEMPTS):
            mark = self.calendar.checkpoint()
            plan = self.try_tile(unit, mb, j, i, rows, t, window_start, scalar)
            if plan is not None:
                self.apply(plan)
                unit.last_install = t
                unit.last_rows = rows
                return
            self.calendar.rollback(mark)
            t += 1
        raise ScheduleError(f"could not place tile ({mb}, {j}, {i}) of {unit.unit.name} in "
                            f"{_ATTEMPTS} cycles")

    def operands_ready(self, unit, mb, j, i, rows):
        """A lower bound on the first MM of tile (mb, j, i): activation row ``m`` reaches the
        unit by its MM (``t + m f``), and weight rows written by an earlier kernel arrive
        before it (their loads precede the first MM)."""
        calendar = self.calendar
        a = self.activations(unit)
        t = -1
        for m in range(rows):
            t = max(t, calendar.earliest_arrival(a, (mb + m) * self.kt + i, unit.position) -
                    m * self.fold)
        b = self.b_external
        if b is not None:
            for row in range(i * self.lanes, min((i + 1) * self.lanes, b.rows)):
                t = max(t, calendar.earliest_arrival(b, row * self.nt + j, unit.position) + 1)
        return t

    def try_tile(self, unit, mb, j, i, rows, t, window_start, scalar):
        """Reserve tile (mb, j, i) with its first MM at cycle ``t``; returns the planned SRAM
        placements, or ``None`` if some resource is busy (the caller rolls back)."""
        calendar = self.calendar
        planned = []
        self.claimed = {}
        pos = unit.position
        # 1. MMs and their activations.
        a = self.activations(unit)
        for m in range(rows):
            when = t + m * self.fold
            if not calendar.queue_free(unit.mm, when):
                return None
            vector = (mb + m) * self.kt + i
            act_slice = a.location(vector, 0)[0] if self.a else unit.act_slice
            read = self.read_into(act_slice, when, pos, unit.inward, unit.act_stream,
                                  a.written.get((vector, 0)))
            if read is None:
                return None
            planned.append(Read(a, vector, 0, read, act_slice, unit.act_stream, unit.inward))
            calendar.issue(unit.mm, when, encode(
                QueueKind.MXM_COMPUTE, MatrixOp.MM, act_stream=unit.act_stream,
                act_dir=unit.inward, acc=m, accumulate=int(i != unit.k_order[0]),
                emit=int(i == unit.k_order[-1]),
                install=int(m == 0), out_stream=unit.result_streams[0], out_dir=unit.outward))
        # 2. Loads in [window_start, t): bias planes (first K-tile), then weight rows.
        if not place_tile_loads(self, unit, i, j, window_start, t, planned):
            return None
        # 3. Emits: requantise in the VXM, write to a MEM slice.
        if i == unit.k_order[-1]:
            if not self.place_emits(unit, mb, j, rows, t, scalar, planned):
                return None
        return planned

    def activations(self, unit):
        """The copy of A the unit streams its activations from: one of the tensors given, or
        a host input (one copy per activation slice)."""
        if self.a:
            return self.a[self.units.index(unit) % len(self.a)]
        if unit.act_slice not in self.a_copies:
            self.a_copies[unit.act_slice] = self.host_input("a", Tensor(
                f"{self.prefix}a", DType.I8, (self.m, self.k), self.lanes))
            self.reread.add(id(self.a_copies[unit.act_slice]))
        return self.a_copies[unit.act_slice]

    def place_emits(self, unit, mb, j, rows, t, scalar, planned):
        calendar = self.calendar
        planes = self.out_dtype.bytes
        alu = f"vxm.alu{unit.alu}"
        out_slices = self.out_slices(unit)
        out_direction = self.plan.mem_units[out_slices[0]].hemisphere.away_from_centre
        # Results written across the VXM travel on, in the direction they arrived, on the
        # streams that brought them (free past the VXM); the other unit's results and
        # outputs use other streams.
        out_streams = (unit.out_streams if out_direction is unit.inward
                       else unit.result_streams)
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
            if not calendar.transfer_free(result):
                return False
            calendar.reserve(result)
            at_vxm = result.arrival
            if not calendar.queue_free(alu, at_vxm):
                return False
            fields = {"stype": DType.I32, "dtype": self.out_dtype,
                      "a": Operand.stream(unit.outward, unit.result_streams[0]), "dst_en": 1,
                      "dst_dir": out_direction, "dst_stream": out_streams[0], "imm": 0}
            if self.requant:
                multiplier, shift = registers
                fields["b"] = Operand.const(multiplier)
                if isinstance(shift, tuple):
                    fields["c"] = Operand.immediate()
                    fields["imm"] = shift[1]
                else:
                    fields["c"] = Operand.const(shift)
                op = VectorOp.REQ
            else:
                op = VectorOp.MOV
            calendar.issue(alu, at_vxm, encode(QueueKind.VXM_ALU, op, **fields))
            for plane in range(planes):
                target = out_slices[plane]
                target_unit = self.slice_unit(target)
                out = Transfer(out_direction, [out_streams[plane]], self.vxm,
                               target_unit.position, at_vxm, self.vxm_latency)
                if not calendar.transfer_free(out):
                    return False
                calendar.reserve(out)
                write = out.arrival
                queue = f"{target_unit.name}.wr"
                if not calendar.queue_free(queue, write):
                    return False
                planned.append(Write(self.c, (mb + m) * self.nt + j, plane, write, target,
                                     out_streams[plane], out_direction))
                calendar.hold(queue, write)
            last_req = at_vxm
        if registers is not None:
            for register in registers:
                if not isinstance(register, tuple):
                    planned.append(_RegisterRead(register, last_req))
        return True

    def fill(self, i):
        """Words of slice ``i`` in use, output blocks counted by the rows written so far."""
        return self.sram.used(i) - self.unwritten[i]

    def by_fill(self, unit):
        """The unit's slices, own hemisphere first, each group emptiest first (counting the
        words this tile's plan already claims)."""
        def fill(i):
            return self.fill(i) + self.claimed.get(i, 0)
        return sorted(unit.own, key=fill) + sorted(
            (i for i in unit.slices if i not in unit.own), key=fill)

    def out_slices(self, unit):
        """The slices an N-tile's results are written to: :meth:`shared_out_slices`, or the
        emptiest of the unit's hemisphere (of the other one with ``cross_out``; the same ones
        for the whole N-tile, so its writes form runs)."""
        if self.shared_out is not None:
            return self.shared_out
        side = [i for i in unit.slices if i not in unit.own] if self.cross_out else unit.own
        planes = self.out_dtype.bytes
        if len(side) < planes:
            raise ScheduleError(f"{planes} output planes need {planes} MEM slices per "
                                f"hemisphere, the configuration has {len(side)}")
        return sorted(side, key=lambda i: (self.fill(i), i))[:planes]

    def apply(self, planned):
        """Place a committed plan's reads and writes: allocate each word in SRAM (in the order
        the plan reads or writes them), record it in its tensor and put the READ or WRITE
        into the slot the plan holds."""
        for step in planned:
            if isinstance(step, _RegisterRead):
                self.register_busy[step.register] = max(
                    step.cycle, self.register_busy.get(step.register, -1))
            elif isinstance(step, Write):
                # An N-tile's rows go to consecutive words of each output slice, so that the
                # next kernel reads them as READ + REPEAT runs.
                row, tile = divmod(step.vector, self.nt)
                block = (tile, step.plane, step.slice)
                if block not in self.out_blocks:
                    self.out_blocks[block] = self.sram.allocate(step.slice, self.m,
                                                                after=step.cycle) - row
                    self.unwritten[step.slice] += self.m
                self.unwritten[step.slice] -= 1
                place_write(self.calendar, step, self.out_blocks[block] + row)
            else:
                # A vector of a copy of A (or of a tensor a kernel wrote) is one word that every
                # tile reading it reads; host weights and per-column constants get a word per
                # read.
                place_read(self.calendar, step, reuse=id(step.tensor) in self.reread)


def place_gemm(schedule, m, k, n, *, bias=False, requantise=True, per_channel=False,
               multiplier=None, shift=None, out_dtype=None, start=0, a=None, b=None,
               prefix="", units=None, columns=None):
    """Place ``C = requantise(A[m, k] @ B[k, n] + bias)`` on ``schedule`` from cycle ``start``.

    ``a`` (``[m, k]`` int8; or a list of copies in different slices, one per matrix unit) and
    ``b`` (``[k, n]`` int8) are tensors earlier kernels wrote; those not given are host inputs
    of the schedule, as are, per output column, ``bias`` (int32, with ``bias``),
    ``multiplier`` and ``shift`` (with ``per_channel``), all named with ``prefix`` (fix model
    weights with :meth:`~compiler.schedule.Schedule.fix`). ``requantise``: REQ to
    ``out_dtype`` (int8 by default); else the int32 accumulators are the result, or with
    ``out_dtype`` their low bytes (a wrapping MOV: exact when every result fits, as for a
    product with a permutation matrix). Without ``per_channel``,
    ``multiplier`` and ``shift`` are the per-tensor values, fixed in the program. ``units``
    lists the matrix units to use (indexes into the floorplan's; all by default): two small
    GEMMs on one unit each run side by side. ``columns`` maps ``bias``, ``multiplier`` or
    ``shift`` to ``1 x n`` int32 tensors already placed (a resident model's), read where they
    lie instead of being host inputs. Returns the result tensor ``C`` (``[m, n]``) and the
    number of weight tiles.
    """
    for name, value in (("m", m), ("k", k), ("n", n)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"GEMM dimension {name} must be a positive integer, not {value!r}")
    if requantise and not per_channel and (multiplier is None or shift is None):
        raise ValueError("per-tensor requantisation needs multiplier and shift")
    scheduler = _GemmScheduler(schedule, m, k, n, bias, requantise, out_dtype, per_channel,
                               start, a, b, prefix, units, columns)
    return scheduler.run(multiplier, shift), scheduler.tiles


def compile_gemm(config, m, k, n, *, bias=False, requantise=True, per_channel=False,
                 multiplier=None, shift=None, out_dtype=None):
    """Schedule ``C = requantise(A[m, k] @ B[k, n] + bias)`` alone for ``config``
    (:func:`place_gemm`); returns a :class:`GemmKernel`."""
    schedule = Schedule(config)
    c, tiles = place_gemm(schedule, m, k, n, bias=bias, requantise=requantise,
                          per_channel=per_channel, multiplier=multiplier, shift=shift,
                          out_dtype=out_dtype)
    schedule.output("C", c)
    return schedule.compile(GemmKernel, m=m, k=k, n=n, tiles=tiles)

"""The constants of a GEMM's requantisation, in VXM constant registers
(:mod:`compiler.gemm`): a per-tensor multiplier (and a shift too wide for an immediate) built
once in a prologue, or per-channel multipliers and shifts loaded for each N-tile of a unit,
as early as the registers' previous contents allow.

Every function takes the GEMM's scheduler (``gemm``) and reserves on its calendar.
"""

from isa.formats import Operand, encode, fits_immediate
from isa.geometry import Hemisphere, QueueKind
from isa.opcodes import DType, VectorOp
from isa.timing import VXM_LATENCY
from .access import Read
from .constants import place_wide_constant
from .queues import ScheduleError

__all__ = ["requant_registers", "place_prologue", "load_channel_constants"]


def requant_registers(gemm):
    """The constant registers of the requantisation: per-tensor ``(multiplier, shift)``
    (the shift an immediate when it fits), or per unit :func:`_channel_buffers` buffers of
    (multiplier, shift) for per-channel requantisation, reloaded per N-tile."""
    if not gemm.requant:
        return 0
    if gemm.per_channel:
        # Unit u's buffers are registers 2 b u, 2 b u + 1 and, with two buffers once it
        # has a second N-tile, 2 b u + 2, 2 b u + 3.
        buffers = _channel_buffers(gemm)
        count = max(2 * buffers * index + 2 * min(len(unit.tiles), buffers)
                    for index, unit in enumerate(gemm.units) if unit.tiles)
        if count > gemm.cfg.vxm_consts:
            raise ScheduleError(f"per-channel requantisation needs {count} constant "
                                f"registers, the VXM has {gemm.cfg.vxm_consts}")
        return count
    return 1 if fits_immediate(gemm.shift) else 2


def _channel_buffers(gemm):
    """Per-channel constant buffers per unit: two when one K-tile makes an N-tile's
    emits follow the previous one's at once (the next tile's constants load while the
    previous ones are read), else one, reloaded in the gap of ``(K-tiles - 1) x rows``
    cycles between two N-tiles' emits; the registers left free serve graphs running
    beside the GEMM."""
    return 2 if gemm.kt == 1 else 1


def place_prologue(gemm):
    """Per-tensor requantisation: the multiplier (and a shift too wide for the immediate)
    built in constant registers on ALU 0; returns the registers as REQ's ``b`` and ``c``
    sources and the cycle from which they are ready."""
    start = gemm.start
    multiplier = gemm.held[0]
    start = place_wide_constant(gemm.calendar, int(gemm.multiplier), multiplier, 0, start)
    if fits_immediate(gemm.shift):
        return (multiplier, ("imm", gemm.shift)), start
    shift = gemm.held[1]
    start = place_wide_constant(gemm.calendar, gemm.shift, shift, 0, start)
    return (multiplier, shift), start


def load_channel_constants(gemm, unit, j):
    """Load N-tile ``j``'s multipliers and shifts into this unit's constant registers
    (two buffers, by N-tile parity), as early as their previous contents allow; records
    the registers and the cycle from which they are valid."""
    calendar = gemm.calendar
    index = gemm.units.index(unit)
    buffers = _channel_buffers(gemm)
    base = 2 * buffers * index + 2 * (unit.tiles.index(j) % buffers)
    alu = f"vxm.alu{unit.ldc_alu}"
    when = gemm.start
    ready = 0
    for register, name in ((gemm.held[base], "multiplier"), (gemm.held[base + 1], "shift")):
        # An LDC in cycle c is visible from c + 2: not before the last REQ reading the
        # register's previous contents.
        when = max(when, gemm.register_busy.get(register, -1) - VXM_LATENCY + 1, 0)
        while True:
            mark = calendar.checkpoint()
            if calendar.queue_free(alu, when):
                group = _constant_group(gemm, when, gemm.columns[name], j)
                if group is not None:
                    break
            calendar.rollback(mark)
            when += 1
        direction, stream, reads = group
        calendar.issue(alu, when, encode(
            QueueKind.VXM_ALU, VectorOp.LDC, stype=DType.I32, dtype=DType.I32,
            a=Operand.stream(direction, stream), imm=register))
        gemm.apply([Read(gemm.columns[name], j, plane, read, slice_index, stream + plane,
                          direction) for plane, (slice_index, read) in enumerate(reads)])
        ready = when + VXM_LATENCY
        when += 1
    gemm.channel_registers[(id(unit), j)] = (gemm.held[base], gemm.held[base + 1], ready)


def _constant_group(gemm, when, tensor, j):
    """Reserve four slices of one hemisphere and four streams delivering vector ``j`` of
    the int32 ``tensor`` to the VXM in cycle ``when`` (from the slices its planes lie in,
    when the caller placed it): ``(direction, first stream, [(slice, read)])``, or ``None``
    (reserving nothing)."""
    fixed = None
    if id(tensor) in gemm.placed:
        fixed = [tensor.location(j, plane)[0] for plane in range(4)]
    for hemisphere in (Hemisphere.WEST, Hemisphere.EAST):
        direction = hemisphere.toward_centre
        slices = [i for i, u in enumerate(gemm.plan.mem_units) if u.hemisphere is hemisphere]
        if fixed is not None:
            if any(gemm.plan.mem_units[i].hemisphere is not hemisphere for i in fixed):
                continue
        for base in range(0, gemm.cfg.streams - 3, 4):
            picks = []
            for plane in range(4):
                for slice_index in (slices if fixed is None else [fixed[plane]]):
                    if slice_index in [p[0] for p in picks]:
                        continue
                    plan = gemm.calendar.plan_read(slice_index, gemm.vxm, when, direction,
                                                   base + plane)
                    if plan is not None:
                        picks.append((slice_index, *plan))
                        break
            if len(picks) == 4:
                for slice_index, read, transfer in picks:
                    gemm.calendar.reserve(transfer)
                    gemm.calendar.hold(f"{gemm.slice_unit(slice_index).name}.rd", read)
                return direction, base, [(p[0], p[1]) for p in picks]
    return None

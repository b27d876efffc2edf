"""One vector through a switch unit: read from SRAM, moved across lanes by the SXM at the end
of its hemisphere (``ROT``, ``BCAST``, ...), and written back as it passes.

The matrix units stay free: a transpose rotates its rows this way
(:mod:`compiler.transpose`) beside the GEMM that writes them, and a decoder broadcasts each
dimension of a new key to every lane to append it to the cache of transposed keys
(:mod:`compiler.kv_cache`).
"""

from isa.formats import encode
from isa.geometry import QueueKind
from isa.opcodes import DType, MemReadOp
from isa.timing import MEM_WRITE_TO_READ, arrival, sxm_latency
from .access import Write, place_write
from .queues import ScheduleError

__all__ = ["place_switch_op"]

#: Cycles a switch operation may be delayed before the kernel gives up.
_ATTEMPTS = 100_000


def place_switch_op(schedule, x, vector, out, out_vector, op, amount, *, start=0,
                    targets=None):
    """Vector ``out_vector`` of ``out`` := switch operation ``op`` (int8, ``amount`` as
    encoded) of vector ``vector`` of the int8 tensor ``x``: read, moved by the switch unit at
    the end of its hemisphere and written as it comes back, at the first cycle from
    ``start`` at which all are free, by one of the slices ``targets`` (by default those of
    the switch unit's hemisphere; a slice of the other one is reached across the VXM)."""
    calendar = schedule.calendar
    plan = calendar.plan
    slice_index = x.location(vector, 0)[0]
    hemisphere = plan.mem_units[slice_index].hemisphere
    sxm = next((u for u in plan.sxm_units if u.hemisphere is hemisphere), None)
    if sxm is None:
        raise ScheduleError(f"moving lanes of {x.name!r} needs a switch unit in the "
                            f"{hemisphere.name.lower()} hemisphere")
    if targets is None:
        targets = [i for i, u in enumerate(plan.mem_units) if u.hemisphere is hemisphere]
    cycle = max(start, calendar.earliest_arrival(x, vector, sxm.position))
    for _ in range(_ATTEMPTS):
        mark = calendar.checkpoint()
        write = _try(schedule, x, vector, slice_index, out, out_vector, op, amount, sxm, cycle,
                     targets)
        if write is not None:
            place_write(calendar, write)
            return
        calendar.rollback(mark)
        cycle += 1
    raise ScheduleError(f"could not place a {op.name} of {x.name!r} in {_ATTEMPTS} cycles")


def _try(schedule, x, vector, slice_index, out, out_vector, op, amount, sxm, cycle, targets):
    """Reserve the operation with its switch instruction in ``cycle``; returns the planned
    write, or ``None`` at the first resource taken (the caller rolls back)."""
    calendar = schedule.calendar
    plan = calendar.plan
    queue = f"{sxm.name}.sxm"
    if not calendar.queue_free(queue, cycle):
        return None
    latency = sxm_latency(schedule.config)
    toward_sxm = sxm.hemisphere.away_from_centre
    written = x.written.get((vector, 0))
    for stream in range(schedule.config.streams):
        planned = calendar.plan_read(slice_index, sxm.position, cycle, toward_sxm, stream)
        if planned is not None:
            break
    else:
        return None
    read, transfer = planned
    if written is not None and read < written + MEM_WRITE_TO_READ:
        return None
    calendar.reserve(transfer)
    away = toward_sxm.opposite
    write = None
    for target in sorted(targets, key=lambda i: (calendar.sram.used(i), i)):
        unit = plan.mem_units[target]
        written_back = arrival(cycle, latency, sxm.position, unit.position)
        if not calendar.queue_free(f"{unit.name}.wr", written_back):
            continue
        returning = calendar.free_group(away, 1, sxm.position, unit.position, cycle,
                                        latency)
        if returning is not None:
            calendar.hold(f"{unit.name}.wr", written_back)
            write = Write(out, out_vector, 0, written_back, target, returning.streams[0], away)
            break
    if write is None:
        return None
    address = x.location(vector, 0)[1]
    calendar.issue(f"{plan.mem_units[slice_index].name}.rd", read, encode(
        QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=stream, dir=toward_sxm))
    x.read(read)
    calendar.issue(queue, cycle, encode(
        QueueKind.SXM, op, src=stream, src_dir=toward_sxm, dst=write.stream, dst_dir=away,
        dtype=DType.I8, amount=amount))
    return write

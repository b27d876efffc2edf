"""Programs exercising the switch unit, timed with :mod:`isa.timing`, with expected results
computed independently of :mod:`golden.switch` (NumPy rolls, slices and loops).

- :func:`switch_program`: every lane movement on random data, and (given 16 MEM slices) the
  16 x 16 transpose fed by 16 slices at once.
- :func:`reduction_program`: a sum or a maximum over all lanes of int32 vectors, as a
  rotate-and-combine tree: the VXM sends its partial result to the SXM, which rotates it by
  1, 2, 4, ... lanes and sends it back to be added (or maxed) in.
"""

import numpy as np

from compiler.program import Program, Region
from compiler.calendar import Calendar
from golden import vector
from isa.config import SUPERLANE
from isa.formats import Instruction, Operand, spec_for
from isa.geometry import Hemisphere, QueueKind, floorplan
from isa.opcodes import (DType, Direction, MemReadOp, MemWriteOp, OperandKind, SwitchOp,
                         VectorOp)
from isa.timing import MEM_READ_LATENCY, SXM_LATENCY, VXM_LATENCY, arrival, issue_for_arrival

__all__ = ["switch_program", "reduction_program", "REDUCTION_STREAMS"]

#: The reduction program sends the VXM's partial results out on streams 12 to 15.
REDUCTION_STREAMS = 16


def _encode(kind, op, **fields):
    return Instruction(spec_for(kind, op.value), fields).encode()


def _read(calendar, unit, cycle, address, stream, direction):
    calendar.issue(f"{unit.name}.rd", cycle, _encode(
        QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=stream, dir=direction))


def _write(calendar, unit, cycle, address, stream, direction):
    calendar.issue(f"{unit.name}.wr", cycle, _encode(
        QueueKind.MEM_WRITE, MemWriteOp.WRITE, addr=address, stream=stream, dir=direction))


def _expected_move(op, x, amount, fill, mapping=None):
    lanes = len(x)
    if op is SwitchOp.SHUP:
        return np.concatenate([np.full(amount, fill), x[:lanes - amount]])
    if op is SwitchOp.SHDN:
        return np.concatenate([x[amount:], np.full(amount, fill)])
    if op is SwitchOp.ROT:
        return np.roll(x, -amount)
    if op is SwitchOp.BCAST:
        return np.full(lanes, x[amount])
    if op is SwitchOp.PERM:
        return np.array([x[i] if i < lanes else fill for i in mapping])
    raise ValueError(op)


def switch_program(config, seed=0):
    """Lane movements (every operation, every element type) through the western SXM, and a
    transpose if the chip has 16 MEM slices; returns ``(program, expected regions)``."""
    plan = floorplan(config)
    rng = np.random.default_rng(seed)
    lanes, calendar = config.lanes, Calendar(config)
    sxm = plan.sxm_units[0]                              # west edge, next to the MXM
    west = [u for u in plan.mem_units if u.hemisphere is Hemisphere.WEST]
    images, outputs, expected = [], [], {}
    cycle = 0
    cases = [(SwitchOp.SHUP, DType.I8), (SwitchOp.SHDN, DType.I16), (SwitchOp.ROT, DType.I32),
             (SwitchOp.BCAST, DType.I8), (SwitchOp.PERM, DType.I8), (SwitchOp.PERM, DType.I16),
             (SwitchOp.SHUP, DType.I32), (SwitchOp.ROT, DType.I8)]
    for number, (op, dtype) in enumerate(cases):
        values = vector.wrap(rng.integers(-(1 << 31), 1 << 31, lanes), dtype)
        planes = vector.to_bytes(values, dtype)
        amount = int(rng.integers(0, lanes))
        fill = int(rng.integers(-(1 << 15), 1 << 15))
        mapping = None
        # Sources: plane b from west slice b, all arriving at the SXM in cycle `at`.
        at = cycle + 2 * MEM_READ_LATENCY + len(west)
        for b in range(dtype.bytes):
            unit = west[b]
            address = 2 * number
            images.append((plan.sram_index(unit), address, planes[b][None, :]))
            _read(calendar, unit, issue_for_arrival(at, MEM_READ_LATENCY, unit.position,
                                                    sxm.position), address, b, Direction.WEST)
        fields = {"src": 0, "src_dir": Direction.WEST, "dst": 4, "dst_dir": Direction.EAST,
                  "dtype": dtype, "amount": amount, "fill": fill, "map": 0,
                  "map_dir": Direction.WEST}
        if op is SwitchOp.PERM:
            mapping = rng.integers(0, lanes + 8, lanes)           # some out of range: fill
            map_planes = vector.to_bytes(mapping, DType.I16)
            fields.update(map=8, amount=0)
            for b in range(2):
                unit = west[len(west) - 1 - b]
                images.append((plan.sram_index(unit), 2 * number + 1, map_planes[b][None, :]))
                _read(calendar, unit, issue_for_arrival(at, MEM_READ_LATENCY, unit.position,
                                                        sxm.position), 2 * number + 1, 8 + b,
                      Direction.WEST)
        calendar.issue("sxm_w0.sxm", at, _encode(QueueKind.SXM, op, **fields))
        out = _expected_move(op, values, amount, vector.wrap(fill, dtype), mapping)
        out_planes = vector.to_bytes(out, dtype)
        for b in range(dtype.bytes):
            unit = west[b]
            when = arrival(at, SXM_LATENCY, sxm.position, unit.position)
            _write(calendar, unit, when, 100 + number, 4 + b, Direction.EAST)
            name = f"move{number}.{b}"
            outputs.append(Region(name, plan.sram_index(unit), 100 + number, 1))
            expected[name] = out_planes[b][None, :]
        cycle = at + 2
    if len(plan.mem_units) >= SUPERLANE and config.streams >= SUPERLANE:
        cycle = _transpose(config, plan, calendar, rng, images, outputs, expected, cycle)
    queues, predicted = calendar.programs()
    return Program(config, queues, images, outputs, predicted), expected


def _transpose(config, plan, calendar, rng, images, outputs, expected, cycle):
    """16 int8 vectors from 16 slices at once, transposed in 16 x 16 blocks."""
    sxm = plan.sxm_units[0]
    lanes = config.lanes
    data = rng.integers(0, 256, (SUPERLANE, lanes)).astype(np.uint8)
    slices = plan.mem_units[:SUPERLANE]                   # west then east: all east of the SXM
    at = cycle + 2 * MEM_READ_LATENCY + max(u.position for u in slices)
    for i, unit in enumerate(slices):
        images.append((plan.sram_index(unit), 500, data[i][None, :]))
        _read(calendar, unit, issue_for_arrival(at, MEM_READ_LATENCY, unit.position,
                                                sxm.position), 500, i, Direction.WEST)
    calendar.issue("sxm_w0.sxm", at, _encode(
        QueueKind.SXM, SwitchOp.TRANS, src=0, src_dir=Direction.WEST, dst=0,
        dst_dir=Direction.EAST, dtype=DType.I8, amount=0, fill=0, map=0,
        map_dir=Direction.EAST))
    transposed = np.zeros_like(data)
    for s in range(lanes // SUPERLANE):
        for i in range(SUPERLANE):
            for j in range(SUPERLANE):
                transposed[j, SUPERLANE * s + i] = data[i, SUPERLANE * s + j]
    for j, unit in enumerate(slices):
        when = arrival(at, SXM_LATENCY, sxm.position, unit.position)
        _write(calendar, unit, when, 600, j, Direction.EAST)
        name = f"transpose.{j}"
        outputs.append(Region(name, plan.sram_index(unit), 600, 1))
        expected[name] = transposed[j][None, :]
    return at + 2


def reduction_program(config, kind="sum", vectors=3, seed=0):
    """Sum (or maximum) over all lanes of ``vectors`` int32 vectors, broadcast to every lane;
    returns ``(program, expected regions)``. Needs a power-of-two lane count and 16 streams
    per direction."""
    lanes = config.lanes
    if lanes & (lanes - 1):
        raise ValueError(f"the rotate tree needs a power-of-two lane count, not {lanes}")
    if config.streams < REDUCTION_STREAMS:
        raise ValueError(f"the reduction program needs {REDUCTION_STREAMS} streams per "
                         f"direction, not {config.streams}")
    plan = floorplan(config)
    rng = np.random.default_rng(seed)
    calendar = Calendar(config)
    sxm = plan.sxm_units[0]
    vxm = plan.vxm_unit.position
    west = [u for u in plan.mem_units if u.hemisphere is Hemisphere.WEST][:4]
    combine = VectorOp.ADD if kind == "sum" else VectorOp.MAX
    images, outputs, expected = [], [], {}
    i32 = {"stype": DType.I32, "dtype": DType.I32}
    cycle = 0
    for v in range(vectors):
        values = rng.integers(-(1 << 24), 1 << 24, lanes)
        planes = vector.to_bytes(values, DType.I32)
        # Load the vector into ALU 0's result register: planes from four slices, MOV.
        at = cycle + 2 * MEM_READ_LATENCY + len(west) + 1
        for b, unit in enumerate(west):
            images.append((plan.sram_index(unit), v, planes[b][None, :]))
            _read(calendar, unit, issue_for_arrival(at, MEM_READ_LATENCY, unit.position, vxm),
                  v, b, Direction.EAST)
        calendar.issue("vxm.alu0", at, _encode(QueueKind.VXM_ALU, VectorOp.MOV, **i32,
                                               a=Operand(OperandKind.EAST, 0)))
        now = at
        amount = 1
        while amount < lanes:
            # Partial -> SXM (west) -> rotated -> back to the VXM, combined with the partial.
            send = now + VXM_LATENCY
            calendar.issue("vxm.alu1", send, _encode(
                QueueKind.VXM_ALU, VectorOp.MOV, **i32, a=Operand(OperandKind.ALU, 0),
                dst_en=1, dst_dir=Direction.WEST, dst_stream=4))
            at_sxm = arrival(send, VXM_LATENCY, vxm, sxm.position)
            calendar.issue("sxm_w0.sxm", at_sxm, _encode(
                QueueKind.SXM, SwitchOp.ROT, src=4, src_dir=Direction.WEST, dst=8,
                dst_dir=Direction.EAST, dtype=DType.I32, amount=amount, fill=0, map=0,
                map_dir=Direction.EAST))
            back = arrival(at_sxm, SXM_LATENCY, sxm.position, vxm)
            calendar.issue("vxm.alu0", back, _encode(
                QueueKind.VXM_ALU, combine, **i32, a=Operand(OperandKind.ALU, 0),
                b=Operand(OperandKind.EAST, 8)))
            now = back
            amount *= 2
        # Send the result east to four slices of the east hemisphere.
        done = now + VXM_LATENCY
        calendar.issue("vxm.alu1", done, _encode(
            QueueKind.VXM_ALU, VectorOp.MOV, **i32, a=Operand(OperandKind.ALU, 0), dst_en=1,
            dst_dir=Direction.EAST, dst_stream=12))
        total = values.sum() if kind == "sum" else values.max()
        out_planes = vector.to_bytes(np.full(lanes, vector.wrap(total, DType.I32)), DType.I32)
        east = [u for u in plan.mem_units if u.hemisphere is Hemisphere.EAST][:4]
        for b, unit in enumerate(east):
            _write(calendar, unit, arrival(done, VXM_LATENCY, vxm, unit.position), 50 + v,
                   12 + b, Direction.EAST)
            name = f"{kind}{v}.{b}"
            outputs.append(Region(name, plan.sram_index(unit), 50 + v, 1))
            expected[name] = out_planes[b][None, :]
        cycle = done
    queues, predicted = calendar.programs()
    return Program(config, queues, images, outputs, predicted), expected

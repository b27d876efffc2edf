"""A program exercising the switch unit, timed by hand with :mod:`isa.timing`, with expected
results computed independently of :mod:`golden.switch` (NumPy rolls, slices and loops): every
lane movement on random data, and (given 16 MEM slices) the 16 x 16 transpose fed by 16 slices
at once. (Reductions across lanes, which use the switch unit too, are a compiler kernel:
:mod:`compiler.reduce`.)"""

import numpy as np

from compiler.calendar import Calendar
from compiler.program import Program, Region
from golden import vector
from isa.config import SUPERLANE
from isa.formats import encode
from isa.geometry import Hemisphere, QueueKind, floorplan
from isa.opcodes import DType, Direction, MemReadOp, MemWriteOp, SwitchOp
from isa.timing import (MEM_READ_LATENCY, arrival, issue_for_arrival, sxm_issue_interval,
                        sxm_latency)

__all__ = ["switch_program"]


def _read(calendar, unit, cycle, address, stream, direction):
    calendar.issue(f"{unit.name}.rd", cycle, encode(
        QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=stream, dir=direction))


def _write(calendar, unit, cycle, address, stream, direction):
    calendar.issue(f"{unit.name}.wr", cycle, encode(
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
        # Results go eastward on the top int32 group (the sources come westward).
        dst = config.streams - DType.I32.bytes
        fields = {"src": 0, "src_dir": Direction.WEST, "dst": dst, "dst_dir": Direction.EAST,
                  "dtype": dtype, "amount": amount, "fill": fill, "map": 0,
                  "map_dir": Direction.WEST}
        if op is SwitchOp.PERM:
            mapping = rng.integers(0, lanes + 8, lanes)           # some out of range: fill
            map_planes = vector.to_bytes(mapping, DType.I16)
            # The map's two planes on westward streams 2 and 3: PERM moves at most int16
            # (streams 0 and 1).
            fields.update(map=2, amount=0)
            for b in range(2):
                unit = west[len(west) - 1 - b]
                images.append((plan.sram_index(unit), 2 * number + 1, map_planes[b][None, :]))
                _read(calendar, unit, issue_for_arrival(at, MEM_READ_LATENCY, unit.position,
                                                        sxm.position), 2 * number + 1, 2 + b,
                      Direction.WEST)
        calendar.issue("sxm_w0.sxm", at, encode(QueueKind.SXM, op, **fields))
        out = _expected_move(op, values, amount, vector.wrap(fill, dtype), mapping)
        out_planes = vector.to_bytes(out, dtype)
        for b in range(dtype.bytes):
            unit = west[b]
            when = arrival(at, sxm_latency(config), sxm.position, unit.position)
            _write(calendar, unit, when, 100 + number, dst + b, Direction.EAST)
            name = f"move{number}.{b}"
            outputs.append(Region(name, plan.sram_index(unit), 100 + number, 1))
            expected[name] = out_planes[b][None, :]
        cycle = at + sxm_issue_interval(config) + 1
    if len(plan.mem_units) >= SUPERLANE and config.transposes:
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
    calendar.issue("sxm_w0.sxm", at, encode(
        QueueKind.SXM, SwitchOp.TRANS, src=0, src_dir=Direction.WEST, dst=0,
        dst_dir=Direction.EAST, dtype=DType.I8, amount=0, fill=0, map=0,
        map_dir=Direction.EAST))
    transposed = np.zeros_like(data)
    for s in range(lanes // SUPERLANE):
        for i in range(SUPERLANE):
            for j in range(SUPERLANE):
                transposed[j, SUPERLANE * s + i] = data[i, SUPERLANE * s + j]
    for j, unit in enumerate(slices):
        when = arrival(at, sxm_latency(config), sxm.position, unit.position)
        _write(calendar, unit, when, 600, j, Direction.EAST)
        name = f"transpose.{j}"
        outputs.append(Region(name, plan.sram_index(unit), 600, 1))
        expected[name] = transposed[j][None, :]
    return at + 2


"""Transposes: ``Y = X^T`` of an int8 tensor, on the SXM's 16 x 16 ``TRANS``.

``TRANS`` reads 16 int8 vectors on 16 adjacent streams in one cycle and sends 16 vectors back,
``out[j][16 s + i] = in[i][16 s + j]``: within each superlane ``s`` (16 lanes) it transposes a
16 x 16 block, and no value leaves its superlane. A vector of ``L = 16 S`` lanes has ``S``
superlanes, so for ``S > 1`` the kernel first *arranges* its input: output ``j`` of the
transpose of group ``(t, sigma)`` must be row ``16 sigma + j`` of ``Y`` over columns
``L t .. L t + L - 1``, so input ``i`` holds in its superlane ``s`` the superlane ``sigma`` of
``X``'s row ``L t + 16 s + i``::

    arranged(t, sigma, i)[superlane s] = X[L t + 16 s + i][superlane sigma]

Superlane ``sigma`` moves to ``s``: a rotation of the vector by ``16 (s - sigma)`` lanes. The
kernel runs in three steps:

1. a switch unit rotates each row of ``X`` by every multiple of 16 lanes (``S - 1``
   rotations, ``ROT``: read from SRAM, rotated by the switch unit at the end of the row's
   hemisphere and written back as it passes), leaving the matrix units to the GEMMs that
   run meanwhile (a transpose of keys runs beside the projection that writes them);
2. an elementwise graph selects each arranged vector's superlanes from the rotations (``SEL``
   with per-lane masks) and writes the 16 inputs of every transpose to 16 different MEM
   slices, since each slice reads one word per cycle;
3. each ``TRANS`` reads its 16 inputs, timed to reach an SXM in the same cycle, and its 16
   outputs are written by 16 slices as they pass.

Rows of ``X`` past its last one (when ``rows`` is not a multiple of the lane count) are
copies of the last row: ``Y``'s lanes past its last column hold unspecified values, which the
consumer must mask (softmax does).
"""

import numpy as np

from isa.config import SUPERLANE
from isa.formats import encode
from isa.geometry import QueueKind
from isa.opcodes import DType, MemReadOp, SwitchOp, VectorOp
from isa.timing import MEM_WRITE_TO_READ, sxm_latency
from .access import Write, place_write
from .calendar import Transfer
from .elementwise import place_graph
from .graph import Graph
from .queues import ScheduleError
from .switch import place_switch_op
from .tensors import Tensor

__all__ = ["place_transpose"]

#: Cycles a transpose may be delayed before the kernel gives up.
_ATTEMPTS = 100_000


class _Transpose:
    def __init__(self, schedule, x, start, name):
        self.schedule = schedule
        self.calendar = schedule.calendar
        self.plan = self.calendar.plan
        self.config = config = schedule.config
        self.lanes = lanes = config.lanes
        self.superlanes = lanes // SUPERLANE
        if x.dtype is not DType.I8:
            raise ScheduleError(f"a transpose moves int8 tensors, not {x.dtype.name} "
                                f"({x.name!r})")
        self.slices = list(range(len(self.plan.mem_units)))
        if len(self.slices) < SUPERLANE or not config.transposes:
            raise ScheduleError(f"a transpose reads {SUPERLANE} vectors at once from "
                                f"{SUPERLANE} MEM slices on {SUPERLANE} streams and moves "
                                f"{SUPERLANE}-lane blocks; the configuration has "
                                f"{len(self.slices)} slices, {config.streams} streams and "
                                f"{config.lanes} lanes")
        if not self.plan.sxm_units:
            raise ScheduleError("a transpose needs a switch unit")
        self.x = x
        self.start = start
        self.name = name or f"{x.name}.T"
        self.column_tiles = -(-x.rows // lanes)
        self.y = Tensor(self.name, DType.I8, (x.cols, x.rows), lanes)

    # ---- 1 and 2: the arranged inputs. ----

    def rotations(self, tile):
        """``[X, X rotated 16 lanes, ..., X rotated 16 (S - 1) lanes]`` for column tile
        ``tile`` of ``X``, as ``(tensor, tile)`` pairs."""
        x = self.x.view(f"{self.name}.x{tile}", tiles=[tile])
        found = [(x, 0)]
        if self.superlanes == 1:
            return found
        rotated = Tensor(f"{self.name}.rotated{tile}", DType.I8,
                         (x.rows, (self.superlanes - 1) * self.lanes), self.lanes)
        for row in range(x.rows):
            for k in range(1, self.superlanes):
                # ROT moves lane l + amount to l: by lanes - 16 k, 16 k lanes up.
                place_switch_op(self.schedule, x, x.vector(row, 0), rotated,
                                rotated.vector(row, k - 1), SwitchOp.ROT,
                                (self.lanes - SUPERLANE * k) % self.lanes, start=self.start)
        return found + [(rotated, k) for k in range(self.superlanes - 1)]

    def arranged(self, tile):
        """The inputs of column tile ``tile``'s transposes, row ``16 (S t + sigma) + i`` for
        input ``i`` of group ``(t, sigma)``, row ``r`` in slice ``r mod 16``."""
        rotations = self.rotations(tile)
        last = self.x.rows - 1
        lanes, count = self.lanes, self.superlanes
        sources = [[] for _ in range(count)]
        for t in range(self.column_tiles):
            for sigma in range(count):
                for i in range(SUPERLANE):
                    for s in range(count):
                        tensor, rotated_tile = rotations[(s - sigma) % count]
                        row = min(lanes * t + SUPERLANE * s + i, last)
                        sources[s].append((tensor, row, rotated_tile))
        graph = Graph(shape=(len(sources[0]), lanes))
        parts = [graph.input(f"s{s}", DType.I8) for s in range(count)]
        value = parts[0] if count > 1 else graph.op(VectorOp.MOV, parts[0])
        for s in range(1, count):
            mask = graph.constant_vector((np.arange(lanes) // SUPERLANE == s).astype(int),
                                         DType.I8)
            value = graph.op(VectorOp.SEL, parts[s], value, mask)
        graph.output("arranged", value)
        inputs = {f"s{s}": Tensor.gather(f"{self.name}.s{tile}.{s}", sources[s])
                  for s in range(count)}
        outputs, _, _ = place_graph(self.schedule, graph, inputs, start=self.start,
                                    layouts={"arranged": self.slices[:SUPERLANE]})
        return outputs["arranged"]

    # ---- 3: the transposes. ----

    def place(self):
        for tile in range(-(-self.x.cols // self.lanes)):
            arranged = self.arranged(tile)
            cycle = self.start
            positions = [sxm.position for sxm in self.plan.sxm_units]
            for group in range(arranged.rows // SUPERLANE):
                # Not before the group's inputs are written (at the nearer switch unit).
                cycle = max([cycle] + [min(self.calendar.earliest_arrival(arranged, v, p)
                                           for p in positions)
                                       for v in range(SUPERLANE * group,
                                                      SUPERLANE * (group + 1))])
                for _ in range(_ATTEMPTS):
                    if self.try_group(arranged, tile, group, cycle):
                        break
                    cycle += 1
                else:
                    raise ScheduleError(f"could not place transpose {group} of {self.name!r} "
                                        f"in {_ATTEMPTS} cycles")
        return self.y

    def try_group(self, arranged, tile, group, cycle):
        """Place group ``group``'s TRANS in ``cycle`` on the first switch unit where its reads,
        streams and writes are free; returns whether it did (reserving nothing otherwise)."""
        for sxm in self.plan.sxm_units:
            for base in range(0, self.config.streams - SUPERLANE + 1, SUPERLANE):
                mark = self.calendar.checkpoint()
                writes = self.try_plan(arranged, tile, group, cycle, sxm, base)
                if writes is not None:
                    for write in writes:
                        place_write(self.calendar, write)
                    return True
                self.calendar.rollback(mark)
        return False

    def try_plan(self, arranged, tile, group, cycle, sxm, base):
        calendar = self.calendar
        queue = f"{sxm.name}.sxm"
        if not calendar.queue_free(queue, cycle):
            return None
        toward_sxm = sxm.hemisphere.away_from_centre
        reads = []
        for i in range(SUPERLANE):
            v = SUPERLANE * group + i
            slice_index, address = arranged.location(v, 0)
            plan = calendar.plan_read(slice_index, sxm.position, cycle, toward_sxm, base + i)
            written = arranged.written.get((v, 0))
            if plan is None or (written is not None and plan[0] < written + MEM_WRITE_TO_READ):
                return None
            read, transfer = plan
            calendar.reserve(transfer)
            reads.append((slice_index, read, address, base + i))
        away = toward_sxm.opposite
        t, sigma = divmod(group, self.superlanes)
        writes = []
        for j in range(SUPERLANE):
            row = self.lanes * tile + SUPERLANE * sigma + j
            if row >= self.y.rows:
                continue
            slice_index = self.slices[j]
            unit = self.plan.mem_units[slice_index]
            transfer = Transfer(away, [base + j], sxm.position, unit.position, cycle,
                                sxm_latency(self.config))
            if not calendar.transfer_free(transfer) or \
                    not calendar.queue_free(f"{unit.name}.wr", transfer.arrival):
                return None
            calendar.reserve(transfer)
            calendar.hold(f"{unit.name}.wr", transfer.arrival)
            writes.append(Write(self.y, self.y.vector(row, t), 0, transfer.arrival,
                                slice_index, base + j, away))
        for slice_index, read, address, stream in reads:
            calendar.issue(f"{self.plan.mem_units[slice_index].name}.rd", read, encode(
                QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=stream, dir=toward_sxm))
            arranged.read(read)
        calendar.issue(queue, cycle, encode(QueueKind.SXM, SwitchOp.TRANS, src=base,
                                            src_dir=toward_sxm, dst=base, dst_dir=away,
                                            dtype=DType.I8))
        return writes


def place_transpose(schedule, x, *, start=0, name=None):
    """Place ``Y = X^T`` of the int8 tensor ``x`` (``rows x cols``) on ``schedule`` from cycle
    ``start``; returns ``Y`` (``cols x rows``). Needs 16 MEM slices, 16 streams and a switch
    unit (and for vectors of several superlanes, one in the hemisphere of each row of ``x``,
    to rotate it; no matrix unit). ``Y``'s lanes past its last column hold unspecified
    values."""
    return _Transpose(schedule, x, start, name).place()

"""Row reductions: the sum, the maximum or the minimum of every row of a tensor, across
lanes, on the VXM and an SXM.

For each row, one ALU (``x``) combines the row's vectors as they arrive from SRAM (a second ALU
widens narrower types to int32 first; a VXM of one ALU widens the whole tensor into SRAM
beforehand, with an elementwise ``MOV``), then reduces across lanes with a rotate tree: ``x``
sends its partial result to a switch unit, which rotates it by 1, 2, 4, ... lanes and sends it
back, and ``x`` combines the two. After ``log2(lanes)`` rounds every lane holds the total,
which ``x`` sends to four MEM slices (one int32 byte plane each)::

    x:   OP tile0 .. OP tile(n-1) -> SXM     OP rotated -> SXM   ...   OP rotated -> SRAM
    SXM:                      ROT 1               ROT 2        ...

No ALU waits for the round trip: on the way to the switch unit, four MEM slices keep the
partial result's planes and read them back to reach the VXM with the rotated copy, where any
free ALU combines the two. (With 4 streams per direction, which carry one int32 value at a
time, a MOV holds the rotated copy in its result register for an ALU latency, and the kept
copy follows.) Rows are placed one by one, each at the first cycle and on the first ALUs and
switch unit that are free, so several rows are in flight at once.
"""

from isa.formats import Operand, encode
from isa.geometry import Hemisphere, QueueKind
from isa.opcodes import DType, MemReadOp, MemWriteOp, SwitchOp, VectorOp
from isa.timing import MEM_WRITE_TO_READ, sxm_latency, vxm_latency
from .access import Write, place_write
from .calendar import Transfer
from .elementwise import place_graph
from .graph import Graph
from .queues import ScheduleError
from .tensors import Tensor

__all__ = ["REDUCTIONS", "place_row_reduction"]

#: The combining operation of each reduction.
REDUCTIONS = {"sum": VectorOp.ADD, "max": VectorOp.MAX, "min": VectorOp.MIN}
#: Cycles a row may be delayed before the kernel gives up.
_ATTEMPTS = 100_000
#: Scratch words per MEM slice for partial results on their way round the tree: a word
#: written in cycle ``w`` is at ``w mod _RING`` of the ring and must be read back before
#: ``w + _RING``, when the slice may write that word again.
_RING = 64

_I32 = {"stype": DType.I32, "dtype": DType.I32}


#: :meth:`_RowReduction.try_inputs` found a read of the row taken: no ALU would do better.
_BLOCKED = object()


class _RowReduction:
    def __init__(self, schedule, tensor, kind, start, name, padded, avoid):
        config = schedule.config
        self.calendar = schedule.calendar
        self.plan = self.calendar.plan
        self.lanes = lanes = config.lanes
        if kind not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, not {kind!r}")
        if lanes & (lanes - 1):
            raise ScheduleError(f"the rotate tree needs a power-of-two lane count, not {lanes}")
        if tensor.cols % lanes and not padded:
            raise ScheduleError(f"a row reduction reads whole vectors: tensor {tensor.name!r} "
                                f"has {tensor.cols} columns, not a multiple of {lanes} lanes "
                                f"(give padded=True if its padding lanes hold the reduction's "
                                f"identity)")
        if len(self.plan.mem_units) < 2 * DType.I32.bytes:
            raise ScheduleError("a row reduction writes its int32 result to four MEM slices "
                                "of a hemisphere")
        self.schedule = schedule
        self.avoid = set(avoid)
        #: A copy of the input widened to int32 first, when one ALU cannot widen as it adds.
        self.widened = None
        if tensor.dtype is not DType.I32 and tensor.tiles > 1 and config.vxm_alus < 2:
            tensor = self.widened = _widened(schedule, tensor, start, self.avoid)
        self.tensor = tensor
        self.combine = REDUCTIONS[kind]
        self.start = start
        self.vxm = self.plan.vxm_unit.position
        #: Cycles from an ALU's operation to its result: the row's combining steps apart.
        self.latency = vxm_latency(config)
        self.rounds = lanes.bit_length() - 1
        self.widen = tensor.dtype is not DType.I32 and tensor.tiles > 1
        self.out = Tensor(name or f"{tensor.name}.{kind}", DType.I32, (tensor.rows, lanes),
                          lanes)
        # The slices that may keep partial results, per hemisphere: those the input is not
        # in first (their read ports are busy with the rows' vectors).
        read = {slice_index for _, _, slice_index, _ in tensor.words}
        self.delay_slices = schedule.calendar.sram.hemispheres()
        for slices in self.delay_slices.values():
            slices.sort(key=lambda i: i in read)

    # ---- One row. ----

    def place(self):
        alus = self.calendar.config.vxm_alus
        step = 2 if self.widen else 1
        pairs = [(x, x + 1 if self.widen else None) for x in range(0, alus - step + 1, step)]
        # Rows go in order: each from the cycle at which the one before it starts.
        cycle = self.start
        tensor = self.tensor
        for row in range(tensor.rows):
            # Not before the row's words are written (tile j reaches the VXM latency x j
            # cycles in).
            cycle = max([cycle] + [
                self.calendar.earliest_arrival(tensor, tensor.vector(row, j), self.vxm) -
                self.latency * j
                for j in range(tensor.tiles)])
            for _ in range(_ATTEMPTS):
                wait = self.ports_wait(row, cycle)
                if wait:
                    cycle += wait
                    continue
                if self.try_row(row, cycle, pairs):
                    break
                cycle += 1
            else:
                raise ScheduleError(f"could not place the reduction of row {row} in "
                                    f"{_ATTEMPTS} cycles")
        if self.widened is not None:
            self.schedule.release(self.widened)
        return self.out

    def ports_wait(self, row, c):
        """``0`` if the read ports of row ``row``'s words are free for its vectors to reach the
        VXM from cycle ``c``, else how many cycles later they can first be (each busy port
        must be free again first)."""
        calendar = self.calendar
        tensor = self.tensor
        wait = 0
        for j in range(tensor.tiles):
            for b in range(tensor.planes):
                slice_index = tensor.location(tensor.vector(row, j), b)[0]
                queue = f"{self.plan.mem_units[slice_index].name}.rd"
                read = c + self.latency * j - calendar.read_travel(slice_index, self.vxm)
                wait = max(wait, calendar.next_free(queue, read) - read)
        return wait

    def try_row(self, row, c, pairs):
        """Place row ``row`` with its first vector at the VXM in cycle ``c``, on the first ALUs
        and switch unit that are free; returns whether it succeeded (nothing is reserved
        otherwise)."""
        calendar = self.calendar
        for x, w in pairs:
            mark = calendar.checkpoint()
            self.reads = []
            head = self.try_inputs(row, c, x, w)
            if head is _BLOCKED:            # no ALU pair would do better
                calendar.rollback(mark)
                return False
            if head is not None:
                for sxm in self.plan.sxm_units:
                    inner = calendar.checkpoint()
                    writes = self.try_tree(row, *head, sxm)
                    if writes is not None:
                        self.apply(writes)
                        return True
                    calendar.rollback(inner)
            calendar.rollback(mark)
        return False

    def try_inputs(self, row, c, x, w):
        """Reserve the reads of the row's vectors and their combining into ALU ``x``;
        returns ``(ALU queue, send cycle, op, fields)`` of the partial result's first send,
        ``None`` at the first ALU slot taken, or ``_BLOCKED`` when a read cannot be placed
        (whatever the ALUs)."""
        tensor = self.tensor
        x_queue = f"vxm.alu{x}"
        combine = self.combine
        # 1. The row's vectors, combined into x as they arrive: tile j at c + L j (L the ALU
        #    latency), into x directly or, when it must be widened to int32, through w (x L
        #    cycles later).
        step = self.latency
        lag = step if self.widen else 0
        last = c + step * (tensor.tiles - 1) + lag
        for j in range(tensor.tiles):
            operand = self.arrive(tensor.vector(row, j), c + step * j)
            if operand is None:
                return _BLOCKED
            if self.widen:
                if not self.issue(f"vxm.alu{w}", c + step * j, VectorOp.MOV, a=operand,
                                  stype=tensor.dtype, dtype=DType.I32):
                    return None
                operand = Operand.alu(w)
            if j == 0:
                stype = DType.I32 if self.widen else tensor.dtype
                op, fields = VectorOp.MOV, dict(a=operand, stype=stype, dtype=DType.I32)
            else:
                op, fields = combine, dict(a=Operand.alu(x), b=operand, **_I32)
            when = c + step * j + lag
            if when < last and not self.issue(x_queue, when, op, **fields):
                return None
        return x_queue, last, op, fields

    def try_tree(self, row, alu, send, op, fields, sxm):
        """Reserve the rotate tree on ``sxm`` and the result's writes, from the partial
        result's first send (``op`` with ``fields`` on ``alu`` in cycle ``send``); returns the
        planned output writes, or ``None`` at the first resource taken (the caller rolls
        back)."""
        calendar = self.calendar
        combine = self.combine
        # 2. The rotate tree. Each round, an ALU sends the partial result towards the SXM,
        #    which rotates it and sends it back; on the way out, four MEM slices write its
        #    planes, and they read them back to reach the VXM with the rotated copy, where any
        #    free ALU combines the two. No ALU waits for the round trip.
        toward_sxm = sxm.hemisphere.away_from_centre
        toward_vxm = toward_sxm.opposite
        for k in range(self.rounds):
            out = calendar.free_group(toward_sxm, DType.I32.bytes, self.vxm, sxm.position,
                                      send, self.latency)
            if out is None or not self.issue(alu, send, op, dst_en=1, dst_dir=toward_sxm,
                                             dst_stream=out.streams[0], **fields):
                return None
            kept = self.delay_line(out, send, sxm)
            at_sxm = out.arrival
            back = calendar.free_group(toward_vxm, DType.I32.bytes, sxm.position, self.vxm,
                                       at_sxm, sxm_latency(calendar.config))
            if kept is None or back is None or not self.issue(
                    f"{sxm.name}.sxm", at_sxm, SwitchOp.ROT, queue_kind=QueueKind.SXM,
                    src=out.streams[0], src_dir=toward_sxm, dst=back.streams[0],
                    dst_dir=toward_vxm, dtype=DType.I32, amount=1 << k):
                return None
            send = back.arrival
            rotated = Operand.stream(toward_vxm, back.streams[0])
            again = self.read_back(kept, send, toward_vxm)
            if again is None:
                # The streams towards the VXM cannot carry the kept copy beside the rotated
                # one (4 streams per direction hold one int32 value): a MOV keeps the rotated
                # copy in its ALU's result register for an ALU latency, and the kept one
                # arrives then.
                mover = self.free_alu(send)
                if mover is None or not self.issue(f"vxm.alu{mover}", send, VectorOp.MOV,
                                                   a=rotated, **_I32):
                    return None
                rotated = Operand.alu(mover)
                send += self.latency
                again = self.read_back(kept, send, toward_vxm)
            free = self.free_alu(send)
            if again is None or free is None:
                return None
            alu = f"vxm.alu{free}"
            op = combine
            fields = dict(a=rotated, b=Operand.stream(toward_vxm, again), **_I32)
        # 3. The total, in every lane, to four slices of one hemisphere.
        for hemisphere in (Hemisphere.EAST, Hemisphere.WEST):
            writes = self.place_result(row, alu, send, op, fields, hemisphere)
            if writes is not None:
                return writes
        return None

    def place_result(self, row, x_queue, send, op, fields, hemisphere):
        calendar = self.calendar
        direction = hemisphere.away_from_centre
        slices = sorted((i for i, u in enumerate(self.plan.mem_units)
                         if u.hemisphere is hemisphere and i not in self.avoid),
                        key=lambda i: (calendar.sram.used(i), i))[:DType.I32.bytes]
        if len(slices) < DType.I32.bytes:
            return None
        mark = calendar.checkpoint()
        base = None
        for candidate in range(0, calendar.config.streams - 3, DType.I32.bytes):
            transfers = [Transfer(direction, [candidate + b], self.vxm,
                                  self.plan.mem_units[s].position, send, self.latency)
                         for b, s in enumerate(slices)]
            if all(calendar.transfer_free(t) for t in transfers):
                base = candidate
                break
        if base is None or not self.issue(x_queue, send, op, dst_en=1, dst_dir=direction,
                                          dst_stream=base, **fields):
            calendar.rollback(mark)
            return None
        writes = []
        for b, (slice_index, transfer) in enumerate(zip(slices, transfers)):
            queue = f"{self.plan.mem_units[slice_index].name}.wr"
            if not calendar.queue_free(queue, transfer.arrival):
                calendar.rollback(mark)
                return None
            calendar.reserve(transfer)
            calendar.hold(queue, transfer.arrival)
            writes.append(Write(self.out, self.out.vector(row, 0), b, transfer.arrival,
                                slice_index, base + b, direction))
        return writes

    def delay_line(self, out, send, sxm):
        """Reserve four slices between the VXM and ``sxm`` that write the planes of the
        partial result ``out`` carries (sent in ``send``) as it passes: ``[(slice, address,
        write cycle)]``, or ``None``. Each slice keeps it in its ring of scratch words."""
        calendar = self.calendar
        kept = []
        for plane, stream in enumerate(out.streams):
            for index in self.delay_slices[sxm.hemisphere]:
                if index in [s for s, _, _ in kept]:
                    continue
                unit = self.plan.mem_units[index]
                passing = Transfer(out.direction, [stream], self.vxm, unit.position, send,
                                   self.latency).arrival
                queue = f"{unit.name}.wr"
                if calendar.queue_free(queue, passing):
                    address = calendar.scratch(index, _RING) + passing % _RING
                    calendar.issue(queue, passing, encode(
                        QueueKind.MEM_WRITE, MemWriteOp.WRITE, addr=address, stream=stream,
                        dir=out.direction))
                    kept.append((index, address, passing))
                    break
            else:
                return None
        return kept

    def read_back(self, kept, when, direction):
        """Reserve the READs of the words :meth:`delay_line` kept, reaching the VXM in cycle
        ``when`` on four adjacent streams of ``direction``; returns the first stream, or
        ``None``."""
        calendar = self.calendar
        for base in range(0, calendar.config.streams - 3, DType.I32.bytes):
            mark = calendar.checkpoint()
            for plane, (index, address, written) in enumerate(kept):
                plan = calendar.plan_read(index, self.vxm, when, direction, base + plane)
                if plan is None or not written + MEM_WRITE_TO_READ <= plan[0] < \
                        written + _RING:
                    break
                read, transfer = plan
                calendar.reserve(transfer)
                calendar.issue(f"{self.plan.mem_units[index].name}.rd", read, encode(
                    QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=base + plane,
                    dir=direction))
            else:
                return base
            calendar.rollback(mark)
        return None

    def free_alu(self, cycle):
        """The first VXM ALU free in ``cycle``, or ``None``."""
        return next((a for a in range(self.calendar.config.vxm_alus)
                     if self.calendar.queue_free(f"vxm.alu{a}", cycle)), None)

    def arrive(self, v, when):
        """Reserve the READs that bring vector ``v`` of the input to the VXM in cycle
        ``when``; returns its operand, or ``None`` if a port or stream is taken or a word is
        not written yet."""
        calendar = self.calendar
        tensor = self.tensor
        sides = {self.plan.mem_units[tensor.location(v, b)[0]].hemisphere
                 for b in range(tensor.planes)}
        if len(sides) != 1:
            raise ScheduleError(f"vector {v} of tensor {tensor.name!r} has planes in both "
                                f"hemispheres; the VXM reads a vector from one")
        direction = sides.pop().toward_centre
        for base in range(0, calendar.config.streams - tensor.planes + 1, tensor.planes):
            mark = calendar.checkpoint()
            if self.read_planes(v, when, base, direction):
                return Operand.stream(direction, base)
            calendar.rollback(mark)
        return None

    def read_planes(self, v, when, base, direction):
        calendar = self.calendar
        tensor = self.tensor
        for b in range(tensor.planes):
            slice_index, address = tensor.location(v, b)
            plan = calendar.plan_read(slice_index, self.vxm, when, direction, base + b)
            written = tensor.written.get((v, b))
            if plan is None or (written is not None and plan[0] < written + MEM_WRITE_TO_READ):
                return False
            read, transfer = plan
            calendar.reserve(transfer)
            calendar.issue(f"{self.plan.mem_units[slice_index].name}.rd", read, encode(
                QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=base + b,
                dir=direction))
            self.reads.append(read)
        return True

    def issue(self, queue, cycle, op, *, queue_kind=QueueKind.VXM_ALU, **fields):
        """Issue ``op`` on ``queue`` in ``cycle`` if the slot is free; returns whether it was."""
        if not self.calendar.queue_free(queue, cycle):
            return False
        self.calendar.issue(queue, cycle, encode(queue_kind, op, **fields))
        return True

    def apply(self, writes):
        """Record a placed row's reads, allocate its output words and put its WRITEs into
        their slots."""
        self.tensor.read(max(self.reads))
        for write in writes:
            place_write(self.calendar, write)


def _widened(schedule, tensor, start, avoid):
    """``tensor`` widened to int32 by the VXM (a graph of one ``MOV``), in slices outside
    ``avoid``."""
    graph = Graph(shape=tensor.shape)
    graph.output("wide", graph.op(VectorOp.MOV, graph.input("x", tensor.dtype),
                                  dtype=DType.I32))
    return place_graph(schedule, graph, {"x": tensor}, start=start, avoid=avoid)[0]["wide"]


def place_row_reduction(schedule, tensor, kind, *, start=0, name=None, padded=False, avoid=()):
    """Place the ``kind`` (``"sum"``: wrapping int32, ``"max"`` or ``"min"``) of every row of
    ``tensor`` on ``schedule`` from cycle ``start``.

    ``tensor`` is ``rows x cols`` of any element type. Every lane of a row's vectors is
    reduced, so ``cols`` must be a multiple of the lane count, or (``padded``) the lanes past
    the last column must hold the reduction's identity (0 for a sum, the type's minimum for a
    maximum, its maximum for a minimum). The lane count must be a power of two. Returns a
    ``rows x lanes`` int32 tensor whose row ``r`` holds row ``r``'s reduction in every lane,
    in slices outside ``avoid``.
    """
    return _RowReduction(schedule, tensor, kind, start, name, padded, avoid).place()

"""The elementwise scheduler: a :class:`~compiler.graph.Graph` of VXM operations over tensors
in SRAM, placed to the cycle on a schedule's calendar.

:func:`compile_graph` schedules a graph alone (every input loaded by the host);
:func:`place_graph` places it in a larger program, reading inputs that earlier kernels wrote::

    kernel = compile_graph(g, config)
    program = kernel.program({"a": ..., "b": ...})     # a Program for either engine
    kernel.predicted_cycles

How it is scheduled (all timing rules from :mod:`isa.timing`):

- Every operation node gets its own ALU and processes one vector per issue interval ``f``
  (:func:`~isa.timing.vxm_issue_interval`, 1 unless the ALUs are folded): vector ``v`` of a
  node at level ``r`` (its depth in the graph) issues at ``t0 + f v + L r``, where ``L`` is
  :func:`~isa.timing.vxm_latency`, so it finds its operands in the result registers of the
  nodes one level up exactly when they are written.
  A node feeding another more than one level down goes through a chain of MOV nodes.
- A tensor in SRAM is stored as byte planes (an int32 tensor as four), each plane in its own
  MEM slice, all in one hemisphere, so that the planes arrive side by side on adjacent streams;
  reads are timed so vector ``v`` arrives exactly when its consumer issues. Inputs read at two
  different levels are loaded twice. A tensor an earlier kernel wrote is read where it lies:
  the planes of each vector in one hemisphere, different vectors possibly in different ones.
- Results leave the VXM on a stream group and are written by slices downstream as they pass.
  A value flowing into the VXM and one flowing out may share a stream (they pass different
  positions), and so may values of levels that never reach the VXM in the same cycle (folded
  ALUs): the calendar checks every transfer, and 4 streams per direction suffice.
- A node and the MOVs widening its operands run in one pass, unless the VXM has too few ALUs
  for them: then the widened values go through SRAM too.
- A graph needing more ALUs (or slices, or streams) than the chip has is split into passes by
  level; values crossing a pass boundary go through SRAM.
- Scalar constants are immediates when they fit 26 bits; wider ones and per-lane constant
  vectors go into constant registers, loaded in a prologue.
- A pass starts at the first cycle from which every queue slot and stream register it needs is
  free on the calendar and every word it reads has been written.
"""

import math
from dataclasses import dataclass

import numpy as np

from golden import vector
from isa.formats import Operand, encode, fits_immediate
from isa.geometry import Hemisphere, QueueKind
from isa.legality import stream_group_ok
from isa.opcodes import DType, Direction, MemReadOp, MemWriteOp, VectorOp
from isa.timing import (MEM_READ_LATENCY, MEM_WRITE_TO_READ, VXM_LATENCY, arrival,
                        issue_for_arrival, vxm_issue_interval, vxm_latency)
from .calendar import Transfer
from .constants import place_table, place_wide_constant, wide_constant_cycles
from .graph import Graph, GraphError, Value
from .queues import ScheduleError
from .schedule import Kernel, Schedule
from .tensors import Tensor, planar_tensor

__all__ = ["GraphKernel", "place_graph", "compile_graph", "ScheduleError", "GraphError"]


@dataclass
class GraphKernel(Kernel):
    """A scheduled graph: its program template and how it was split."""
    graph: Graph = None
    passes: int = 1
    alus_used: int = 0

    def program(self, inputs):
        """A :class:`~compiler.program.Program` loading ``inputs`` (``{name: values}``, every
        input of the graph)."""
        lanes = self.config.lanes
        self.graph.check_inputs(inputs, lanes)
        return self.bind({name: np.reshape(inputs[name], self.graph.input_shape(name, lanes))
                          for name in self.inputs})

    def decode_outputs(self, regions):
        """``{output: values}`` from the regions read back after a run."""
        return {name: values.reshape(self.graph.value_shape)
                for name, values in self.unbind(regions).items()}


@dataclass
class _Outflow:
    """A node's result written to SRAM for a whole pass: vector ``v`` leaves the VXM towards
    hemisphere ``sides[v]`` on the stream group ``bases[sides[v]]``, and ``tensor`` says where
    each of its planes is written."""
    tensor: Tensor
    sides: list
    bases: dict


@dataclass
class _Flow:
    """A tensor read into the VXM for a whole pass: for the pass's vector ``v``, its vector
    ``sources[v]``, whose planes ``0 .. planes - 1`` arrive on the stream group
    ``bases[sides[v]]`` of the hemisphere ``sides[v]`` that vector lies in."""
    tensor: Tensor
    planes: int
    sources: list
    sides: list
    bases: dict = None


def _vector_key(constant):
    """The key of a per-lane constant vector in a register: its int32 lanes."""
    return ("v", tuple(int(x) for x in vector.wrap(constant.values, DType.I32)))


#: Vectors of a pass placed together; the next ones may go later, where they fit.
_CHUNK = 64
#: Cycles past a value's vectors over which :meth:`_Scheduler.free_slices` looks at how busy
#: a slice's read port is.
_STREAMED_WINDOW = 64
#: Cycles before its first pass can start at which a graph starts loading its constants.
_CONSTANT_LEAD = 16


class _Retry(ScheduleError):
    """A pass does not fit at ``t0``, nor at any start before ``t0 + skip``."""

    def __init__(self, skip):
        super().__init__(f"busy for {skip} more cycles")
        self.skip = skip


class _SharedSlice(ScheduleError):
    """A pass would read input ``name`` (a tensor an earlier kernel wrote) from a slice another
    of its reads uses (``busy``)."""

    def __init__(self, name, busy):
        super().__init__(f"input {name!r} shares a MEM slice with another value the same "
                         f"operation reads")
        self.name = name
        self.busy = busy


class _Scheduler:
    def __init__(self, schedule, graph, inputs, constants, start, avoid, layouts, into,
                 copy_first):
        self.schedule = schedule
        self.copy_first = copy_first
        self.calendar = schedule.calendar
        self.sram = self.calendar.sram
        self.graph = graph
        self.config = config = schedule.config
        self.plan = self.calendar.plan
        self.lanes = config.lanes
        self.tiles = -(-graph.shape[1] // config.lanes)
        self.vectors = graph.shape[0] * self.tiles
        self.vxm = self.plan.vxm_unit.position
        #: An ALU's latency and issue interval: vector v of level r issues at t0 + at(r, v).
        self.latency = vxm_latency(config)
        self.interval = vxm_issue_interval(config)
        self.start = start
        self.external = dict(inputs or {})
        self.avoid = set(avoid)
        self.layouts = {name: list(slices) for name, slices in (layouts or {}).items()}
        for name in self.layouts:
            if name not in graph.outputs or graph.outputs[name].dtype is not DType.I8:
                raise GraphError(f"layout for {name!r}: only an int8 output may be spread "
                                 f"over slices")
        self.into = dict(into or {})
        for name, tensor in self.into.items():
            node = graph.outputs.get(name)
            if node is None or tensor.shape != graph.shape or tensor.dtype is not node.dtype:
                raise GraphError(f"output {name!r} written into {tensor!r}: it must be a "
                                 f"placed tensor of the graph's shape and the output's type")
        self.fixed = {name: np.asarray(values, dtype=np.int64)
                      for name, values in (constants or {}).items()}
        for name, values in self.fixed.items():
            if name not in graph.inputs or name in self.external:
                raise GraphError(f"constant input {name!r} is no host input of the graph")
            if values.shape != graph.input_shape(name, config.lanes):
                raise GraphError(f"constant input {name!r} must have shape "
                                 f"{graph.input_shape(name, config.lanes)}, not "
                                 f"{values.shape}")
        for name, tensor in self.external.items():
            if name not in graph.inputs:
                raise GraphError(f"unknown input {name!r}")
            shape = graph.input_shape(name, self.lanes)
            if tensor.shape != shape or tensor.dtype != graph.inputs[name].dtype:
                raise GraphError(f"input {name!r} must be a {graph.inputs[name].dtype.name} "
                                 f"tensor of shape {shape}, not {tensor!r}")
        self.const_regs = {}            # key -> register
        self.temporaries = 0

    # ---- Small helpers. ----

    def at(self, level, v):
        """Cycle, relative to the pass's ``t0``, in which vector ``v`` of a node at ``level``
        issues."""
        return self.latency * level + self.interval * v

    def slices(self, hemisphere):
        return [i for i, u in enumerate(self.plan.mem_units) if u.hemisphere is hemisphere]

    def hemisphere_of(self, slice_index):
        return self.plan.mem_units[slice_index].hemisphere

    def interleaved(self, name, dtype, slices, after):
        """A tensor of the graph's shape whose vector ``v`` is in slice ``slices[v mod
        len(slices)]``, consecutive words in each (free for writes after cycle ``after``)."""
        tensor = Tensor(name, dtype, self.graph.shape, self.lanes)
        count = len(slices)
        bases = [self.sram.allocate(s, -(-(self.vectors - k) // count), after=after)
                 for k, s in enumerate(slices)]
        for v in range(self.vectors):
            tensor.place(v, 0, slices[v % count], bases[v % count] + v // count)
        return tensor

    def planar(self, name, dtype, slices, after):
        """A tensor of the graph's shape that the graph writes, whose plane ``b`` is
        consecutive words of slice ``slices[b]`` (words free for writes after cycle
        ``after``)."""
        return planar_tensor(self.sram, name, dtype, self.graph.shape, self.lanes, slices,
                             after=after)

    # ---- Graph preparation. ----

    def prepare(self):
        """Widen edges whose consumer reads more bytes than its source holds (through a MOV
        node of the scheduler's own; the graph is not modified), and find consumers."""
        g = self.graph
        nodes = []
        self.groups = []                # each node with the widening MOVs it owns
        self.operands = {}
        for node in g.nodes:
            operands = []
            group = []
            widened = {}
            for operand in node.operands:
                if (isinstance(operand, Value) and operand.kind in ("input", "node") and
                        operand.dtype.bytes < node.stype.bytes):
                    if id(operand) not in widened:
                        mov = Value(g, "node", node.stype, op=VectorOp.MOV,
                                    stype=operand.dtype, operands=(operand,))
                        widened[id(operand)] = mov
                        self.operands[id(mov)] = (operand,)
                        group.append(mov)
                    operand = widened[id(operand)]
                operands.append(operand)
            self.operands[id(node)] = tuple(operands)
            group.append(node)
            if len(group) <= self.config.vxm_alus:
                self.groups.append(group)
            else:
                # Too few ALUs for the node and its widening MOVs at once: each runs in a
                # pass of its own, the widened values going through SRAM.
                self.groups.extend([n] for n in group)
            nodes.extend(group)
        # Which group each node belongs to: a group always runs in one pass.
        self.group_of = {id(n): id(group[-1]) for group in self.groups for n in group}
        self.nodes = nodes
        self.consumers = {id(n): [] for n in nodes}
        for node in nodes:
            for operand in self.operands[id(node)]:
                if isinstance(operand, Value) and operand.kind == "node":
                    self.consumers[id(operand)].append(node)
        outputs = {id(n) for n in g.outputs.values()}
        # A node with no consumer that is no output computes nothing anyone reads.
        for node in nodes:
            if not self.consumers[id(node)] and id(node) not in outputs:
                raise GraphError(f"result of {node!r} is never used")

    # ---- Constants. ----

    def constants(self):
        """Give every wide scalar and every constant vector a constant register, loaded in the
        prologue. Returns the cycle from which all constants are ready."""
        scalars, vectors = [], []
        seen = set()
        for node in self.nodes:
            immediate = None
            for operand in self.operands[id(node)]:
                if isinstance(operand, Value):
                    if operand.kind == "vector" and ("v", id(operand)) not in seen:
                        seen.add(("v", id(operand)))
                        vectors.append(operand)
                    continue
                value = int(vector.read_as(operand, node.stype))
                if fits_immediate(value) and immediate in (None, value):
                    immediate = value
                elif ("s", value) not in seen:
                    seen.add(("s", value))
                    scalars.append(value)
        # A register another kernel loaded with the same constant is shared; the others are
        # loaded here, once their registers are free (the graph starts then).
        keys = [("s", value) for value in scalars] + list(dict.fromkeys(
            _vector_key(v) for v in vectors))
        calendar = self.calendar
        self.registers = []
        missing = []
        ready = self.start
        for key in keys:
            register = calendar.shared_register(key, self.start)
            if register is None:
                missing.append(key)
            else:
                self.registers.append(register)
                self.bind_constant(key, register, vectors)
        if len(missing) + len(self.registers) > self.config.vxm_consts:
            raise ScheduleError(f"the graph needs {len(keys)} constant registers, the VXM has "
                                f"{self.config.vxm_consts}")
        fresh = []
        if missing:
            fresh, self.start = calendar.registers(len(missing), self.start)
            self.registers += fresh
            ready = self.start
        alus = self.config.vxm_alus
        loads = list(zip(missing, fresh))
        scalar_loads = [(key, register) for key, register in loads if key[0] == "s"]
        for k, (key, register) in enumerate(scalar_loads):
            loaded = place_wide_constant(calendar, key[1], register, k % alus,
                                         self.start + wide_constant_cycles(self.config) *
                                         (k // alus))
            calendar.loaded(register, key, loaded)
            ready = max(ready, loaded)
            self.bind_constant(key, register, vectors)
        # Per-lane vectors: four planes in one hemisphere's slices, loaded one per cycle.
        start = ready
        vector_loads = [(key, register) for key, register in loads if key[0] == "v"]
        for k, (key, register) in enumerate(vector_loads):
            if len(self.slices(Hemisphere.WEST)) < 4:
                raise ScheduleError("constant vectors need four MEM slices in a hemisphere")
            constant = next(v for v in vectors if _vector_key(v) == key)
            loaded = self.constant_vector(
                constant, register, start + 2 * MEM_READ_LATENCY + self.config.mem_slices + k)
            calendar.loaded(register, key, loaded)
            self.bind_constant(key, register, vectors)
            ready = max(ready, loaded)
        # A shared register may have been loaded after the start: wait for the latest.
        for register in self.registers:
            ready = max(ready, calendar.register_ready(register))
        return ready

    def bind_constant(self, key, register, vectors):
        """Operands of constant ``key`` (a scalar, or every constant vector of its lanes) read
        ``register``."""
        if key[0] == "s":
            self.const_regs[key] = register
        for v in vectors:
            if _vector_key(v) == key:
                self.const_regs[("v", id(v))] = register

    def constant_vector(self, constant, register, when):
        """Load the per-lane ``constant`` into ``register`` by an LDC on ALU 0 at the first
        cycle from ``when`` at which it and the reads of its four planes (from the west
        hemisphere's first four slices) are free; returns the cycle from which it is ready."""
        calendar = self.calendar
        slices = self.slices(Hemisphere.WEST)[:4]
        direction = Hemisphere.WEST.toward_centre
        tensor = Tensor("constant", DType.I32, (1, self.lanes), self.lanes)
        for plane, slice_index in enumerate(slices):
            tensor.place(0, plane, slice_index, self.sram.allocate(slice_index, 1))
        self.schedule.constant(tensor, np.resize(vector.wrap(constant.values, DType.I32),
                                                 self.lanes)[None, :])
        while True:
            mark = calendar.checkpoint()
            try:
                for plane in range(len(slices)):
                    self.read(tensor, 0, plane, when, plane, direction)
                calendar.issue("vxm.alu0", when, encode(
                    QueueKind.VXM_ALU, VectorOp.LDC, stype=DType.I32, dtype=DType.I32,
                    a=Operand.stream(direction, 0), imm=register))
                break
            except ScheduleError:
                calendar.rollback(mark)
                when += 1
        # An LDC acts in its first cycle, folded or not: readable VXM_LATENCY cycles on.
        return when + VXM_LATENCY

    def read(self, tensor, v, plane, when, stream, direction, count=1, step=1):
        """Reserve the ``count`` READs, one per issue interval from ``when``, that bring plane
        ``plane`` of ``tensor``'s vector ``v`` and the words after it, ``step`` addresses apart
        in one slice, to the VXM on ``stream``; returns the cycle of the last READ (raises
        :class:`ScheduleError` if a slot or register is taken)."""
        slice_index, address = tensor.location(v, plane)
        unit = self.plan.mem_units[slice_index]
        read = issue_for_arrival(when, MEM_READ_LATENCY, unit.position, self.vxm)
        every = self.interval
        busy = self.calendar.first_busy(f"{unit.name}.rd", read, every * (count - 1) + 1)
        if busy is not None:
            raise _Retry(busy - read + 1)
        self.calendar.issue(f"{unit.name}.rd", read, encode(
            QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=stream, dir=direction),
            count, step, every - 1)
        for k in range(count):
            self.calendar.reserve(Transfer(direction, [stream], unit.position, self.vxm,
                                           read + every * k, MEM_READ_LATENCY))
        return read + every * (count - 1)

    # ---- Passes. ----

    def pass_levels(self, nodes):
        """Levels within a pass (a list of nodes in topological order): as soon as possible,
        then as late as its in-pass consumers allow, so skip connections need fewer MOVs."""
        members = {id(n) for n in nodes}
        level = {}
        for node in nodes:
            parents = [level[id(o)] for o in self.operands[id(node)]
                       if isinstance(o, Value) and id(o) in members]
            level[id(node)] = 1 + max(parents) if parents else 0
        for node in reversed(nodes):
            later = [level[id(c)] for c in self.consumers[id(node)] if id(c) in members]
            if later:
                level[id(node)] = max(level[id(node)], min(later) - 1)
        return level

    def delays(self, node, nodes, level):
        """Levels at which ``node``'s result must be re-presented by MOVs within the pass."""
        members = {id(n) for n in nodes}
        deepest = max((level[id(c)] for c in self.consumers[id(node)] if id(c) in members),
                      default=level[id(node)])
        return list(range(level[id(node)] + 1, deepest))

    def alus_needed(self, nodes):
        level = self.pass_levels(nodes)
        return len(nodes) + sum(len(self.delays(n, nodes, level)) for n in nodes)

    def passes(self):
        """Cut the node groups, in topological order, into runs that fit the ALUs. A pass is a
        list of groups (a node stays in the pass of the MOVs that widen its operands)."""
        result, current = [], []
        for group in self.groups:
            if current and self.alus_needed(sum(current + [group], [])) > self.config.vxm_alus:
                result.append(current)
                current = []
            current.append(group)
            if self.alus_needed(sum(current, [])) > self.config.vxm_alus:
                raise ScheduleError(f"{group[-1]!r} alone needs "
                                    f"{self.alus_needed(sum(current, []))} ALUs; the VXM has "
                                    f"{self.config.vxm_alus}")
        return result + [current]

    # ---- Resources. ----

    def stream_class(self, level):
        """Levels whose vectors can meet on a stream at the VXM share a class: vector ``v`` of
        level ``r`` is there at ``t0 + at(r, v)``, and ``at(r1, v1) == at(r2, v2)`` needs
        ``r1 - r2`` to be a multiple of ``interval / gcd(interval, latency)`` (every level, 1,
        when the ALUs are not folded)."""
        return level % (self.interval // math.gcd(self.interval, self.latency))

    def free_group(self, used, direction, planes, segment, level):
        """The lowest aligned group of ``planes`` streams of ``direction`` free in ``used`` on
        ``segment`` (``"in"``: from the MEM slices to the VXM; ``"out"``: from the VXM on)
        for the vectors of ``level``'s class, or ``None``. Values flowing in and out use
        disjoint positions of a stream, so the two segments never meet."""
        dtype = DType.of_bytes(planes)
        key = (direction, segment, self.stream_class(level))
        for base in range(0, self.config.streams, planes):
            if stream_group_ok(self.config, base, dtype) and \
                    not any((*key, base + k) in used for k in range(planes)):
                return base
        return None

    def stream_group(self, used, direction, planes, segment, level):
        """Claim :meth:`free_group` in ``used``; raises :class:`ScheduleError` when there is
        none."""
        base = self.free_group(used, direction, planes, segment, level)
        if base is None:
            raise ScheduleError(f"no {planes} free adjacent {direction.name.lower()}ward "
                                f"streams left in one pass")
        key = (direction, segment, self.stream_class(level))
        used.update((*key, base + k) for k in range(planes))
        return base

    def by_free_slices(self, busy):
        """The hemispheres, the one with more slices outside ``busy`` first."""
        return sorted((Hemisphere.WEST, Hemisphere.EAST),
                      key=lambda h: -len([i for i in self.slices(h) if i not in busy]))

    def free_slices(self, busy, hemisphere, count, words=0, after=None):
        """``count`` slices of ``hemisphere`` outside ``busy``, each with ``words`` consecutive
        words free for writes after cycle ``after``, or ``None``; slices whose read port
        another kernel keeps busy while the value will be read (a GEMM streaming its
        activations) only when no other has room."""
        first = self.start if after is None else after
        window = 2 * self.vectors + _STREAMED_WINDOW

        def streaming(i):
            name = f"{self.plan.mem_units[i].name}.rd"
            return 2 * self.calendar.busy(name, first, first + window) > window

        candidates = sorted(self.slices(hemisphere), key=streaming)
        chosen = [i for i in candidates if i not in busy and
                  (not words or self.sram.fits(i, words, after=after))][:count]
        return chosen if len(chosen) == count else None

    def run(self):
        self.prepare()
        start = None                    # constants load when the first pass is allocated
        self.outputs = {id(n): name for name, n in self.graph.outputs.items()}
        self.stored = {}                # (id(source), id(consumer)) -> Tensor
        # Group -> slices holding what its nodes read from SRAM besides host inputs: tensors
        # earlier kernels wrote, and results of earlier passes. A value stored for the group
        # goes elsewhere, so that the group's reads never share a slice.
        self.reserved = {}
        for name in self.external:
            self.reserve_external(name)
        self.output_store = {}
        self.input_copies = {}
        self.copies = []                # inputs copied away from a shared slice
        copied = set()
        pending = self.passes()
        self.pass_lists = []
        while pending:
            groups = pending.pop(0)
            nodes = sum(groups, [])
            saved = self.save()
            try:
                allocation = self.allocate(nodes)
            except _SharedSlice as shared:
                self.restore(saved)
                copy = None
                if len(groups) == 1 or (self.copy_first and shared.name not in copied and
                                        self.external[shared.name].vectors < self.vectors):
                    # Copy this input away from the other reads rather than split the pass,
                    # when it is smaller than the pass (read broadcast: one vector per row),
                    # and once (an input read at two levels of a pass shares its slices with
                    # itself, and only a split helps).
                    copied.add(shared.name)
                    try:
                        copy = _copy(self.schedule, self.external[shared.name], shared.busy,
                                     self.start)
                    except ScheduleError:
                        if len(groups) == 1:
                            raise
                if copy is not None:
                    self.external[shared.name] = copy
                    self.copies.append(copy)
                    self.reserve_external(shared.name)
                    pending.insert(0, groups)
                    continue
                middle = len(groups) // 2
                pending[:0] = [groups[:middle], groups[middle:]]
                continue
            except ScheduleError:
                if len(groups) == 1:
                    raise
                # Not enough slices or streams for these nodes at once: split them.
                self.restore(saved)
                middle = len(groups) // 2
                pending[:0] = [groups[:middle], groups[middle:]]
                continue
            if start is None:
                # The constants take their registers just before the first pass can start
                # (when its inputs are written), not while earlier kernels still run.
                self.start = max(self.start, self.data_ready(allocation[3]) - _CONSTANT_LEAD)
                start = self.constants()
                self.last_cycle = start
            start = self.place_pass(nodes, *allocation, start)
            self.pass_lists.append(nodes)
        self.alus_used = max(self.alus_needed(nodes) for nodes in self.pass_lists)
        if self.registers:
            self.calendar.release_registers(self.registers, self.last_cycle)
        # Intermediate results between passes, and copies of inputs, are dead now.
        outputs = {id(t) for t in self.output_store.values()}
        dead = {id(t): t for t in self.stored.values() if id(t) not in outputs}
        dead.update({id(t): t for t in self.copies})
        for tensor in dead.values():
            self.schedule.release(tensor)
        for name, copies in self.input_copies.items():
            for tensor in copies:
                if name in self.fixed:
                    self.schedule.constant(tensor, self.fixed[name])
                else:
                    self.schedule.input(name, tensor)
        return self.output_store

    def reserve_external(self, name):
        """Reserve the slices of external input ``name`` for the groups that read it."""
        slices = {s for _, _, s, _ in self.external[name].words}
        for group in self.groups:
            if any(isinstance(operand, Value) and operand.name == name
                   for node in group for operand in self.operands[id(node)]):
                self.reserved.setdefault(id(group[-1]), set()).update(slices)

    def save(self):
        return (self.calendar.checkpoint(), dict(self.stored),
                {k: set(v) for k, v in self.reserved.items()}, dict(self.output_store),
                {k: list(v) for k, v in self.input_copies.items()}, self.temporaries)

    def restore(self, saved):
        (mark, self.stored, self.reserved, self.output_store, self.input_copies,
         self.temporaries) = saved
        self.calendar.rollback(mark)

    def input_tensor(self, operand, read_busy, planes, streams_free=lambda side: True):
        """The tensor a pass reads input ``operand`` from: the one an earlier kernel wrote, or
        a new copy the host loads (only the ``planes`` planes the pass reads), in a hemisphere
        whose streams towards the VXM have room (``streams_free(hemisphere)``) where one
        does."""
        if operand.name in self.external:
            return self.external[operand.name]
        order = sorted(self.by_free_slices(read_busy), key=lambda side: not streams_free(side))
        for hemisphere in order:
            slices = self.free_slices(read_busy, hemisphere, planes)
            if slices:
                break
        else:
            raise ScheduleError(f"no {planes} free MEM slices in a hemisphere to read "
                                f"input {operand.name!r}")
        # The host loads it before the run: words no earlier kernel released.
        tensor = planar_tensor(self.sram, operand.name, operand.dtype,
                               self.graph.input_shape(operand.name, self.lanes), self.lanes,
                               slices)
        self.input_copies.setdefault(operand.name, []).append(tensor)
        return tensor

    def flow(self, operand, tensor, planes):
        """A :class:`_Flow` reading ``tensor``, the value of ``operand`` (an input, broadcast
        or not, or a node's stored result), for every vector of a pass."""
        broadcast = operand.broadcast if operand.kind == "input" else None
        tiles = self.tiles
        sources = [{None: v, "rows": v // tiles, "cols": v % tiles}[broadcast]
                   for v in range(self.vectors)]
        sides = []
        for source in sources:
            found = {self.hemisphere_of(tensor.location(source, b)[0]) for b in range(planes)}
            if len(found) != 1:
                raise ScheduleError(f"vector {source} of tensor {tensor.name!r} has planes in "
                                    f"both hemispheres; the VXM reads a vector from one")
            sides.append(found.pop())
        return _Flow(tensor, planes, sources, sides)

    def alu_map(self, nodes, alus, count, window):
        """``{pass ALU: physical ALU}`` for the ``count`` ALUs a pass uses: a ``LUT`` node goes
        to an ALU already holding its table, where one does; the rest, in order, to the ALUs
        with the fewest busy cycles in ``window`` (``(first, end)``)."""
        holders = {}
        for alu in range(self.config.vxm_alus):
            held = self.calendar.table(alu)
            if held is not None:
                holders.setdefault(held[0], alu)
        mapping, claimed = {}, set()
        for node in nodes:
            if node.table is not None and holders.get(node.table.name) not in (None, *claimed):
                mapping[alus[id(node)]] = holders[node.table.name]
                claimed.add(holders[node.table.name])
        first, end = window
        busy = {alu: self.calendar.busy(f"vxm.alu{alu}", first, end)
                for alu in range(self.config.vxm_alus)}
        free = sorted((alu for alu in range(self.config.vxm_alus) if alu not in claimed),
                      key=lambda alu: (busy[alu], alu))
        for alu in range(count):
            if alu not in mapping:
                mapping[alu] = free.pop(0)
        return mapping

    def load_tables(self, nodes, alus, level):
        """Load the table of every ``LUT`` node of a pass into its ALU, unless it holds it
        already; returns the earliest ``t0`` at which every table is ready for its node."""
        earliest = 0
        for node in nodes:
            if node.table is None:
                continue
            alu = alus[id(node)]
            held = self.calendar.table(alu)
            if held is not None and held[0] == node.table.name:
                ready = held[1]
            else:
                tensor = self.schedule.table(node.table.name, node.table.values)
                # As early as the ALU's last table allows: the table is resident (or loaded
                # with the program), and a load while the graph's inputs are still being
                # written does not hold the graph up.
                ready = place_table(self.calendar, node.table.name, tensor, alu, 0)
            earliest = max(earliest, ready - self.at(level[id(node)], 0))
        return earliest

    def allocate(self, nodes):
        """Assign ALUs, MEM slices, SRAM and streams to one pass; raises
        :class:`ScheduleError` when they run out."""
        members = {id(n) for n in nodes}
        level = self.pass_levels(nodes)
        alus = {}
        delay = {}                      # (id(node), level) -> ALU of the MOV presenting it
        next_alu = 0
        for node in nodes:
            alus[id(node)] = next_alu
            next_alu += 1
            for at in self.delays(node, nodes, level):
                delay[(id(node), at)] = next_alu
                next_alu += 1
        used_streams = set()
        read_busy, write_busy = set(), set()

        # Flows into the pass: (source, level) -> the consumer whose copy is read, and planes.
        inflows = {}
        for node in nodes:
            for operand in self.operands[id(node)]:
                if not isinstance(operand, Value) or operand.kind == "vector":
                    continue
                if id(operand) in members:
                    continue
                key = (id(operand), level[id(node)])
                _, reader, planes = inflows.get(key, (operand, node, 0))
                inflows[key] = (operand, reader, max(planes, node.stype.bytes))
        flows = {}
        # Tensors already in SRAM (intermediates from earlier passes, inputs an earlier kernel
        # wrote) have fixed slices; place them first.
        for key, (operand, reader, planes) in sorted(
                inflows.items(), key=lambda item: not (item[1][0].kind == "node" or
                                                       item[1][0].name in self.external)):
            if operand.kind == "node":
                tensor = self.stored[(id(operand), id(reader))]
            else:
                # Only the planes this pass reads are loaded (the low ones).
                tensor = self.input_tensor(operand, read_busy, planes, lambda side: (
                    self.free_group(used_streams, side.toward_centre, planes, "in",
                                    key[1]) is not None))
            flow = self.flow(operand, tensor, planes)
            slices = {tensor.location(source, b)[0] for source in set(flow.sources)
                      for b in range(planes)}
            if slices & read_busy:
                if operand.kind == "input" and operand.name in self.external:
                    raise _SharedSlice(operand.name, set(read_busy))
                raise ScheduleError("two values one pass reads share a MEM slice")
            read_busy |= slices
            flow.bases = {side: self.stream_group(used_streams, side.toward_centre, planes,
                                                  "in", key[1])
                          for side in dict.fromkeys(flow.sides)}
            flows[key] = flow

        # Flows out of the pass: graph outputs and values later passes read. One copy serves
        # them all.
        outflows = {}
        for node in nodes:
            later = [c for c in self.consumers[id(node)] if id(c) not in members]
            if not later and id(node) not in self.outputs:
                continue
            planes = node.dtype.bytes
            name = self.outputs.get(id(node))
            after = self.written_after(node, members, level, flows)
            if name in self.into:
                tensor = self.into[name]
                chosen = sorted({s for _, _, s, _ in tensor.words})
            elif name in self.layouts:
                chosen = self.layouts[name]
                tensor = self.interleaved(name, node.dtype, chosen, after)
            else:
                chosen = self.output_slices(node, later, write_busy, after)
                if name is None:
                    name = f"t{self.temporaries}"
                    self.temporaries += 1
                tensor = self.planar(name, node.dtype, chosen, after)
            if set(chosen) & write_busy:
                raise ScheduleError(f"output {name!r} is laid out over slices another value "
                                    f"of the pass writes")
            write_busy |= set(chosen)
            sides = [self.hemisphere_of(tensor.location(v, 0)[0]) for v in range(self.vectors)]
            bases = {side: self.stream_group(used_streams, side.away_from_centre, planes,
                                             "out", level[id(node)])
                     for side in dict.fromkeys(sides)}
            if id(node) in self.outputs:
                self.output_store[name] = tensor
            for consumer in later:
                self.stored[(id(node), id(consumer))] = tensor
                self.reserved.setdefault(self.group_of[id(consumer)], set()).update(chosen)
            outflows[id(node)] = _Outflow(tensor, sides, bases)
        # Physical ALUs: those least busy while the pass will run (from when its inputs are
        # written, for as long as its vectors take to go through).
        ready = max([self.start] + [written + 1 for flow in flows.values()
                                    for (_, plane), written in flow.tensor.written.items()
                                    if plane < flow.planes])
        window = (ready, ready + self.at(max(level.values()) + 1, self.vectors))
        physical = self.alu_map(nodes, alus, next_alu, window)
        alus = {key: physical[alu] for key, alu in alus.items()}
        delay = {key: physical[alu] for key, alu in delay.items()}
        return level, alus, delay, flows, outflows

    def written_after(self, node, members, level, flows):
        """A cycle before every write of ``node``'s output in its pass: each output vector is
        computed from a vector of every flow ``node`` depends on, so it is written after the
        first-written word of each flow that kernels wrote whole (the words of tensors read
        for the last time before that cycle may hold it)."""
        bound = self.start
        stack, seen = [node], set()
        while stack:
            current = stack.pop()
            for operand in self.operands[id(current)]:
                if not isinstance(operand, Value) or operand.kind == "vector":
                    continue
                if id(operand) in members:
                    if id(operand) not in seen:
                        seen.add(id(operand))
                        stack.append(operand)
                    continue
                flow = flows.get((id(operand), level[id(current)]))
                if flow is None:
                    continue
                written = [flow.tensor.written.get((source, b)) for source in set(flow.sources)
                           for b in range(flow.planes)]
                if written and None not in written:
                    bound = max(bound, min(written))
        return bound

    def output_slices(self, node, later, write_busy, after):
        """Slices for ``node``'s planes, in one hemisphere, outside what the pass writes, what
        the graph must avoid and what its consumers ``later`` read, with room for a plane
        written after cycle ``after``."""
        # Pack a consumer group's stored operands into one hemisphere where possible, so the
        # other stays free for wide inputs of the same pass.
        groups = {self.group_of[id(c)] for c in later}
        reserved = set().union(*(self.reserved.get(g, set()) for g in groups))
        order = sorted(self.by_free_slices(write_busy), key=lambda h: -len(
            [i for i in self.slices(h) if i in reserved]))
        avoid = write_busy.union(self.avoid, *(self.reserved.get(self.group_of[id(c)], set())
                                              for c in later))
        for hemisphere in order:
            chosen = self.free_slices(avoid, hemisphere, node.dtype.bytes, self.vectors, after)
            if chosen is not None:
                return chosen
        for hemisphere in order:        # none has room: the allocation names the full slice
            chosen = self.free_slices(avoid, hemisphere, node.dtype.bytes)
            if chosen is not None:
                return chosen
        # The consumers' other operands take every slice: share one (the consumers' pass is
        # then split, or an input copied away, where the two meet).
        avoid = write_busy.union(self.avoid)
        for hemisphere in order:
            chosen = self.free_slices(avoid, hemisphere, node.dtype.bytes, self.vectors, after)
            if chosen is not None:
                return chosen
        raise ScheduleError(f"not enough free MEM slices to write {node!r}")

    def place_pass(self, nodes, level, alus, delay, flows, outflows, earliest):
        """Time one pass: at the first cycle ``t0`` from ``earliest`` at which everything it
        needs is free, on whichever ALUs are free then (a ``LUT`` keeps the ALU holding its
        table); returns the earliest cycle for the next pass (which reads what this one
        writes only once it is written)."""
        members = {id(n) for n in nodes}
        n = self.vectors
        plan = self.plan
        vxm = self.vxm
        relabel = {}                    # ALU the allocation chose -> ALU used at t0

        def operand_for(node, operand, v):
            if not isinstance(operand, Value):
                value = int(vector.read_as(operand, node.stype))
                if ("s", value) in self.const_regs:
                    return Operand.const(self.const_regs[("s", value)]), None
                return Operand.immediate(), value
            if operand.kind == "vector":
                return Operand.const(self.const_regs[("v", id(operand))]), None
            if id(operand) in members:
                if level[id(operand)] == level[id(node)] - 1:
                    return Operand.alu(relabel[alus[id(operand)]]), None
                return Operand.alu(relabel[delay[(id(operand), level[id(node)] - 1)]]), None
            flow = flows[(id(operand), level[id(node)])]
            side = flow.sides[v]
            return Operand.stream(side.toward_centre, flow.bases[side]), None

        def node_word(node, v):
            fields = {"stype": node.stype, "dtype": node.dtype, "dst_en": 0,
                      "dst_dir": Direction.EAST, "dst_stream": 0, "imm": 0}
            for name, operand in zip("abc", self.operands[id(node)]):
                fields[name], value = operand_for(node, operand, v)
                if value is not None:
                    fields["imm"] = value
            if id(node) in outflows:
                out = outflows[id(node)]
                side = out.sides[v]
                fields.update(dst_en=1, dst_dir=side.away_from_centre, dst_stream=out.bases[side])
            return encode(QueueKind.VXM_ALU, node.op, **fields)

        def build_alu_runs(first, end):
            """``[(queue, cycle relative to t0, word, count)]`` of vectors ``first .. end - 1``
            under ``relabel``; a node's word changes only where its input or output vectors
            change hemisphere."""
            runs = []
            for node in nodes:
                queue = f"vxm.alu{relabel[alus[id(node)]]}"
                v = first
                while v < end:
                    word = node_word(node, v)
                    count = 1
                    while v + count < end and node_word(node, v + count) == word:
                        count += 1
                    runs.append((queue, self.at(level[id(node)], v), word, count))
                    v += count
                for at in self.delays(node, nodes, level):
                    source = (alus[id(node)] if at == level[id(node)] + 1
                              else delay[(id(node), at - 1)])
                    runs.append((f"vxm.alu{relabel[delay[(id(node), at)]]}",
                                 self.at(at, first),
                                 encode(QueueKind.VXM_ALU, VectorOp.MOV, stype=node.dtype,
                                        dtype=node.dtype, a=Operand.alu(relabel[source])),
                                 end - first))
            return runs

        def build_read_runs(first, end):
            """Reads of vectors ``first .. end - 1``: runs of words of one slice at a constant
            step (0 for a broadcast word read again); (flow, plane, first vector, count,
            step)."""
            runs = []
            for key, flow in flows.items():
                for b in range(flow.planes):
                    words = [flow.tensor.location(source, b) for source in flow.sources]
                    v = first
                    while v < end:
                        slice_index, address = words[v]
                        step = words[v + 1][1] - address if v + 1 < end else 0
                        count = 1
                        while v + count < end and words[v + count] == (
                                slice_index, address + step * count):
                            count += 1
                        runs.append((key, b, v, count, step if count > 1 else 0))
                        v += count
            return runs

        # Each ALU of the allocation and the cycles (relative to t0) it is busy; a LUT's stays.
        slots = [(alus[id(node)], self.at(level[id(node)], 0), node.table is not None)
                 for node in nodes]
        slots += [(delay[(id(node), at)], self.at(at, 0), False)
                  for node in nodes for at in self.delays(node, nodes, level)]

        # The vectors go through in chunks, each at the first cycle where it fits (a whole
        # pass rarely finds its ALUs, ports and streams free for hundreds of cycles while
        # other kernels run). ``t0`` is the cycle vector 0 would enter: vector v at
        # t0 + at(0, v).
        tables_ready = self.load_tables(nodes, alus, level)
        first_t0 = None
        last_reads = {}
        for first in range(0, n, _CHUNK):
            end = min(n, first + _CHUNK)
            read_runs = build_read_runs(first, end)
            # Not before every table is loaded and every word it reads is written (a READ in
            # the cycle after the WRITE returns it).
            t0 = max(earliest, tables_ready) - first
            for key, b, v, count, _ in read_runs:
                flow = flows[key]
                position = plan.mem_units[flow.tensor.location(flow.sources[v], b)[0]].position
                for k in range(v, v + count):
                    written = flow.tensor.written.get((flow.sources[k], b))
                    if written is not None:
                        read = issue_for_arrival(self.at(key[1], k), MEM_READ_LATENCY,
                                                 position, vxm)
                        t0 = max(t0, written + MEM_WRITE_TO_READ - read)
            built = {}
            while True:
                mapping = self.free_alus(t0 + self.at(0, first), slots,
                                         self.at(0, end - first))
                if isinstance(mapping, int):
                    t0 += mapping
                    continue
                wait = self.ports_free(t0, read_runs, flows)
                if wait:
                    t0 += wait
                    continue
                if not self.free_streams(t0, flows, outflows, level, first, end):
                    t0 += 1
                    continue
                relabel.clear()
                relabel.update(mapping)
                key = (tuple(sorted(mapping.items())),
                       tuple(tuple(sorted(f.bases.items(), key=lambda i: i[0].value))
                             for f in [*flows.values(), *outflows.values()]))
                if key not in built:
                    built[key] = build_alu_runs(first, end)
                mark = self.calendar.checkpoint()
                try:
                    reads = self.reserve_pass(t0, built[key], read_runs, flows, outflows,
                                              level, first, end)
                    break
                except _Retry as retry:
                    self.calendar.rollback(mark)
                    t0 += retry.skip
                except ScheduleError:
                    self.calendar.rollback(mark)
                    t0 += 1
            for flow_key, last in reads.items():
                last_reads[flow_key] = max(last, last_reads.get(flow_key, last))
            for node in nodes:
                if node.table is not None:
                    self.calendar.use_table(alus[id(node)],
                                            t0 + self.at(level[id(node)], end - 1))
            for node_id, out in outflows.items():
                for v, b, slice_index, _ in out.tensor.words:
                    if first <= v < end:
                        when = arrival(self.at(level[node_id], v), self.latency, vxm,
                                       plan.mem_units[slice_index].position)
                        out.tensor.written[(v, b)] = t0 + when
            self.last_cycle = max(self.last_cycle,
                                  t0 + self.at(max(level.values()), end - 1) + 1)
            first_t0 = t0 + self.at(0, first) if first_t0 is None else first_t0
        for flow_key, last in last_reads.items():
            flows[flow_key].tensor.read(last)
        return first_t0

    def data_ready(self, flows):
        """A lower bound on ``t0`` of a pass reading ``flows``: each word after its WRITE."""
        t0 = self.start
        for (_, level), flow in flows.items():
            for v, source in enumerate(flow.sources):
                for b in range(flow.planes):
                    written = flow.tensor.written.get((source, b))
                    if written is not None:
                        slice_index = flow.tensor.location(source, b)[0]
                        t0 = max(t0, written + MEM_WRITE_TO_READ - self.at(level, v) +
                                 self.calendar.read_travel(slice_index, self.vxm))
        return t0

    def free_streams(self, t0, flows, outflows, level, first, end):
        """Choose every flow's and outflow's stream groups (one per hemisphere it uses) for
        vectors ``first .. end - 1`` of a pass whose vector 0 enters in ``t0``: the lowest
        ones on which all its transfers are free, on the calendar and of the pass's other
        groups (which may share a stream where their values pass at other cycles or
        positions): each group chosen is reserved on the calendar until all are, then
        released. Sets their ``bases``; returns whether every group found one."""
        calendar = self.calendar
        plan = self.plan
        leg = calendar.leg
        groups = []
        for (node_id, lvl), flow in flows.items():
            for side in dict.fromkeys(flow.sides[first:end]):
                legs = [[] for _ in range(flow.planes)]
                direction = side.toward_centre
                for v in range(first, end):
                    if flow.sides[v] is not side:
                        continue
                    for b in range(flow.planes):
                        unit = plan.mem_units[flow.tensor.location(flow.sources[v], b)[0]]
                        read = issue_for_arrival(t0 + self.at(lvl, v), MEM_READ_LATENCY,
                                                 unit.position, self.vxm)
                        legs[b].append(leg(direction, unit.position, self.vxm, read,
                                           MEM_READ_LATENCY))
                groups.append((flow, side, direction, flow.planes, legs))
        for node_id, out in outflows.items():
            words = {}
            for v, b, slice_index, _ in out.tensor.words:
                if first <= v < end:
                    words.setdefault(out.sides[v], []).append((v, b, slice_index))
            for side, found in words.items():
                direction = side.away_from_centre
                legs = [[] for _ in range(out.tensor.planes)]
                for v, b, slice_index in found:
                    legs[b].append(leg(direction, self.vxm,
                                       plan.mem_units[slice_index].position,
                                       t0 + self.at(level[node_id], v), self.latency))
                groups.append((out, side, direction, out.tensor.planes, legs))
        mark = calendar.checkpoint()
        try:
            for owner, side, direction, planes, legs in groups:
                # The group chosen for this chunk before, if still free, keeps the words equal.
                bases = range(0, self.config.streams - planes + 1, planes)
                previous = owner.bases.get(side)
                if previous is not None:
                    bases = [previous] + [b for b in bases if b != previous]
                for base in bases:
                    if all(calendar.legs_free(direction, base + b, legs[b])
                           for b in range(planes)):
                        owner.bases[side] = base
                        for b in range(planes):
                            calendar.reserve_legs(direction, base + b, legs[b])
                        break
                else:
                    return False
            return True
        finally:
            calendar.rollback(mark)

    def ports_free(self, t0, read_runs, flows):
        """``0`` if every read port of vectors' READs is free at ``t0``, else the number of
        cycles to wait for the first busy one."""
        plan = self.plan
        for key, b, v, count, _ in read_runs:
            flow = flows[key]
            unit = plan.mem_units[flow.tensor.location(flow.sources[v], b)[0]]
            read = issue_for_arrival(t0 + self.at(key[1], v), MEM_READ_LATENCY, unit.position,
                                     self.vxm)
            busy = self.calendar.first_busy(f"{unit.name}.rd", read,
                                            self.interval * (count - 1) + 1)
            if busy is not None:
                return busy - read + 1
        return 0

    def free_alus(self, t0, slots, n):
        """``{allocated ALU: ALU}`` giving every slot ``(ALU, first cycle relative to t0,
        fixed)`` an ALU free for its ``n`` cycles from ``t0`` (a fixed slot keeps its own), or
        the number of cycles to wait before one can fit."""
        calendar = self.calendar
        mapping, used = {}, set()
        for alu, first, fixed in sorted(slots, key=lambda slot: not slot[2]):
            candidates = [alu] if fixed else [alu] + [a for a in range(self.config.vxm_alus)
                                                      if a != alu]
            skip = None
            for candidate in candidates:
                if candidate in used:
                    continue
                busy = calendar.first_busy(f"vxm.alu{candidate}", t0 + first, n)
                if busy is None:
                    mapping[alu] = candidate
                    used.add(candidate)
                    break
                wait = busy - t0 - first + 1
                skip = wait if skip is None else min(skip, wait)
            else:
                return skip or 1
        return mapping

    def reserve_pass(self, t0, alu_runs, read_runs, flows, outflows, level, first, end):
        """Reserve every slot and stream register of vectors ``first .. end - 1`` of a pass
        whose vector 0 enters in ``t0``; returns the last read cycle of each flow. Raises
        :class:`ScheduleError` at the first one taken."""
        calendar = self.calendar
        every = self.interval
        for queue, relative, word, count in alu_runs:
            busy = calendar.first_busy(queue, t0 + relative, every * count)
            if busy is not None:
                raise _Retry(busy - t0 - relative + 1)
        for queue, relative, word, count in alu_runs:
            calendar.issue(queue, t0 + relative, word, count, gap=every - 1)
        last_reads = {}
        for key, b, v, count, step in read_runs:
            flow = flows[key]
            side = flow.sides[v]
            last = self.read(flow.tensor, flow.sources[v], b, t0 + self.at(key[1], v),
                             flow.bases[side] + b, side.toward_centre, count, step)
            last_reads[key] = max(last, last_reads.get(key, last))
        for node_id, out in outflows.items():
            issue = t0 + self.at(level[node_id], 0)
            for (slice_index, b), vectors in _by_slice(out.tensor).items():
                vectors = [(v, address) for v, address in vectors if first <= v < end]
                if not vectors:
                    continue
                unit = self.plan.mem_units[slice_index]
                side = out.sides[vectors[0][0]]
                direction, stream = side.away_from_centre, out.bases[side] + b
                # Runs of vectors at one interval, written to words at one step.
                k = 0
                while k < len(vectors):
                    (v, address), count = vectors[k], 1
                    interval = vectors[k + 1][0] - v if k + 1 < len(vectors) else 1
                    step = vectors[k + 1][1] - address if k + 1 < len(vectors) else 1
                    while (k + count < len(vectors) and vectors[k + count] ==
                           (v + interval * count, address + step * count)):
                        count += 1
                    when = arrival(issue + every * v, self.latency, self.vxm, unit.position)
                    calendar.issue(f"{unit.name}.wr", when, encode(
                        QueueKind.MEM_WRITE, MemWriteOp.WRITE, addr=address, stream=stream,
                        dir=direction), count, step, every * interval - 1)
                    k += count
                for v, _ in vectors:
                    calendar.reserve(Transfer(direction, [stream], self.vxm, unit.position,
                                              issue + every * v, self.latency))
        return last_reads


def _by_slice(tensor):
    """``{(slice, plane): [(vector, address)]}`` of ``tensor``'s words, by vector."""
    found = {}
    for v, b, slice_index, address in sorted(tensor.words):
        found.setdefault((slice_index, b), []).append((v, address))
    return found


def place_graph(schedule, graph, inputs=None, *, constants=None, start=0, avoid=(),
                layouts=None, into=None):
    """Place ``graph`` on ``schedule`` from cycle ``start``.

    ``inputs`` maps input names to tensors earlier kernels wrote (of the input's shape and
    type); ``constants`` maps input names to values fixed in the program (the host loads them
    with it, such as a layer's per-channel multipliers); the other inputs become host inputs of
    the schedule. The graph's outputs are written to slices outside ``avoid`` (where the next
    kernel reads other tensors together with them); ``layouts`` maps an int8 output's name to
    slices it is spread over instead, vector ``v`` in slice ``v mod len(slices)`` (a transpose
    reads 16 vectors at once from 16 slices); ``into`` maps an output's name to a tensor
    already placed (a view of a resident cache), whose words it is written to. Returns
    ``{output name: Tensor}``, and the
    graph's passes and the most ALUs one of them uses.

    A slice's read port reads one word per cycle, so the tensors one pass reads must lie in
    different slices: where two inputs share a slice, one is first copied elsewhere (by a
    graph of one ``MOV``) when it is read broadcast (fewer vectors than the graph), which
    costs one short pass where splitting the pass would store every value crossing the cut;
    otherwise, or when the copy does not help (an input read at two levels of the pass shares
    its slices with itself) or finds no room, the pass is split, and when the copies leave a
    later pass without slices the whole graph is placed again splitting first.
    """
    if not graph.outputs:
        raise GraphError("the graph has no outputs")
    mark = schedule.checkpoint()
    try:
        scheduler = _Scheduler(schedule, graph, inputs, constants, start, avoid, layouts, into,
                               copy_first=True)
        outputs = scheduler.run()
    except ScheduleError:
        # The copies took the slices a later pass needed: split instead.
        schedule.rollback(mark)
        scheduler = _Scheduler(schedule, graph, inputs, constants, start, avoid, layouts, into,
                               copy_first=False)
        outputs = scheduler.run()
    return outputs, len(scheduler.pass_lists), scheduler.alus_used


def _copy(schedule, tensor, avoid, start):
    """``tensor`` copied by the VXM into slices outside ``avoid``."""
    copy = Graph(shape=tensor.shape)
    copy.output("copy", copy.op(VectorOp.MOV, copy.input("x", tensor.dtype)))
    return place_graph(schedule, copy, {"x": tensor}, start=start, avoid=avoid)[0]["copy"]


def compile_graph(graph, config):
    """Schedule ``graph`` alone for ``config``; returns a :class:`GraphKernel`."""
    schedule = Schedule(config)
    outputs, passes, alus_used = place_graph(schedule, graph)
    for name in graph.outputs:
        schedule.output(name, outputs[name])
    return schedule.compile(GraphKernel, graph=graph, passes=passes, alus_used=alus_used)

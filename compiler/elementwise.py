"""Elementwise tensor programs: a graph of VXM operations over tensors in SRAM, scheduled to the
cycle.

Build a :class:`Graph` (inputs, operations, outputs), then :func:`compile_graph` places every
value on MEM slices and streams, times every instruction and predicts the program's length::

    g = Graph(length=1000)
    a, b = g.input("a", DType.I8), g.input("b", DType.I8)
    total = g.op(VectorOp.ADD, a, b, dtype=DType.I32)
    g.output("y", g.requantize(total, multiplier=1 << 30, shift=-3))
    kernel = compile_graph(g, config)
    program = kernel.program({"a": ..., "b": ...})     # a Program for either engine
    kernel.predicted_cycles

How it is scheduled (all timing rules from :mod:`isa.timing`):

- Every operation node gets its own ALU and processes one vector per cycle: vector ``v`` of a
  node at level ``r`` (its depth in the graph) issues at ``t0 + v + 2 r``, so it finds its
  operands in the result registers of the nodes one level up exactly when they are written.
  A node feeding another more than one level down goes through a chain of MOV nodes.
- A tensor in SRAM is stored as byte planes (an int32 tensor as four), each plane in its own
  MEM slice, all in one hemisphere, so that the planes arrive side by side on adjacent streams;
  reads are timed so vector ``v`` arrives exactly when its consumer issues. Inputs read at two
  different levels are loaded twice.
- Results leave the VXM on a stream group and are written by slices downstream as they pass.
- A graph needing more ALUs (or slices, or streams) than the chip has is split into passes by
  level; values crossing a pass boundary go through SRAM.
- Scalar constants are immediates when they fit 26 bits; wider ones and per-lane constant
  vectors go into constant registers, loaded in a prologue.
"""

from dataclasses import dataclass, field

import numpy as np

from golden import vector
from isa.formats import FORMATS, Instruction, Operand, spec_for
from isa.geometry import Hemisphere, QueueKind, floorplan
from isa.legality import stream_group_ok
from isa.opcodes import DType, Direction, MemReadOp, MemWriteOp, OperandKind, VectorOp
from isa.timing import MEM_READ_LATENCY, MEM_WRITE_TO_READ, VXM_LATENCY, arrival, issue_for_arrival
from .program import Program, Region
from .queues import QueueBuilder, ScheduleError

__all__ = ["Graph", "Value", "Kernel", "compile_graph", "ScheduleError", "GraphError"]

_IMMEDIATE_BITS = FORMATS["vector"].positions["imm"][1].width


class GraphError(ValueError):
    """A malformed graph (wrong operand count, unsupported operation, mismatched graph)."""


@dataclass(eq=False)
class Value:
    """A tensor in a :class:`Graph`: an input, an operation's result or a constant vector."""
    graph: object
    kind: str                   # "input", "node" or "vector"
    dtype: DType
    name: str = ""
    op: VectorOp = None
    stype: DType = None
    operands: tuple = ()
    values: np.ndarray = None   # per-lane constants (kind "vector")

    def __repr__(self):
        return f"<{self.kind} {self.name or self.op.name} {self.dtype.name.lower()}>"


class Graph:
    """An elementwise program over tensors of ``length`` elements.

    Operands of :meth:`op` are :class:`Value` s of this graph or Python ints (scalar constants,
    read as the operation's source type).
    """

    def __init__(self, length):
        if not isinstance(length, int) or length < 1:
            raise GraphError(f"tensor length must be a positive integer, not {length!r}")
        self.length = length
        self.inputs = {}
        self.nodes = []
        self.outputs = {}

    def input(self, name, dtype):
        if name in self.inputs:
            raise GraphError(f"input {name!r} defined twice")
        value = Value(self, "input", dtype, name=name)
        self.inputs[name] = value
        return value

    def constant_vector(self, values, dtype=DType.I32):
        """Per-lane constants (one value per lane, the same for every vector)."""
        return Value(self, "vector", dtype, values=np.asarray(values, dtype=np.int64))

    def op(self, op, *operands, stype=None, dtype=None):
        """Add operation ``op``; ``stype`` defaults to the widest operand type, ``dtype`` to
        ``stype``."""
        spec = spec_for(QueueKind.VXM_ALU, getattr(op, "value", None))
        if spec is None or not isinstance(op, VectorOp):
            raise GraphError(f"{op!r} is not a VXM operation")
        if not spec.result or op is VectorOp.LUT:
            raise GraphError(f"{op.name} is not supported in elementwise graphs")
        if len(operands) != len(spec.operands):
            raise GraphError(f"{op.name} takes {len(spec.operands)} operand(s), "
                             f"got {len(operands)}")
        for operand in operands:
            if isinstance(operand, Value):
                if operand.graph is not self:
                    raise GraphError(f"operand {operand!r} belongs to another graph")
            elif not isinstance(operand, (int, np.integer)) or isinstance(operand, bool):
                raise GraphError(f"operand {operand!r} is neither a value nor an integer")
        if stype is None:
            widths = [o.dtype for o in operands if isinstance(o, Value)]
            stype = max(widths, key=lambda t: t.bytes) if widths else DType.I32
        node = Value(self, "node", dtype or stype, op=op, stype=stype,
                     operands=tuple(int(o) if not isinstance(o, Value) else o
                                    for o in operands))
        self.nodes.append(node)
        return node

    def requantize(self, value, *, multiplier, shift, dtype=DType.I8):
        """TFLite MultiplyByQuantizedMultiplier of an int32 ``value`` (scalar or per-lane
        ``multiplier`` and ``shift``), saturated to ``dtype``."""
        return self.op(VectorOp.REQ, value, multiplier, shift, stype=DType.I32, dtype=dtype)

    def output(self, name, value):
        if not isinstance(value, Value) or value.kind != "node":
            raise GraphError(f"output {name!r} must be an operation's result")
        if name in self.outputs:
            raise GraphError(f"output {name!r} defined twice")
        self.outputs[name] = value

    def evaluate(self, inputs):
        """The NumPy reference: ``{output: values}``, computed with :mod:`golden.vector`."""
        self._check_inputs(inputs)
        lanes_needed = any(v.kind == "vector" for n in self.nodes for v in n.operands
                           if isinstance(v, Value))
        results = {}

        def value_of(operand, stype, lanes):
            if not isinstance(operand, Value):
                return np.full(self.length, operand, dtype=np.int64)
            if operand.kind == "input":
                return vector.wrap(np.asarray(inputs[operand.name], dtype=np.int64),
                                   operand.dtype)
            if operand.kind == "vector":
                reps = -(-self.length // lanes)
                return np.tile(operand.values, reps)[:self.length]
            return results[id(operand)]

        lanes = self._lanes
        if lanes_needed and lanes is None:
            raise GraphError("graphs with constant vectors evaluate for a configuration: "
                             "compile them first")
        for node in self.nodes:
            operands = [value_of(o, node.stype, lanes) for o in node.operands]
            operands += [0] * (3 - len(operands))
            results[id(node)] = vector.compute(node.op, node.stype, node.dtype, *operands)
        return {name: results[id(node)] for name, node in self.outputs.items()}

    _lanes = None

    def _check_inputs(self, inputs):
        for name, value in self.inputs.items():
            if name not in inputs:
                raise GraphError(f"missing input {name!r}")
            data = np.asarray(inputs[name])
            if data.shape != (self.length,):
                raise GraphError(f"input {name!r} must have shape ({self.length},), "
                                 f"not {data.shape}")
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            raise GraphError(f"unknown input {sorted(unknown)[0]!r}")


# ---------------------------------------------------------------------------------------------
# Scheduling.

@dataclass
class _Stored:
    """A tensor's byte planes in SRAM: ``planes[b] = (slice, address)``; ``written`` records,
    for planes a pass writes, the cycle of the first word's write."""
    planes: list
    vectors: int
    written: dict = field(default_factory=dict)


@dataclass
class _Flow:
    """A stream carrying a tensor into (or out of) the VXM for a whole pass."""
    direction: Direction
    base: int                   # first stream
    planes: int


@dataclass
class Kernel:
    """A scheduled graph: a program template, input placement and output decoding."""
    graph: Graph
    config: object
    queues: dict
    predicted_cycles: int
    input_copies: dict = field(default_factory=dict)     # name -> [_Stored]
    output_store: dict = field(default_factory=dict)     # name -> _Stored
    constants: list = field(default_factory=list)        # (_Stored, per-lane values)
    passes: int = 1
    alus_used: int = 0

    def program(self, inputs):
        """A :class:`~compiler.program.Program` loading ``inputs`` (``{name: values}``)."""
        g = self.graph
        g._check_inputs(inputs)
        lanes = self.config.lanes
        vectors = -(-g.length // lanes)
        images = []
        for name, copies in self.input_copies.items():
            dtype = g.inputs[name].dtype
            padded = np.zeros(vectors * lanes, dtype=np.int64)
            padded[:g.length] = vector.wrap(np.asarray(inputs[name], dtype=np.int64), dtype)
            planes = vector.to_bytes(padded.reshape(vectors, lanes), dtype)
            for store in copies:
                for b, (slice_index, address) in enumerate(store.planes):
                    images.append((slice_index, address, planes[b]))
        for store, values in self.constants:
            planes = vector.to_bytes(values.reshape(1, lanes), DType.I32)
            for b, (slice_index, address) in enumerate(store.planes):
                images.append((slice_index, address, planes[b]))
        outputs = [Region(f"{name}.{b}", slice_index, address, store.vectors)
                   for name, store in self.output_store.items()
                   for b, (slice_index, address) in enumerate(store.planes)]
        return Program(self.config, queues=dict(self.queues), sram=images, outputs=outputs,
                       predicted_cycles=self.predicted_cycles)

    def decode_outputs(self, regions):
        """``{output: values}`` from the regions read back after a run."""
        result = {}
        for name, store in self.output_store.items():
            dtype = self.graph.outputs[name].dtype
            planes = [regions[f"{name}.{b}"] for b in range(len(store.planes))]
            values = vector.from_bytes(planes, dtype).reshape(-1)
            result[name] = values[:self.graph.length]
        return result


class _Scheduler:
    def __init__(self, graph, config):
        self.graph = graph
        self.config = config
        self.plan = floorplan(config)
        self.vectors = -(-graph.length // config.lanes)
        self.builders = {q.number: QueueBuilder(q) for q in self.plan.queues}
        self.sram_next = [0] * len(self.plan.mem_units)
        self.vxm = self.plan.vxm_unit.position
        self.const_regs = {}            # key -> (register, ready cycle)

    # ---- Small helpers. ----

    def queue(self, name):
        return self.builders[self.plan.queue(name).number]

    def alloc_sram(self, slice_index, count):
        address = self.sram_next[slice_index]
        if address + count > self.config.words:
            unit = self.plan.mem_units[slice_index]
            raise ScheduleError(f"SRAM of {unit.name} is full ({self.config.words} words)")
        self.sram_next[slice_index] += count
        return address

    def slices(self, hemisphere):
        return [i for i, u in enumerate(self.plan.mem_units) if u.hemisphere is hemisphere]

    @staticmethod
    def toward_vxm(hemisphere):
        return Direction.EAST if hemisphere is Hemisphere.WEST else Direction.WEST

    @staticmethod
    def away_from_vxm(hemisphere):
        return Direction.WEST if hemisphere is Hemisphere.WEST else Direction.EAST

    def encode(self, op, **fields):
        return Instruction(spec_for(QueueKind.VXM_ALU, op.value), fields).encode()

    def mem_word(self, kind, addr, stream, direction):
        op = MemReadOp.READ if kind is QueueKind.MEM_READ else MemWriteOp.WRITE
        return Instruction(spec_for(kind, op.value), {"addr": addr, "stream": stream,
                                                       "dir": direction}).encode()

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
            self.groups.append(group)
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
        for node in self.nodes:
            immediate = None
            for operand in self.operands[id(node)]:
                if isinstance(operand, Value):
                    if operand.kind == "vector" and ("v", id(operand)) not in self.const_regs:
                        self.const_regs[("v", id(operand))] = None
                        vectors.append(operand)
                    continue
                value = int(vector.read_as(operand, node.stype))
                fits = -(1 << (_IMMEDIATE_BITS - 1)) <= value < (1 << (_IMMEDIATE_BITS - 1))
                if fits and immediate in (None, value):
                    immediate = value
                elif ("s", value) not in self.const_regs:
                    self.const_regs[("s", value)] = None
                    scalars.append(value)
        count = len(scalars) + len(vectors)
        if count > self.config.vxm_consts:
            raise ScheduleError(f"the graph needs {count} constant registers, the VXM has "
                                f"{self.config.vxm_consts}")
        ready = 0
        register = 0
        alus = self.config.vxm_alus
        for k, value in enumerate(scalars):
            # (value >> 16) << 16 | (value & 0xFFFF), built in ALU k mod alus.
            alu = self.queue(f"vxm.alu{k % alus}")
            start = 4 * VXM_LATENCY * (k // alus)
            imm = Operand.immediate()
            result = Operand(OperandKind.ALU, k % alus)
            i32 = dict(stype=DType.I32, dtype=DType.I32)
            alu.place(start, self.encode(VectorOp.MOV, a=imm, imm=value >> 16, **i32))
            alu.place(start + VXM_LATENCY,
                      self.encode(VectorOp.SHL, a=result, b=imm, imm=16, **i32))
            alu.place(start + 2 * VXM_LATENCY,
                      self.encode(VectorOp.OR, a=result, b=imm, imm=value & 0xFFFF, **i32))
            alu.place(start + 3 * VXM_LATENCY,
                      self.encode(VectorOp.LDC, a=result, imm=register, **i32))
            self.const_regs[("s", value)] = register
            ready = max(ready, start + 4 * VXM_LATENCY)
            register += 1
        # Per-lane vectors: four planes in one hemisphere's slices, loaded one per cycle.
        start = ready
        for k, constant in enumerate(vectors):
            hemisphere = Hemisphere.WEST if len(self.slices(Hemisphere.WEST)) >= 4 else None
            if hemisphere is None:
                raise ScheduleError("constant vectors need four MEM slices in a hemisphere")
            slices = self.slices(hemisphere)[:4]
            planes = [(i, self.alloc_sram(i, 1)) for i in slices]
            when = start + 2 * MEM_READ_LATENCY + self.config.mem_slices + k
            direction = self.toward_vxm(hemisphere)
            for b, (i, address) in enumerate(planes):
                position = self.plan.mem_units[i].position
                read = issue_for_arrival(when, MEM_READ_LATENCY, position, self.vxm)
                self.builders[self.plan.queue(f"{self.plan.mem_units[i].name}.rd").number] \
                    .place(read, self.mem_word(QueueKind.MEM_READ, address, b, direction))
            kind = OperandKind.EAST if direction is Direction.EAST else OperandKind.WEST
            self.queue("vxm.alu0").place(when, self.encode(
                VectorOp.LDC, stype=DType.I32, dtype=DType.I32, a=Operand(kind, 0),
                imm=register))
            lanes = self.config.lanes
            values = np.resize(vector.wrap(constant.values, DType.I32), lanes)
            self.constant_images.append((_Stored(planes, 1), values))
            self.const_regs[("v", id(constant))] = register
            ready = max(ready, when + VXM_LATENCY)
            register += 1
        return ready

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

    def stream_group(self, used, direction, planes):
        dtype = {1: DType.I8, 2: DType.I16, 4: DType.I32}[planes]
        for base in range(0, self.config.streams, planes):
            group = {(direction, base + k) for k in range(planes)}
            if stream_group_ok(self.config, base, dtype) and not group & used:
                used |= group
                return base
        raise ScheduleError(f"no {planes} free adjacent {direction.name.lower()}ward streams "
                            f"left in one pass")

    def by_free_slices(self, busy):
        """The hemispheres, the one with more slices outside ``busy`` first."""
        return sorted((Hemisphere.WEST, Hemisphere.EAST),
                      key=lambda h: -len([i for i in self.slices(h) if i not in busy]))

    def free_slices(self, busy, hemisphere, count):
        chosen = [i for i in self.slices(hemisphere) if i not in busy][:count]
        return chosen if len(chosen) == count else None

    def schedule(self):
        self.prepare()
        self.constant_images = []
        start = self.constants()
        self.outputs = {id(n): name for name, n in self.graph.outputs.items()}
        self.stored = {}                # (id(source), id(consumer)) -> _Stored
        self.reserved = {}              # group -> slices holding its nodes' stored operands
        self.output_store = {}
        self.input_copies = {}
        self.pass_of = {}
        pending = self.passes()
        self.pass_lists = []
        while pending:
            groups = pending.pop(0)
            nodes = sum(groups, [])
            saved = self.save()
            try:
                allocation = self.allocate(nodes)
            except ScheduleError:
                if len(groups) == 1:
                    raise
                # Not enough slices or streams for these nodes at once: split them.
                self.restore(saved)
                middle = len(groups) // 2
                pending[:0] = [groups[:middle], groups[middle:]]
                continue
            for node in nodes:
                self.pass_of[id(node)] = len(self.pass_lists)
            start = self.place_pass(nodes, *allocation, start)
            self.pass_lists.append(nodes)
        self.alus_used = max(self.alus_needed(nodes) for nodes in self.pass_lists)

    def save(self):
        return (list(self.sram_next), dict(self.stored),
                {k: set(v) for k, v in self.reserved.items()}, dict(self.output_store),
                {k: list(v) for k, v in self.input_copies.items()})

    def restore(self, saved):
        (self.sram_next, self.stored, self.reserved, self.output_store,
         self.input_copies) = saved

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
        # Intermediates from earlier passes have fixed slices; place them first.
        for key, (operand, reader, planes) in sorted(
                inflows.items(), key=lambda item: item[1][0].kind != "node"):
            if operand.kind == "node":
                store = self.stored[(id(operand), id(reader))]
                slices = [i for i, _ in store.planes[:planes]]
                hemisphere = self.plan.mem_units[slices[0]].hemisphere
            else:
                # Only the planes this pass reads are loaded (the low ones).
                for hemisphere in self.by_free_slices(read_busy):
                    slices = self.free_slices(read_busy, hemisphere, planes)
                    if slices:
                        break
                else:
                    raise ScheduleError(f"no {planes} free MEM slices in a hemisphere to read "
                                        f"input {operand.name!r}")
                store = _Stored([(i, self.alloc_sram(i, self.vectors)) for i in slices],
                                self.vectors)
                self.input_copies.setdefault(operand.name, []).append(store)
            if set(slices[:planes]) & read_busy:
                raise ScheduleError("two values one pass reads share a MEM slice")
            read_busy |= set(slices[:planes])
            direction = self.toward_vxm(hemisphere)
            flows[key] = (store, _Flow(direction, self.stream_group(used_streams, direction,
                                                                    planes), planes))

        # Flows out of the pass: graph outputs and values later passes read. One copy serves
        # them all; a later pass that would read it at two levels at once is split instead.
        outflows = {}
        for node in nodes:
            later = [c for c in self.consumers[id(node)] if id(c) not in members]
            if not later and id(node) not in self.outputs:
                continue
            readers = [later]
            planes = node.dtype.bytes
            # Pack a consumer group's stored operands into one hemisphere where possible, so
            # the other stays free for wide inputs of the same pass.
            groups = {self.group_of[id(c)] for c in later}
            reserved = set().union(*(self.reserved.get(g, set()) for g in groups))
            order = sorted(self.by_free_slices(write_busy), key=lambda h: -len(
                [i for i in self.slices(h) if i in reserved]))
            for hemisphere in order:
                targets = []
                busy = set(write_busy)
                for consumers in readers:
                    avoid = busy.union(*(self.reserved.get(self.group_of[id(c)], set())
                                         for c in consumers))
                    chosen = self.free_slices(avoid, hemisphere, planes)
                    if chosen is None:
                        break
                    busy |= set(chosen)
                    targets.append(chosen)
                if len(targets) == len(readers):
                    break
            else:
                raise ScheduleError(f"not enough free MEM slices to write {node!r}")
            write_busy |= busy
            direction = self.away_from_vxm(hemisphere)
            flow = _Flow(direction, self.stream_group(used_streams, direction, planes), planes)
            stores = []
            for k, (consumers, chosen) in enumerate(zip(readers, targets)):
                store = _Stored([(i, self.alloc_sram(i, self.vectors)) for i in chosen],
                                self.vectors)
                stores.append(store)
                if k == 0 and id(node) in self.outputs:
                    self.output_store[self.outputs[id(node)]] = store
                for consumer in consumers:
                    self.stored[(id(node), id(consumer))] = store
                    self.reserved.setdefault(self.group_of[id(consumer)], set()).update(chosen)
            outflows[id(node)] = (flow, stores)
        return level, alus, delay, flows, outflows

    def place_pass(self, nodes, level, alus, delay, flows, outflows, earliest):
        """Time one pass; returns the cycle after which the next pass may start."""
        members = {id(n) for n in nodes}
        n = self.vectors
        plan = self.plan
        vxm = self.vxm
        runs = []                       # (queue number, cycle relative to t0, word, count, stride)

        def alu_queue(alu):
            return plan.queue(f"vxm.alu{alu}").number

        def operand_for(node, operand):
            if not isinstance(operand, Value):
                value = int(vector.read_as(operand, node.stype))
                if ("s", value) in self.const_regs:
                    return Operand(OperandKind.CONST, self.const_regs[("s", value)]), None
                return Operand.immediate(), value
            if operand.kind == "vector":
                return Operand(OperandKind.CONST, self.const_regs[("v", id(operand))]), None
            if id(operand) in members:
                if level[id(operand)] == level[id(node)] - 1:
                    return Operand(OperandKind.ALU, alus[id(operand)]), None
                return Operand(OperandKind.ALU, delay[(id(operand), level[id(node)] - 1)]), None
            _, flow = flows[(id(operand), level[id(node)])]
            kind = OperandKind.EAST if flow.direction is Direction.EAST else OperandKind.WEST
            return Operand(kind, flow.base), None

        for node in nodes:
            fields = {"stype": node.stype, "dtype": node.dtype, "dst_en": 0,
                      "dst_dir": Direction.EAST, "dst_stream": 0, "imm": 0}
            for name, operand in zip("abc", self.operands[id(node)]):
                fields[name], value = operand_for(node, operand)
                if value is not None:
                    fields["imm"] = value
            if id(node) in outflows:
                flow, _ = outflows[id(node)]
                fields.update(dst_en=1, dst_dir=flow.direction, dst_stream=flow.base)
            runs.append((alu_queue(alus[id(node)]), 2 * level[id(node)],
                         self.encode(node.op, **fields), n, 0))
            for at in self.delays(node, nodes, level):
                source = alus[id(node)] if at == level[id(node)] + 1 else delay[(id(node), at - 1)]
                runs.append((alu_queue(delay[(id(node), at)]), 2 * at, self.encode(
                    VectorOp.MOV, stype=node.dtype, dtype=node.dtype,
                    a=Operand(OperandKind.ALU, source)), n, 0))

        first_read = {}                 # (slice, address) -> relative cycle of its first read
        for (source, at), (store, flow) in flows.items():
            for b in range(flow.planes):
                slice_index, address = store.planes[b]
                unit = plan.mem_units[slice_index]
                read = issue_for_arrival(2 * at, MEM_READ_LATENCY, unit.position, vxm)
                runs.append((plan.queue(f"{unit.name}.rd").number, read,
                             self.mem_word(QueueKind.MEM_READ, address, flow.base + b,
                                           flow.direction), n, 1))
                first_read[store.planes[b]] = read

        writes = []
        for node_id, (flow, stores) in outflows.items():
            for store in stores:
                for b, (slice_index, address) in enumerate(store.planes):
                    unit = plan.mem_units[slice_index]
                    when = arrival(2 * level[node_id], VXM_LATENCY, vxm, unit.position)
                    runs.append((plan.queue(f"{unit.name}.wr").number, when,
                                 self.mem_word(QueueKind.MEM_WRITE, address, flow.base + b,
                                               flow.direction), n, 1))
                    writes.append(when)

        # The smallest t0: every run starts at or after its queue's previous end, and word v
        # of an intermediate is read after it is written (written[plane] + v).
        t0 = earliest
        for queue, relative, *_ in runs:
            t0 = max(t0, self.builders[queue].end - relative)
        for (source, at), (store, flow) in flows.items():
            for plane in store.planes[:flow.planes]:
                if plane in store.written:
                    t0 = max(t0, store.written[plane] + MEM_WRITE_TO_READ - first_read[plane])
        for queue, relative, word, count, stride in runs:
            self.builders[queue].place(t0 + relative, word, count, stride)
        for node_id, (flow, stores) in outflows.items():
            for store in stores:
                for plane in store.planes:
                    position = plan.mem_units[plane[0]].position
                    store.written[plane] = t0 + arrival(2 * level[node_id], VXM_LATENCY, vxm,
                                                        position)
        return t0 + max(writes, default=0) + n


def compile_graph(graph, config):
    """Schedule ``graph`` for ``config``; returns a :class:`Kernel`."""
    if not graph.outputs:
        raise GraphError("the graph has no outputs")
    graph._lanes = config.lanes
    scheduler = _Scheduler(graph, config)
    scheduler.schedule()
    queues = {}
    for number, builder in scheduler.builders.items():
        words = builder.words()
        if words:
            if len(words) > config.queue_depth:
                raise ScheduleError(f"{builder.queue.name} needs {len(words)} instructions, "
                                    f"more than the queue depth {config.queue_depth}")
            queues[number] = words
    predicted = max((b.end for b in scheduler.builders.values()), default=0)
    return Kernel(graph, config, queues, predicted, scheduler.input_copies,
                  scheduler.output_store, scheduler.constant_images, len(scheduler.pass_lists),
                  scheduler.alus_used)

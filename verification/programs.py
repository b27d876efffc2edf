"""Test programs: random elementwise graphs from seeds, hand-written assembly programs, row
reductions, and a program composed of several kernels (GEMM, requantisation, row reduction).

The same programs run on the golden simulator (fast tests) and on the RTL (system tests); the
expected values come from NumPy (:mod:`verification.reference`), never from the compiler.
"""

from dataclasses import dataclass

import numpy as np

from compiler.asm import assemble
from compiler.elementwise import compile_graph, place_graph
from compiler.gemm import place_gemm
from compiler.graph import Graph
from compiler.program import Region
from compiler.reduce import place_row_reduction
from compiler.schedule import Schedule
from compiler.tensors import planar_tensor
from golden import vector
from isa.formats import INSTRUCTIONS
from isa.geometry import Hemisphere, floorplan
from isa.opcodes import DType, VectorOp
from .reference import evaluate_graph, gemm_reference

__all__ = ["GraphCase", "random_graph", "graph_case", "HAND_WRITTEN", "hand_written",
           "ComposedCase", "reduction_case", "composed_case"]

#: Operations random graphs draw from (everything with a result but LUT, which needs a table).
GRAPH_OPS = [s.op for s in INSTRUCTIONS
             if isinstance(s.op, VectorOp) and s.result and s.op is not VectorOp.LUT]


@dataclass
class GraphCase:
    """A compiled graph, its inputs, and its program and reference outputs."""
    name: str
    graph: Graph
    kernel: object
    inputs: dict
    program: object
    expected: dict          # the NumPy reference (evaluate_graph)


def _random_values(rng, dtype, length):
    lo, hi = -(1 << (dtype.bits - 1)), (1 << (dtype.bits - 1))
    values = rng.integers(lo, hi, length)
    # Edge values appear often: the extremes, zero, -1.
    edges = np.array([lo, hi - 1, 0, -1, 1])
    mask = rng.random(length) < 0.2
    values[mask] = rng.choice(edges, mask.sum())
    return values


def random_graph(seed, *, max_length=300, max_nodes=10, input_bytes=4):
    """A random elementwise graph and inputs for it, reproducible from ``seed``.

    Its inputs total at most ``input_bytes`` bytes per element: a pass streams one vector of
    every input it reads per cycle, and each byte plane needs a MEM slice's read port.
    """
    rng = np.random.default_rng(seed)
    length = int(rng.integers(1, max_length + 1))
    graph = Graph(length)
    values = []
    inputs = {}
    budget = input_bytes
    for i in range(int(rng.integers(1, 4))):
        dtype = DType(int(rng.integers(0, 3)))
        while dtype.bytes > budget and dtype is not DType.I8:
            dtype = DType(dtype.value - 1)
        if dtype.bytes > budget:
            break
        budget -= dtype.bytes
        value = graph.input(f"in{i}", dtype)
        values.append(value)
        inputs[value.name] = _random_values(rng, dtype, length)
    consumed = set()
    for _ in range(int(rng.integers(1, max_nodes + 1))):
        op = GRAPH_OPS[int(rng.integers(len(GRAPH_OPS)))]
        arity = next(len(s.operands) for s in INSTRUCTIONS if s.op is op)
        operands = []
        for position in range(arity):
            if rng.random() < 0.25:
                if op in (VectorOp.SHL, VectorOp.SHR, VectorOp.RSHR) and position == 1:
                    operands.append(int(rng.integers(0, 32)))
                elif op is VectorOp.REQ and position == 2:
                    operands.append(int(rng.integers(-8, 4)))
                elif rng.random() < 0.3:
                    operands.append(int(rng.integers(-(1 << 31), 1 << 31)))   # wide
                else:
                    operands.append(int(rng.integers(-1000, 1000)))
            else:
                source = values[int(rng.integers(len(values)))]
                operands.append(source)
                consumed.add(id(source))
        # Operands are usually read at their own width; sometimes narrower (a truncating read).
        widths = [o.dtype.value for o in operands if not isinstance(o, int)]
        widest = max(widths, default=int(rng.integers(0, 3)))
        stype = DType(widest if rng.random() < 0.7 else int(rng.integers(0, widest + 1)))
        dtype = DType(int(rng.integers(0, 3)))
        values.append(graph.op(op, *operands, stype=stype, dtype=dtype))
    for value in graph.nodes:
        if id(value) not in consumed or rng.random() < 0.15:
            graph.output(f"out{len(graph.outputs)}", value)
    return graph, inputs


def graph_case(config, seed, **limits):
    """:func:`random_graph` compiled for ``config``, with its program and reference."""
    limits.setdefault("input_bytes", config.mem_slices)
    graph, inputs = random_graph(seed, **limits)
    kernel = compile_graph(graph, config)
    return GraphCase(f"seed{seed}", graph, kernel, inputs, kernel.program(inputs),
                     evaluate_graph(graph, inputs, config.lanes))


#: Hand-written assembly programs (all timed by hand from isa.timing), parametrised by the
#: configuration's geometry. Each reads and writes rows of SRAM named below.
HAND_WRITTEN = {
    # Read two int8 tensors from both hemispheres, add with saturation, widen to int32,
    # multiply by a constant, requantise back, write to both hemispheres.
    "add_requant": """
        .queue mem_w0.rd
            nop 1
            read 0 -> e0          ; cycle 1 + k: at the VXM (distance 1) in cycle 3 + k
            repeat {last}, 1
        .queue mem_e1.rd
            read 0 -> w1          ; distance 2: at the VXM in cycle 3 + k
            repeat {last}, 1
        .queue vxm.alu0
            nop 3
            adds.i8 e0, w1        ; cycle 3 + k
            repeat {last}, 0
        .queue vxm.alu1
            nop 5
            mul.i8.i32 alu0, #77  ; cycle 5 + k: reads ALU 0's result
            repeat {last}, 0
        .queue vxm.alu2
            nop 7
            req.i32.i8 alu1, c0, #-6 -> e4   ; cycle 7 + k; c0 loaded in the prologue below
            repeat {last}, 0
        .queue vxm.alu3
            mov.i32 #1234 -> e8   ; prologue: c0 = 1234 << 18
            nop 1
            shl.i32 alu3, #18
            nop 1
            ldc.i32 alu3 @ 0      ; cycle 4: c0 valid from cycle 6
        .queue mem_e2.wr
            nop 11
            write e4 -> 100       ; distance 3 east: cycle 7 + 2 + 3 - 1 + k = 11 + k
            repeat {last}, 1
    """,
}


def hand_written(config, name, seed=0, count=8):
    """Program ``name`` of :data:`HAND_WRITTEN` with random SRAM contents; returns
    ``(program, {region: expected words})`` where the expected words come from NumPy."""
    plan = floorplan(config)
    rng = np.random.default_rng(seed)
    lanes = config.lanes
    text = HAND_WRITTEN[name].format(last=count - 1)
    program = assemble(text, config, filename=f"<{name}>")
    a = rng.integers(-128, 128, (count, lanes))
    b = rng.integers(-128, 128, (count, lanes))
    w0 = plan.sram_index(plan.unit("mem_w0"))
    e1 = plan.sram_index(plan.unit("mem_e1"))
    e2 = plan.sram_index(plan.unit("mem_e2"))
    program.sram = [(w0, 0, vector.to_bytes(a, DType.I8)[0]),
                    (e1, 0, vector.to_bytes(b, DType.I8)[0])]
    program.outputs = [Region("out", e2, 100, count)]
    total = vector.compute(VectorOp.ADDS, DType.I8, DType.I8, a, b)
    product = vector.compute(VectorOp.MUL, DType.I8, DType.I32, total, 77)
    out = vector.compute(VectorOp.REQ, DType.I32, DType.I8, product, 1234 << 18, -6)
    program.predicted_cycles = 11 + count
    return program, {"out": vector.to_bytes(out, DType.I8)[0]}


@dataclass
class ComposedCase:
    """A program of one or more kernels placed on one schedule, its inputs and the NumPy
    expectation of each output (``{name: values}``, decoded by ``kernel.unbind``)."""
    name: str
    kernel: object
    inputs: dict
    program: object
    expected: dict


def _row_totals(values, kind, lanes):
    """Per row of ``values``, its wrapping int32 sum or its maximum, in every one of ``lanes``
    lanes."""
    values = np.asarray(values, dtype=np.int64)
    totals = values.sum(axis=1) if kind == "sum" else values.max(axis=1)
    return np.repeat(vector.wrap(totals, DType.I32)[:, None], lanes, axis=1)


def reduction_case(config, kind="sum", rows=3, seed=0):
    """The sum (or maximum) over all lanes of each of ``rows`` random int32 vectors
    (:func:`compiler.reduce.place_row_reduction`), the vectors loaded by the host into four
    slices of the west hemisphere."""
    rng = np.random.default_rng(seed)
    lanes = config.lanes
    schedule = Schedule(config)
    west = [i for i, unit in enumerate(floorplan(config).mem_units)
            if unit.hemisphere is Hemisphere.WEST][:DType.I32.bytes]
    x = schedule.input("x", planar_tensor(schedule.calendar.sram, "x", DType.I32, (rows, lanes),
                                          lanes, west))
    schedule.output(kind, place_row_reduction(schedule, x, kind))
    kernel = schedule.compile()
    values = rng.integers(-(1 << 24), 1 << 24, (rows, lanes))
    return ComposedCase(f"reduce-{kind}", kernel, {"x": values}, kernel.bind({"x": values}),
                        {kind: _row_totals(values, kind, lanes)})


def composed_case(config, m=24, k=None, n=None, seed=0):
    """Three kernels on one calendar, each reading what the one before wrote: a GEMM with raw
    int32 results (``C = A @ B + bias``, ``n`` columns over both matrix units), an
    elementwise graph requantising ``C`` to int8 (``y``), and the sum of every row of ``y``
    across its ``n`` columns (``total``). ``k`` and ``n`` default to two vectors' worth."""
    rng = np.random.default_rng(seed)
    lanes = config.lanes
    k = 2 * lanes if k is None else k
    n = 2 * lanes if n is None else n
    multiplier, shift = (1 << 30) + 12345, -9
    schedule = Schedule(config)
    c, _ = place_gemm(schedule, m, k, n, bias=True, requantise=False)
    graph = Graph(shape=(m, n))
    graph.output("y", graph.requantize(graph.input("c", DType.I32), multiplier=multiplier,
                                       shift=shift))
    y = place_graph(schedule, graph, {"c": c})[0]["y"]
    total = place_row_reduction(schedule, y, "sum")
    schedule.output("y", y)
    schedule.output("total", total)
    kernel = schedule.compile()
    inputs = {"a": rng.integers(-128, 128, (m, k)), "b": rng.integers(-128, 128, (k, n)),
              "bias": rng.integers(-(1 << 16), 1 << 16, (1, n))}
    raw = gemm_reference(inputs["a"], inputs["b"], inputs["bias"][0])
    y_expected = vector.compute(VectorOp.REQ, DType.I32, DType.I8, raw, multiplier, shift)
    return ComposedCase(f"composed-{m}x{k}x{n}", kernel, inputs, kernel.bind(inputs),
                        {"y": y_expected, "total": _row_totals(y_expected, "sum", lanes)})

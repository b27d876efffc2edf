"""Test programs: random elementwise graphs from seeds, and hand-written assembly programs.

The same programs run on the golden simulator (fast tests) and on the RTL (system tests).
"""

from dataclasses import dataclass

import numpy as np

from compiler.asm import assemble
from compiler.elementwise import compile_graph
from compiler.graph import Graph
from compiler.program import Region
from isa.geometry import floorplan
from isa.formats import INSTRUCTIONS
from isa.opcodes import DType, VectorOp
from .reference import evaluate_graph

__all__ = ["GraphCase", "random_graph", "graph_case", "HAND_WRITTEN", "hand_written"]

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
    from golden import vector
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

"""One VXM lane (hdl.lane.LaneAlu) in Amaranth's simulator against golden.vector.compute: every
operation with a result, all 9 source/destination type pairs, edge and random operands.

The simulation runs once per module (a fixture) and records what the lane computed; the tests
compare those observations with the oracle, so a deliberately wrong oracle can be shown to be
caught without simulating again.
"""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.vector import INT32_MAX, INT32_MIN, compute, read_as
from hdl.lane import LaneAlu
from isa.config import LUT_ENTRIES
from isa.formats import INSTRUCTIONS
from isa.opcodes import DType, VectorOp

RESULT_OPS = [s.op for s in INSTRUCTIONS if isinstance(s.op, VectorOp) and s.result]
TYPE_PAIRS = [(s, d) for s in DType for d in DType]
EDGES = [-128, 127, -32768, 32767, INT32_MIN, INT32_MAX, 0, -1, 1, 128, -129, 255, 256,
         65535, -65536, 1 << 30, -(1 << 30), 31, 32, -31, -32, 63, 5]
#: Random operand triples per (operation, type pair), on top of the edge cases.
RANDOM_CASES = 10
TABLE = [random.Random(0).randrange(INT32_MIN, INT32_MAX + 1) for _ in range(LUT_ENTRIES)]


def operand_triples(rng, op):
    """Edge-value triples (a sweep of ``a`` and ``b`` over the edges, ``c`` varied) and random
    ones; shift-like operands are often small."""
    triples = [(a, b, EDGES[(i + j) % len(EDGES)])
               for i, a in enumerate(EDGES) for j, b in enumerate(EDGES) if (i + j) % 6 == 0]
    for _ in range(RANDOM_CASES):
        a = rng.choice([rng.randrange(INT32_MIN, INT32_MAX + 1), rng.randrange(-300, 300)])
        b = rng.choice([rng.randrange(INT32_MIN, INT32_MAX + 1), rng.randrange(-40, 40)])
        c = rng.choice([rng.randrange(INT32_MIN, INT32_MAX + 1), rng.randrange(-40, 40),
                        rng.randrange(2)])
        triples.append((a, b, c))
    return triples


def cases():
    rng = random.Random(1)
    return [(op, stype, dtype, a, b, c)
            for op in RESULT_OPS for stype, dtype in TYPE_PAIRS
            for a, b, c in operand_triples(rng, op)]


def table_value(a, stype):
    """The table entry the VXM feeds the lane: this ALU's table at ``a`` (read as ``stype``)
    mod 256."""
    return TABLE[int(read_as(a, stype)) & (LUT_ENTRIES - 1)]


@pytest.fixture(scope="module")
def observed():
    """``[(op, stype, dtype, a, b, c, result)]`` as the RTL lane computed them."""
    dut = LaneAlu()
    sim = Simulator(dut)
    todo = cases()
    results = []

    async def bench(ctx):
        kind = None
        for op, stype, dtype, a, b, c in todo:
            if (op, stype, dtype) != kind:
                kind = (op, stype, dtype)
                ctx.set(dut.op, op.value)
                ctx.set(dut.stype, stype)
                ctx.set(dut.dtype, dtype)
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            ctx.set(dut.c, c)
            ctx.set(dut.table_value, table_value(a, stype))
            results.append((op, stype, dtype, a, b, c, ctx.get(dut.result)))

    sim.add_testbench(bench)
    sim.run()
    return results


def mismatches(observed, oracle):
    """The observations ``oracle(op, stype, dtype, a, b, c)`` disagrees with (the oracle is
    called once per operation and type pair, on arrays of operands)."""
    groups = {}
    for case in observed:
        groups.setdefault(case[:3], []).append(case)
    wrong = []
    for (op, stype, dtype), group in groups.items():
        a, b, c, got = (np.array([case[i] for case in group], dtype=np.int64)
                        for i in range(3, 7))
        expected = oracle(op, stype, dtype, a, b, c)
        wrong += [case for case, ok in zip(group, expected == got) if not ok]
    return wrong


def golden(op, stype, dtype, a, b, c):
    return compute(op, stype, dtype, a, b, c, table=np.array(TABLE))


def test_every_operation_and_type_pair_was_simulated(observed):
    done = {(op, stype, dtype) for op, stype, dtype, *_ in observed}
    assert done == {(op, s, d) for op in RESULT_OPS for s, d in TYPE_PAIRS}


def test_lane_matches_the_golden_arithmetic(observed):
    wrong = mismatches(observed, golden)
    assert not wrong, (f"{len(wrong)} of {len(observed)} lane results differ from "
                       f"golden.vector.compute, first: {wrong[:5]}")


@pytest.mark.parametrize("op, stype, dtype, a, b, c, expected", [
    (VectorOp.MULQ, DType.I32, DType.I32, INT32_MIN, INT32_MIN, 0, INT32_MAX),
    (VectorOp.RSHR, DType.I32, DType.I32, -5, 1, 0, -3),
    (VectorOp.RSHR, DType.I32, DType.I32, 5, 1, 0, 3),
    (VectorOp.ADDS, DType.I8, DType.I8, 100, 100, 0, 127),
    (VectorOp.SUBS, DType.I16, DType.I8, -32768, 32767, 0, -128),
    (VectorOp.MUL, DType.I8, DType.I8, -128, -1, 0, -128),
    (VectorOp.CLZ, DType.I32, DType.I8, 0, 0, 0, 32),
    (VectorOp.SHR, DType.I32, DType.I32, INT32_MIN, 63, 0, -1),
    (VectorOp.REQ, DType.I32, DType.I8, 1000, 1 << 30, -1, 127),  # 1000 * 0.5 / 2 = 250: 127
    (VectorOp.MOV, DType.I8, DType.I32, 0x1FF, 0, 0, -1),
])
def test_hand_computed_vectors(observed, op, stype, dtype, a, b, c, expected):
    """Pin the oracle and the RTL together on a few values worked out by hand."""
    assert int(golden(op, stype, dtype, a, b, c)) == expected
    dut = LaneAlu()
    sim = Simulator(dut)
    got = []

    async def bench(ctx):
        for port, value in (("op", op.value), ("stype", stype), ("dtype", dtype), ("a", a),
                            ("b", b), ("c", c), ("table_value", 0)):
            ctx.set(getattr(dut, port), value)
        got.append(ctx.get(dut.result))

    sim.add_testbench(bench)
    sim.run()
    assert got == [expected]


def test_checker_catches_a_wrong_oracle(observed):
    """A deliberately wrong oracle (SUB computed as b - a) must be reported."""
    def wrong(op, stype, dtype, a, b, c):
        if op is VectorOp.SUB:
            a, b = b, a
        return golden(op, stype, dtype, a, b, c)

    assert mismatches(observed, wrong)

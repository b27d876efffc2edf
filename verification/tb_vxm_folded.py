"""cocotb testbench of a folded VXM (``vxm_fold`` > 1) at its stream position, on the harness
``lpu_vxm_folded`` (:data:`~verification.harness.VXM_FOLDED_CONFIG`).

Oracles:

- hand-written expectations for the latency (:func:`isa.timing.vxm_latency`), the issue
  interval (:func:`isa.timing.vxm_issue_interval`: an operation sooner is ``BAD_OPERAND``) and
  the LDC/LUTW timing, which a folded ALU keeps;
- :class:`~verification.tb_vxm.VxmModel` at the harness's fold, cycle by cycle, on random
  programs that issue too soon as often as not;
- the *unfolded* ALU: random programs whose operations are spaced by the issue interval run
  on :class:`VxmModel` with ``fold = 1`` (the model ``lpu_vxm``'s testbench checks against
  the unfolded RTL), and every stream value it writes must leave the folded RTL exactly
  ``vxm_latency - VXM_LATENCY`` cycles later (``fold - 1`` and the lane pipeline's
  :data:`~isa.timing.FOLDED_VXM_STAGES`), with the same value.

``seen[t]`` of the bench is what the downstream stream registers hold in cycle t.
"""

import random

import cocotb

from golden.vector import INT32_MAX, INT32_MIN
from isa.host import ErrorFlag
from .scoreboard import pack
from isa.opcodes import Direction
from isa.timing import VXM_LATENCY
from .tb_vxm import (ALUS, CONSTS, FOLD, I8, I16, I32, IMM, LANES, LATENCY, RESULT_OPS,
                     STREAMS, TYPE_PAIRS, E, V, VxmBench, VxmModel, W, alu, const, e,
                     from_planes, random_program, random_streams, to_planes, vop, w, wrap32)

assert FOLD > 1, "this testbench is for a folded VXM"


@cocotb.test()
async def latency_and_issue_interval(dut):
    """An ADD issued in cycle 0 leaves on its stream in cycle fold + 5 (its latency, and not
    before) and is in its result register for operands read from that cycle; the same ALU
    refuses operations in cycles 1 .. fold - 1 (BAD_OPERAND, no effect) and accepts one in
    cycle fold, while the ADD is still in the lane pipeline. The other ALU is not held up.
    (Hand-written values; ``seen[t]`` is the downstream registers in cycle t.)"""
    assert LATENCY == FOLD + 5, "the declared latency is not the one this test was written for"
    bench = VxmBench(dut)
    await bench.start()
    east = to_planes([lane - 8 for lane in range(LANES)], I16) + [0] * (STREAMS - 2)
    west = [0x77 * (s + 1) for s in range(STREAMS)]
    total = [lane - 8 + 300 for lane in range(LANES)]
    await bench.step(vop(V.ADD, I16, I16, e(0), IMM, dst=(E, 2), imm=300), east=east, west=west)
    for t in range(1, FOLD):
        # ALU 0 is still computing; ALU 1 reads ALU 0's result register, still 0.
        await bench.step(vop(V.MOV, I8, I8, IMM, dst=(W, 0), imm=5),
                         vop(V.MOV, I16, I16, alu(0), dst=(W, 2)) if t == 1 else None)
    # Cycle fold: ALU 0 accepts again; ALU 1 reads the result register in cycle fold + 5.
    # (The random programs below pin the first cycle it holds the sum: their model reads the
    # result registers cycle by cycle.)
    await bench.step(vop(V.MOV, I8, I8, IMM, dst=(W, 1), imm=6))
    for _ in range(FOLD + 1, LATENCY):
        await bench.step()
    await bench.step(None, vop(V.MOV, I16, I16, alu(0), dst=(W, 4)))
    await bench.idle(LATENCY + 1)
    refused = [ErrorFlag.BAD_OPERAND, 0]
    for t, (errors, east_next, west_next) in enumerate(bench.seen):
        assert errors == (refused if 1 <= t < FOLD else [0, 0]), f"cycle {t}: errors"
        expected_e = list(east) if t else [0] * STREAMS
        expected_w = list(west) if t else [0] * STREAMS
        if t == LATENCY:
            expected_e[2:4] = to_planes(total, I16)
        if t == 1 + LATENCY:
            expected_w[2:4] = [0, 0]                            # read in cycle 1
        if t == FOLD + LATENCY:
            expected_w[1] = pack([6] * LANES)                   # issued in cycle fold
        if t == 2 * LATENCY:
            expected_w[4:6] = to_planes(total, I16)             # read in cycle fold + 5
        assert east_next == expected_e, f"cycle {t}: east_next"
        assert west_next == expected_w, f"cycle {t}: west_next"
    assert len(bench.seen) == 2 * LATENCY + 2
    bench.board.check()


@cocotb.test()
async def tables_and_constants_keep_their_timing(dut):
    """An LDC issued in cycle t is seen by operands read in cycle t + 2 and not t + 1, and a
    LUTW issued in cycle t by the same ALU's LUT in cycle t + fold (its first chance), as on an
    unfolded ALU. (Hand-written values; ``seen[t]`` is the downstream registers in cycle t.)"""
    bench = VxmBench(dut)
    await bench.start()
    values = [-1000 - 7 * k for k in range(LANES)]
    index = to_planes(list(reversed(range(LANES))), I8)[0]
    lutw, lut = 2 * FOLD + 2, 3 * FOLD + 2
    for t in range(lut + LATENCY + 1):
        issues, east = [None, None], None
        if t == 0:
            issues[1] = vop(V.LDC, I32, I32, IMM, imm=3)
        elif t == 2:
            issues[0] = vop(V.MOV, I32, I32, const(3), dst=(E, 4))      # reads 3
        elif t == FOLD + 1:
            issues[1] = vop(V.LDC, I32, I32, e(0), imm=3)                # c3 = 9
            east = to_planes([9] * LANES, I32) + [0] * (STREAMS - 4)
        elif t == FOLD + 2:
            issues[0] = vop(V.MOV, I32, I32, const(3), dst=(E, 0))      # still reads 3
        elif t == lutw:
            issues[0] = vop(V.LUTW, I32, I32, e(0), imm=0)
            east = to_planes(values, I32) + [0] * (STREAMS - 4)
        elif t == lut:
            issues[0] = vop(V.LUT, I8, I32, e(7), dst=(W, 0))
            east = [0] * (STREAMS - 1) + [index]
        errors, _, _ = await bench.step(*issues, east=east)
        assert errors == [0, 0], f"cycle {t}"
    seen = bench.seen
    assert from_planes(seen[2 + LATENCY][1][4:8], I32).tolist() == [3] * LANES
    assert from_planes(seen[FOLD + 2 + LATENCY][1][0:4], I32).tolist() == [3] * LANES
    assert from_planes(seen[lut + LATENCY][2][0:4], I32).tolist() == list(reversed(values))
    bench.board.check()


@cocotb.test()
async def random_programs_match_the_model(dut):
    """Random instruction pairs (legal and illegal, too soon, conflicts) on random stream
    traffic, checked cycle by cycle against the model at the harness's fold."""
    await random_program(dut, 5, 1.5 / FOLD)


def spaced_instruction(rng, j):
    """A legal operation of ALU ``j`` with a result, its operands streams, constants or the
    immediate (an ALU's result register is read at another time relative to its writes when
    folded), its destination in direction ``j`` (so that the ALUs never conflict); and its
    offset."""
    op = rng.choice(RESULT_OPS)
    stype, dtype = rng.choice(TYPE_PAIRS)
    sources = [e(0), w(0), e(4), w(4), const(rng.randrange(CONSTS)), IMM]
    operands = [rng.choice(sources) for _ in range(3)]
    imm = rng.choice([0, 1, -1, 5, rng.randrange(-40, 40)])
    offset = rng.choice([0, 0, 0, INT32_MIN - imm, INT32_MAX - imm, rng.getrandbits(16)])
    dst = (Direction(j), rng.randrange(0, STREAMS, dtype.bytes))
    return vop(op, stype, dtype, *operands, dst=dst, imm=imm), wrap32(offset)


@cocotb.test()
async def random_programs_match_the_unfolded_alu(dut):
    """Operations spaced by the issue interval (LDC and LUTW among them) compute what the
    unfolded ALU computes: every stream register the unfolded model writes for cycle t holds
    the same word on the folded RTL in cycle t + vxm_latency - VXM_LATENCY."""
    bench = VxmBench(dut)
    unfolded = VxmModel(fold=1)
    await bench.start()
    rng = random.Random(6)
    await bench.load_tables(rng)
    unfolded.tables = [table.copy() for table in bench.model.tables]
    unfolded.table_known = [known.copy() for known in bench.model.table_known]
    next_free = [0] * ALUS
    expected = {}                       # cycle of the unfolded run -> {(direction, s): word}
    first = len(bench.seen)
    for t in range(2000):
        issues = []
        for j in range(ALUS):
            issue = None
            if t >= next_free[j] and rng.random() < 0.6:
                roll = rng.random()
                if roll < 0.05:     # ALU j loads the constant registers of its parity
                    k = rng.randrange(j, CONSTS, ALUS)
                    issue = (vop(V.LDC, I32, I32, rng.choice([e(0), w(4), IMM]), imm=k), 0)
                elif roll < 0.08:
                    issue = (vop(V.LUTW, I32, I32, w(0), imm=rng.randrange(256 - LANES)), 0)
                else:
                    issue = spaced_instruction(rng, j)
                next_free[j] = t + FOLD + rng.choice([0, 0, 1, 3])
            issues.append(issue)
        east, west = random_streams(rng), random_streams(rng)
        errors = unfolded.step(issues, east, west)
        assert errors == [0] * ALUS, f"test bug: cycle {t} issues an illegal pair {errors}"
        # unfolded.east_next is the downstream registers in cycle t + 1.
        expected[t + 1] = {(direction, s): after[s]
                           for direction, before, after in ((E, east, unfolded.east_next),
                                                            (W, west, unfolded.west_next))
                           for s in range(STREAMS) if after[s] != before[s]}
        errors, _, _ = await bench.step(*issues, east=east, west=west)
        assert errors == [0] * ALUS, f"cycle {t}: {errors}"
    await bench.idle(LATENCY + FOLD)
    compared = 0
    for t, writes in expected.items():
        _, east_next, west_next = bench.seen[first + t + LATENCY - VXM_LATENCY]
        for (direction, s), word in writes.items():
            got = (east_next if direction is E else west_next)[s]
            assert got == word, f"cycle {t}: {direction.name.lower()}{s} {got:#x} != {word:#x}"
            compared += 1
    assert compared > 1000, compared
    bench.board.check()

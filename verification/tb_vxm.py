"""cocotb testbench of the VXM at its stream position (:func:`~verification.harness.vxm_harness`).

Oracle: :class:`VxmModel`, a cycle model of the VXM written from the :mod:`hdl.vxm` contract
(operand sources, the pipeline of :func:`isa.timing.vxm_latency` and the issue interval of a
folded ALU, LUTW/LUT and LDC timing, stream conflicts), :mod:`isa.legality` and the
arithmetic of :func:`golden.vector.compute`; plus hand-written expectations in the directed
tests. The tests here are written for the unfolded harness ``lpu_vxm``; the folded one
(``lpu_vxm_folded``) has its own tests in :mod:`verification.tb_vxm_folded`, on this model.

The testbench drives the stream registers at the VXM (``east_in``/``west_in``) and observes
those one position downstream (``east_next``/``west_next``) and each ALU's error flags. ALU
result registers, constant registers and lookup tables are observed through instructions that
read them.
"""

import os
import random

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from golden.vector import (INT32_MAX, INT32_MIN, compute, from_bytes, lut_write, read_as,
                           to_bytes)
from isa.config import LUT_ENTRIES
from isa.formats import (FORMATS, IMMEDIATE_BITS, INSTRUCTIONS, Operand, decode, encode,
                         spec_for)
from isa.geometry import QueueKind
from isa.host import ErrorFlag
from isa.legality import check
from isa.opcodes import (DType, Direction, FIRST_UNIT_OPCODE, IMMEDIATE_INDEX, OPCODE_MASK,
                         OperandKind, VectorOp, opcode_of)
from isa.timing import FOLDED_VXM_STAGES, vxm_issue_interval, vxm_latency
from .harness import unit_config
from .scoreboard import FAULT, StreamBench, pack, reset, unpack

UNIT = os.environ.get("COCOTB_TOPLEVEL", "lpu_vxm").removeprefix("lpu_")
CONFIG = unit_config(UNIT)
LANES, STREAMS, ALUS, CONSTS = CONFIG.lanes, CONFIG.streams, CONFIG.vxm_alus, CONFIG.vxm_consts
FOLD = CONFIG.vxm_fold
LATENCY = vxm_latency(CONFIG)
ALU = QueueKind.VXM_ALU
V = VectorOp
I8, I16, I32 = DType.I8, DType.I16, DType.I32
E, W = Direction.EAST, Direction.WEST

#: The VXM immediate's range.
IMM_MIN, IMM_MAX = -(1 << (IMMEDIATE_BITS - 1)), (1 << (IMMEDIATE_BITS - 1)) - 1
RESULT_OPS = [s.op for s in INSTRUCTIONS if isinstance(s.op, VectorOp) and s.result]
TYPE_PAIRS = [(s, d) for s in DType for d in DType]
#: Operand values the arithmetic must get right at every width.
EDGES = [-128, 127, -32768, 32767, INT32_MIN, INT32_MAX, 0, -1, 1, 128, -129, 255, 65535,
         1 << 30, -(1 << 30), 31, 32, 33, -31, -32, 7, 8, 16]


def e(n):
    return Operand(OperandKind.EAST, n)


def w(n):
    return Operand(OperandKind.WEST, n)


def alu(n):
    return Operand(OperandKind.ALU, n)


def const(n):
    return Operand(OperandKind.CONST, n)


IMM = Operand.immediate()


def vop(op, stype=I8, dtype=None, *operands, dst=None, imm=0):
    """An encoded VXM instruction; ``dst`` is ``(Direction, stream)`` or ``None``."""
    fields = {"stype": stype, "dtype": dtype or stype, "imm": imm}
    fields.update(zip(spec_for(ALU, op.value).operands, operands))
    if dst is not None:
        fields.update(dst_en=1, dst_dir=dst[0], dst_stream=dst[1])
    return encode(ALU, op, **fields)


def with_field(word, name, raw):
    """``word`` with field ``name`` of the vector format replaced by the raw bits ``raw``."""
    lsb, f = FORMATS["vector"].positions[name]
    mask = ((1 << f.width) - 1) << lsb
    return word & ~mask | (raw << lsb) & mask


def wrap32(value):
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def to_planes(values, dtype):
    """Lane values of ``dtype`` as ``dtype.bytes`` packed stream words."""
    return [pack(plane) for plane in to_bytes(np.asarray(values), dtype)]


def from_planes(words, dtype):
    return from_bytes([unpack(word, LANES) for word in words], dtype)


class VxmModel:
    """The VXM and the stream hops it feeds, one cycle per :meth:`step`.

    ``fold`` is the ALUs' ``vxm_fold`` (the harness's by default); ``fault`` computes SUB as
    ``b - a`` (a deliberate error).
    """

    def __init__(self, *, fold=FOLD, fault=False):
        self.fault = fault
        self.fold = fold
        # An operation issued in cycle t acts in cycles t + 1 (LDC, LUTW) and t + fold (the
        # others: the lanes are computed, reading the table), and a folded ALU's result leaves
        # the lane pipeline's registers later; its ALU refuses operations until cycle
        # t + interval, which may be before the result leaves.
        self.interval = vxm_issue_interval(CONFIG.derive(vxm_fold=fold))
        self.pipeline = FOLDED_VXM_STAGES if fold > 1 else 0
        self.refusing = [0] * ALUS      # cycles from now in which ALU j refuses an operation
        zero = np.zeros(LANES, dtype=np.int64)
        self.results = [zero] * ALUS
        self.consts = [zero] * CONSTS
        self.tables = [np.zeros(LUT_ENTRIES, dtype=np.int64) for _ in range(ALUS)]
        self.table_known = [np.zeros(LUT_ENTRIES, dtype=bool) for _ in range(ALUS)]
        self.inflight = []              # [ALU, instr, imm, a, b, c, cycles since issue, result]
        self.east_next = [0] * STREAMS
        self.west_next = [0] * STREAMS
        self.covered = set()        # (op, stype, dtype) computed with a stream result

    def operand(self, operand, stype, imm, east, west):
        if operand.kind in (OperandKind.EAST, OperandKind.WEST):
            streams = east if operand.kind is OperandKind.EAST else west
            value = from_planes(streams[operand.index:operand.index + stype.bytes], stype)
        elif operand.kind is OperandKind.ALU:
            value = self.results[operand.index]
        elif operand.index == IMMEDIATE_INDEX:
            value = np.full(LANES, imm, dtype=np.int64)
        else:
            value = self.consts[operand.index]
        return read_as(value, stype)

    def step(self, issues, east, west, clear=0):
        """Advance one cycle: ``issues[j]`` is ALU ``j``'s ``(word, offset)`` or ``None``,
        ``east``/``west`` the stream registers at the VXM. Returns each ALU's error flags
        in this cycle; :attr:`east_next`/:attr:`west_next` then hold the next cycle's
        downstream registers."""
        errors = [0] * ALUS
        issued = {}
        streams_claimed, consts_claimed = set(), set()
        for j, issue in enumerate(issues):
            if issue is None:
                continue
            word, offset = issue
            instr = decode(ALU, word)
            if opcode_of(word) < FIRST_UNIT_OPCODE:
                # The queue executes control opcodes itself; one reaching the unit is illegal.
                flag = ErrorFlag.ILLEGAL_OPCODE
            else:
                flag = check(CONFIG, ALU, instr, offset)
            if not flag and self.refusing[j]:
                flag = ErrorFlag.BAD_OPERAND            # the ALU is still computing
            if flag:
                errors[j] = int(flag)
                continue
            imm = wrap32(instr.imm + offset)
            claims = set()
            if instr.spec.result and instr.dst_en:
                claims = {(instr.dst_dir, instr.dst_stream + k) for k in range(instr.dtype.bytes)}
            if claims & streams_claimed or (instr.op is V.LDC and imm in consts_claimed):
                errors[j] = int(ErrorFlag.STREAM_CONFLICT)     # the lower ALU wins
                continue
            streams_claimed |= claims
            if instr.op is V.LDC:
                consts_claimed.add(imm)
            values = [self.operand(getattr(instr, name), instr.stype, imm, east, west)
                      if name in instr.spec.operands else np.zeros(LANES, dtype=np.int64)
                      for name in "abc"]
            issued[j] = [j, instr, imm, *values, 0, None]

        east_next, west_next = list(east), list(west)
        results = list(self.results)
        loads = []
        for entry in self.inflight:
            entry[-2] += 1
            j, instr, imm, a, b, c, age, result = entry
            if instr.op is V.LDC:
                if age == 1:
                    loads.append((imm, a))
            elif instr.op is V.LUTW:
                if age == 1:
                    self.tables[j] = lut_write(self.tables[j], imm, a)
                    self.table_known[j][imm:imm + LANES] = True
            elif age == self.fold:
                if instr.op is V.LUT:
                    assert self.table_known[j][a & (LUT_ENTRIES - 1)].all(), \
                        "test bug: LUT reads a table entry the test never wrote"
                if instr.op is V.SUB and self.fault:
                    a, b = b, a
                entry[-1] = compute(instr.op, instr.stype, instr.dtype, a, b, c,
                                    table=self.tables[j])
            if instr.op not in (V.LDC, V.LUTW) and age == self.fold + self.pipeline:
                result = entry[-1]
                results[j] = result
                if instr.dst_en:
                    target = east_next if instr.dst_dir is E else west_next
                    for k, plane in enumerate(to_planes(result, instr.dtype)):
                        target[instr.dst_stream + k] = plane
                    self.covered.add((instr.op, instr.stype, instr.dtype))
        if clear:
            zero = np.zeros(LANES, dtype=np.int64)
            east_next, west_next = [0] * STREAMS, [0] * STREAMS
            results, self.consts, issued = [zero] * ALUS, [zero] * CONSTS, {}
            self.inflight = []
        for index, value in loads:
            self.consts[index] = value
        self.results = results
        self.refusing = [max(0, r - 1) for r in self.refusing]
        for j in issued:
            self.refusing[j] = self.interval - 1
        if clear:
            self.refusing = [0] * ALUS
        self.inflight = [entry for entry in self.inflight
                         if entry[-2] < self.fold + self.pipeline] + list(issued.values())
        self.east_next, self.west_next = east_next, west_next
        return errors


class VxmBench(StreamBench):
    def __init__(self, dut):
        super().__init__(dut, STREAMS, VxmModel(fault=FAULT), "vxm")
        self.issue = [(getattr(dut, f"issue__{j}__valid"), getattr(dut, f"issue__{j}__word"),
                       getattr(dut, f"issue__{j}__offset")) for j in range(ALUS)]
        self.error = [getattr(dut, f"error__{j}") for j in range(ALUS)]

    async def start(self):
        self.apply([None] * ALUS, [0] * STREAMS, [0] * STREAMS, 0)
        await reset(self.dut)
        # Clear the unit (the stream registers have no reset); the model starts cleared.
        self.apply([None] * ALUS, [0] * STREAMS, [0] * STREAMS, 1)
        await RisingEdge(self.dut.clk)

    def apply(self, issues, east, west, clear):
        for (valid, word, offset), issue in zip(self.issue, issues):
            valid.value = int(issue is not None)
            word.value, offset.value = issue or (0, 0)
        self.streams.drive(east, west)
        self.dut.clear.value = clear

    async def step(self, *issues, east=None, west=None, clear=0):
        """Run one cycle: ALU ``j`` issues ``issues[j]`` (a word, ``(word, offset)`` or
        ``None``); the stream registers at the VXM hold ``east``/``west`` (default: what the
        last cycle's held). Checks the cycle; returns ``(errors, east_next, west_next)``."""
        issues = list(issues) + [None] * (ALUS - len(issues))
        issues = [(i, 0) if isinstance(i, int) else i for i in issues]
        errors, streams = await self.clock(
            issues, east, west, clear, lambda e, w: self.model.step(issues, e, w, clear))
        observed = ([int(h.value) for h in self.error], *streams)
        for j in range(ALUS):
            self.board.compare(self.cycle, f"error[{j}]", errors[j], observed[0][j])
        return self.record(observed)

    async def load_tables(self, rng):
        """Write every entry of every ALU's lookup table with random int32 values."""
        for base in range(0, LUT_ENTRIES, LANES):
            values = [rng.choice([rng.getrandbits(32), rng.choice(EDGES)]) for _ in range(LANES)]
            east = to_planes(values, I32) + [0] * (STREAMS - 4)
            await self.step(*[vop(V.LUTW, I32, I32, e(0), imm=base)] * ALUS, east=east)
            await self.idle(FOLD - 1)         # a folded ALU's issue interval


def edge_values(rng, dtype, small=False):
    """A lane vector of ``dtype`` values, edge-heavy; ``small`` favours shift amounts."""
    lo, hi = -(1 << (dtype.bits - 1)), (1 << (dtype.bits - 1)) - 1
    values = []
    for _ in range(LANES):
        roll = rng.random()
        if small and roll < 0.5:
            values.append(rng.randrange(-40, 41))
        elif roll < 0.5:
            values.append(rng.choice(EDGES))
        else:
            values.append(rng.randrange(lo, hi + 1))
    return read_as(np.array(values, dtype=np.int64), dtype)


def random_streams(rng, small_group=None):
    """Stream registers for one direction: each aligned group of 4 streams carries values of
    a random type; group ``small_group`` favours small values (shift amounts)."""
    words = []
    for group in range(STREAMS // 4):
        dtype = rng.choice(list(DType))
        for _ in range(4 // dtype.bytes):
            words += to_planes(edge_values(rng, dtype, small=group == small_group), dtype)
    return words


@cocotb.test()
async def result_latency_on_streams_and_registers(dut):
    """An operation issued in cycle t: its result is at the next position in cycle t + 2 and
    in its result register for operands read from cycle t + 2 (hand-written values)."""
    bench = VxmBench(dut)
    await bench.start()
    east = to_planes([lane - 8 for lane in range(LANES)], I16) + [0] * (STREAMS - 2)
    west = [0x77 * (s + 1) for s in range(STREAMS)]
    seen = [await bench.step(vop(V.ADD, I16, I16, e(0), IMM, dst=(E, 2), imm=300),
                             east=east, west=west)]
    seen.append(await bench.step(None, vop(V.MOV, I16, I16, alu(0), dst=(W, 0))))
    seen.append(await bench.step(None, vop(V.MOV, I16, I16, alu(0), dst=(W, 2))))
    for _ in range(3):
        seen.append(await bench.step())
    total = [lane - 8 + 300 for lane in range(LANES)]
    for t, (errors, east_next, west_next) in enumerate(seen):
        assert errors == [0] * ALUS
        expected_e = list(east) if t else [0] * STREAMS
        expected_w = list(west) if t else [0] * STREAMS
        if t == 2:
            expected_e[2:4] = to_planes(total, I16)
        if t == 3:
            expected_w[0:2] = [0, 0]            # read in cycle 1: the cleared register
        if t == 4:
            expected_w[2:4] = to_planes(total, I16)
        assert east_next == expected_e, f"cycle {t}: east_next"
        assert west_next == expected_w, f"cycle {t}: west_next"
    bench.board.check()


@cocotb.test()
async def every_operation_and_type_pair(dut):
    """Every operation with a result, for all 9 source/destination type pairs, with edge and
    random operands from east and west streams (both ALUs, each to its own direction)."""
    bench = VxmBench(dut)
    await bench.start()
    rng = random.Random(1)
    await bench.load_tables(rng)
    for _ in range(3):
        for op in RESULT_OPS:
            for stype, dtype in TYPE_PAIRS:
                east, west = random_streams(rng, small_group=1), random_streams(rng, 1)
                dst_e = rng.randrange(0, STREAMS, dtype.bytes)
                dst_w = rng.randrange(0, STREAMS, dtype.bytes)
                await bench.step(vop(op, stype, dtype, e(0), w(0), e(4), dst=(E, dst_e)),
                                 vop(op, stype, dtype, w(4), e(0), w(4), dst=(W, dst_w)),
                                 east=east, west=west)
    await bench.idle(LATENCY)
    missing = {(op, s, d) for op in RESULT_OPS for s, d in TYPE_PAIRS} - bench.model.covered
    assert not missing, f"not covered: {sorted(missing, key=str)[:5]}"
    bench.board.check()


@cocotb.test()
async def operands_from_registers_constants_and_immediates(dut):
    """Operands read from ALU result registers, constant registers and the immediate (with
    REPEAT offsets reaching the int32 extremes), against the model."""
    bench = VxmBench(dut)
    await bench.start()
    rng = random.Random(2)
    await bench.load_tables(rng)
    for k in range(CONSTS):
        east = to_planes(edge_values(rng, I32, small=k % 2), I32) + [0] * (STREAMS - 4)
        await bench.step(vop(V.LDC, I32, I32, e(0), imm=k), east=east)
    for _ in range(400):
        op = rng.choice(RESULT_OPS)
        stype, dtype = rng.choice(TYPE_PAIRS)
        sources = [alu(0), alu(1), const(rng.randrange(CONSTS)), IMM]
        issues = []
        for j in range(ALUS):
            operands = [rng.choice(sources) for _ in range(3)]
            imm = rng.choice([0, 1, -1, 5, IMM_MAX, IMM_MIN, rng.randrange(-40, 40)])
            offset = rng.choice([0, 0, 0, INT32_MIN - imm, INT32_MAX - imm, rng.getrandbits(16)])
            dst = (Direction(j), rng.randrange(0, STREAMS, dtype.bytes))
            issues.append((vop(op, stype, dtype, *operands, dst=dst, imm=imm), wrap32(offset)))
        await bench.step(*issues, east=random_streams(rng), west=random_streams(rng))
    await bench.idle(LATENCY)
    bench.board.check()


@cocotb.test()
async def stream_conflicts_let_the_lower_alu_win(dut):
    """Two results for one stream register in one cycle: ALU 0's takes effect, ALU 1's is
    dropped (its result register keeps its old value) and flagged STREAM_CONFLICT. Different
    directions do not conflict; two LDCs to one constant register conflict."""
    bench = VxmBench(dut)
    await bench.start()
    west = [0x55] * STREAMS
    errors, _, _ = await bench.step(vop(V.MOV, I8, I8, IMM, dst=(E, 2), imm=1),
                                    vop(V.MOV, I32, I32, IMM, dst=(E, 0), imm=2),
                                    west=west)
    assert errors == [0, ErrorFlag.STREAM_CONFLICT]
    await bench.step(None, vop(V.MOV, I32, I32, alu(1), dst=(W, 4)))
    _, east_next, _ = await bench.step(vop(V.MOV, I8, I8, IMM, dst=(E, 1), imm=3),
                                       vop(V.MOV, I8, I8, IMM, dst=(W, 1), imm=4))
    assert east_next[:4] == [0, 0, pack([1] * LANES), 0]
    _, _, west_next = await bench.step()
    assert west_next[4:8] == [0] * 4                     # ALU 1's result register: still 0
    _, east_next, west_next = await bench.step()
    assert east_next[1] == pack([3] * LANES) and west_next[1] == pack([4] * LANES)
    errors, _, _ = await bench.step(vop(V.LDC, I8, I8, IMM, imm=5),
                                    vop(V.LDC, I8, I8, w(0), imm=5))
    assert errors == [0, ErrorFlag.STREAM_CONFLICT]
    await bench.idle(2)
    await bench.step(vop(V.MOV, I8, I8, const(5), dst=(E, 0)))
    await bench.idle(1)
    _, east_next, _ = await bench.step()
    assert east_next[0] == pack([5] * LANES)
    bench.board.check()


@cocotb.test()
async def table_and_constant_timing(dut):
    """A LUTW issued in cycle t is seen by a LUT issued in cycle t + 1, and writes only the
    entries below 256; an LDC issued in cycle t is seen by operands read from cycle t + 2, not
    t + 1."""
    bench = VxmBench(dut)
    await bench.start()
    old = [100 + k for k in range(LANES)]
    new = [-1000 - k for k in range(LANES)]
    index = to_planes(list(range(LANES)), I8)[0]
    await bench.step(vop(V.LUTW, I32, I32, e(0), imm=0),
                     east=to_planes(old, I32) + [0] * (STREAMS - 4))
    await bench.step(vop(V.LUTW, I32, I32, e(0), imm=0),
                     east=to_planes(new, I32) + [0] * (STREAMS - 4))
    await bench.step(vop(V.LUT, I8, I32, e(7), dst=(W, 0)), east=[0] * (STREAMS - 1) + [index])
    await bench.idle(1)
    _, _, west_next = await bench.step()
    assert from_planes(west_next[0:4], I32).tolist() == new
    # A LUTW near the end of the table writes only the entries that exist (no wrap to 0).
    last = [7000 + k for k in range(LANES)]
    await bench.step(vop(V.LUTW, I32, I32, e(0), imm=LUT_ENTRIES - LANES // 2),
                     east=to_planes(last, I32) + [0] * (STREAMS - 4))
    ends = to_planes([LUT_ENTRIES - LANES // 2 + k for k in range(LANES)], I8)[0]
    await bench.step(vop(V.LUT, I8, I32, e(7), dst=(W, 0)), east=[0] * (STREAMS - 1) + [ends])
    await bench.idle(1)
    _, _, west_next = await bench.step()
    assert from_planes(west_next[0:4], I32).tolist() == last[:LANES // 2] + new[:LANES // 2]
    # LDC in cycle t (c3 = 3); ALU 1 reads c3 in cycle t + 1 (old) and t + 2 (new).
    await bench.step(vop(V.LDC, I32, I32, IMM, imm=3))
    await bench.step(None, vop(V.MOV, I32, I32, const(3), dst=(E, 0)))
    await bench.step(None, vop(V.MOV, I32, I32, const(3), dst=(E, 4)))
    _, east_next, _ = await bench.step()
    assert from_planes(east_next[0:4], I32).tolist() == [0] * LANES
    _, east_next, _ = await bench.step()
    assert from_planes(east_next[4:8], I32).tolist() == [3] * LANES
    bench.board.check()


#: Illegal VXM instructions and the flag each raises (hand-written from isa.legality's rules).
def illegal_instructions():
    mov = vop(V.MOV, I8, I8, e(0), dst=(E, 0))
    add = vop(V.ADD, I8, I8, e(0), w(1), dst=(E, 0))
    BAD, ILL = ErrorFlag.BAD_OPERAND, ErrorFlag.ILLEGAL_OPCODE
    return [
        (with_field(mov, "stype", 3), 0, BAD),
        (with_field(mov, "dtype", 3), 0, BAD),
        (vop(V.MOV, I16, I16, e(1), dst=(E, 0)), 0, BAD),          # misaligned source
        (vop(V.MOV, I32, I32, e(6), dst=(E, 0)), 0, BAD),          # misaligned source
        (vop(V.MOV, I8, I16, e(0), dst=(W, 7)), 0, BAD),           # misaligned result
        (with_field(mov, "dst_stream", STREAMS), 0, BAD),          # no such stream
        (with_field(add, "b", OperandKind.WEST.value << 5 | STREAMS), 0, BAD),
        (vop(V.ADD, I8, I8, e(0), alu(ALUS), dst=(E, 0)), 0, BAD),
        (vop(V.ADD, I8, I8, const(CONSTS), e(0), dst=(E, 0)), 0, BAD),
        (vop(V.SEL, I8, I8, e(0), e(1), const(30), dst=(E, 0)), 0, BAD),
        (with_field(vop(V.LDC, I8, I8, e(0), imm=1), "dst_en", 1), 0, BAD),
        (vop(V.LDC, I8, I8, e(0), imm=CONSTS), 0, BAD),
        (vop(V.LDC, I8, I8, e(0), imm=1), -2, BAD),                # offset takes it below 0
        (vop(V.LUTW, I8, I8, e(0), imm=LUT_ENTRIES - 1), 1, BAD),
        (vop(V.LUTW, I8, I8, e(0), imm=0), -1, BAD),
        (with_field(mov, "dst_en", 0) & ~OPCODE_MASK | 7, 0, ILL),
        (with_field(mov, "dst_en", 0) & ~OPCODE_MASK | 34, 0, ILL),
        (with_field(mov, "dst_en", 0) | OPCODE_MASK, 0, ILL),
    ]


@cocotb.test()
async def illegal_operands_are_flagged_without_effect(dut):
    """Each illegal instruction raises its flag in its issue cycle and changes nothing: no
    stream write, no result register, constant or table change."""
    bench = VxmBench(dut)
    await bench.start()
    east = to_planes([9] * LANES, I8) * STREAMS
    await bench.step(vop(V.MOV, I8, I32, IMM, imm=-7), east=east, west=east)
    for word, offset, flag in illegal_instructions():
        errors, _, _ = await bench.step((word, offset), (word, offset))
        assert errors == [flag, flag], f"{word:#018x}+{offset}"
    await bench.idle(2)
    # Nothing was written: the streams pass unchanged, ALU 0's result is still -7, c0 is 0.
    _, east_next, west_next = await bench.step(vop(V.MOV, I32, I32, alu(0), dst=(W, 0)),
                                               vop(V.MOV, I32, I32, const(0), dst=(W, 4)))
    assert east_next == east and west_next == east
    await bench.idle(1)
    _, _, west_next = await bench.step()
    assert from_planes(west_next[0:4], I32).tolist() == [-7] * LANES
    assert from_planes(west_next[4:8], I32).tolist() == [0] * LANES
    bench.board.check()


def random_instruction(rng):
    """A random VXM instruction and offset, about 10% of them illegal."""
    op = rng.choice(list(V))
    spec = spec_for(ALU, op.value)
    stype, dtype = rng.choice(TYPE_PAIRS)
    operands = []
    for _ in spec.operands:
        roll = rng.random()
        if roll < 0.5:
            base = rng.randrange(0, STREAMS, stype.bytes)
            operands.append(e(base) if rng.random() < 0.5 else w(base))
        elif roll < 0.7:
            operands.append(alu(rng.randrange(ALUS)))
        elif roll < 0.85:
            operands.append(const(rng.randrange(CONSTS)))
        else:
            operands.append(IMM)
    if op is V.LDC:
        imm = rng.randrange(CONSTS)
    elif op is V.LUTW:
        imm = rng.randrange(LUT_ENTRIES)
    else:
        imm = rng.choice([rng.randrange(-40, 40), rng.randrange(IMM_MIN, IMM_MAX + 1)])
    dst = None
    if spec.result and rng.random() < 0.8:
        dst = (Direction(rng.randrange(2)), rng.randrange(0, STREAMS, dtype.bytes))
    word = vop(op, stype, dtype, *operands, dst=dst, imm=imm)
    offset = 0
    roll = rng.random()
    if roll < 0.04:
        word = with_field(word, rng.choice(["stype", "dtype"]), 3)
    elif roll < 0.08:
        word = with_field(word, "dst_stream", rng.randrange(32))
    elif roll < 0.1:
        word = word & ~OPCODE_MASK | rng.choice([0, 5, 34, 63])
    elif roll < 0.15 and op not in (V.LDC, V.LUTW):
        offset = rng.randrange(-(1 << 31), 1 << 31)
    return word, offset


async def random_program(dut, seed, rate):
    """600 cycles of random instruction pairs (legal and illegal, conflicts included), each
    ALU issuing with probability ``rate``, on random stream traffic, checked cycle by cycle;
    every kind of flag must have been raised."""
    bench = VxmBench(dut)
    await bench.start()
    rng = random.Random(seed)
    await bench.load_tables(rng)
    flags = set()
    for _ in range(600):
        issues = [random_instruction(rng) if rng.random() < rate else None
                  for _ in range(ALUS)]
        errors, _, _ = await bench.step(*issues, east=random_streams(rng, 1),
                                        west=random_streams(rng, 1),
                                        clear=int(rng.random() < 0.01))
        flags |= set(errors)
    assert flags == {0, ErrorFlag.ILLEGAL_OPCODE, ErrorFlag.BAD_OPERAND,
                     ErrorFlag.STREAM_CONFLICT}
    await bench.idle(LATENCY)
    bench.board.check()


@cocotb.test()
async def random_programs_match_the_model(dut):
    """Random instruction pairs (legal and illegal, conflicts included) on random stream
    traffic, checked cycle by cycle."""
    await random_program(dut, 3, 0.85)


@cocotb.test()
async def two_ldcs_to_different_registers(dut):
    """Two LDCs in one cycle to different constant registers both take effect (only the same
    register is a conflict). (An earlier RTL had one constant-register write port.)"""
    bench = VxmBench(dut)
    await bench.start()
    errors, _, _ = await bench.step(vop(V.LDC, I8, I8, IMM, imm=1),
                                    vop(V.LDC, I8, I8, IMM, imm=2))
    assert errors == [0, 0]
    await bench.idle(1)
    await bench.step(vop(V.MOV, I8, I8, const(1), dst=(E, 0)),
                     vop(V.MOV, I8, I8, const(2), dst=(W, 0)))
    await bench.idle(1)
    _, east_next, west_next = await bench.step()
    assert east_next[0] == pack([1] * LANES)
    assert west_next[0] == pack([2] * LANES), "ALU 1's LDC was lost"
    bench.board.check()

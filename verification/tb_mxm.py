"""cocotb testbench of the MXM at its stream position (:func:`~verification.harness.mxm_harness`).

The module runs on two harnesses and reads which one from ``COCOTB_TOPLEVEL``: ``lpu_mxm``
(``mxm_fold = 1``) and ``lpu_mxm_folded`` (``mxm_fold = 4``).

Oracle: :class:`MxmModel`, a cycle model written from the MXM's contract, not from
:mod:`hdl.mxm` or :mod:`golden.archsim`: the "Matrix unit" rules of :mod:`isa.timing`
(:func:`~isa.timing.mxm_latency`, :data:`~isa.timing.LOAD_TO_INSTALL`, one MM per ``mxm_fold``
cycles), the ``load`` and ``matmul`` formats, and the LW / LB / MM legality rules restated here
(and checked against :func:`isa.legality.check_word`). Its arithmetic is int64 NumPy with explicit
int32 wrapping. The directed tests also check hand-computed values.

The testbench drives the stream registers at the MXM (``east_in``/``west_in``) and both issue
ports, and observes the registers one position downstream (``east_next``/``west_next``) and both
error outputs. Weights, bias and accumulator rows are observed through MMs that emit them.
"""

import os
import random

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from isa.formats import FORMATS
from isa.geometry import QueueKind
from isa.host import ErrorFlag
from isa.legality import check_word
from isa.opcodes import Direction, MatrixLoadOp, MatrixOp, opcode_of
from isa.timing import LOAD_TO_INSTALL, mxm_latency
from .harness import unit_config
from .scoreboard import FAULT, StreamBench, pack, reset, unpack

UNIT = os.environ.get("COCOTB_TOPLEVEL", "lpu_mxm").removeprefix("lpu_")
CONFIG = unit_config(UNIT)
LANES, STREAMS, DEPTH = CONFIG.lanes, CONFIG.streams, CONFIG.mxm_acc_depth
FOLD = CONFIG.mxm_fold
LATENCY = mxm_latency(CONFIG)
BITS = CONFIG.vector_bits
LOAD, COMPUTE = QueueKind.MXM_LOAD, QueueKind.MXM_COMPUTE
LW, LB, MM = MatrixLoadOp.LW, MatrixLoadOp.LB, MatrixOp.MM
E, W = Direction.EAST, Direction.WEST
BAD, ILLEGAL, RANGE = ErrorFlag.BAD_OPERAND, ErrorFlag.ILLEGAL_OPCODE, ErrorFlag.ADDRESS_RANGE
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
#: Byte planes of the int32 bias.
BIAS_PLANES = 4
#: Streams an emitted int32 row occupies.
ROW_STREAMS = 4
ZERO = [0] * STREAMS

assert LOAD_TO_INSTALL == 1, "MxmModel installs the shadow as loaded up to the previous cycle"
assert STREAMS <= LANES, "the load tests fill up to `streams` rows at once"


def load_word(op, row, stream, count, direction=E):
    """An LW/LB-format word with any opcode (a :class:`MatrixLoadOp` or a raw number)."""
    return FORMATS["load"].pack(getattr(op, "value", op),
                                {"row": row, "stream": stream, "count": count, "dir": direction})


def mm_word(acc, act=0, act_dir=E, *, accumulate=0, emit=0, install=0, out=0, out_dir=E, op=MM):
    """An MM-format word with any opcode."""
    return FORMATS["matmul"].pack(getattr(op, "value", op), {
        "act_stream": act, "act_dir": act_dir, "acc": acc, "accumulate": accumulate,
        "emit": emit, "install": install, "out_stream": out, "out_dir": out_dir})


def wrap32(value):
    """``value`` (an int or an int64 array) wrapped to int32."""
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def int8_lanes(word):
    """The signed int8 lanes of a stream word."""
    return np.array([(byte ^ 0x80) - 0x80 for byte in unpack(word, LANES)], dtype=np.int64)


def int32_planes(values):
    """int32 lane values as four stream words, least significant byte first."""
    return [pack([(int(v) >> 8 * b) & 0xFF for v in values]) for b in range(ROW_STREAMS)]


def from_int32_planes(words):
    """Inverse of :func:`int32_planes`: signed lane values."""
    planes = [unpack(word, LANES) for word in words]
    return [wrap32(sum(planes[b][lane] << 8 * b for b in range(ROW_STREAMS)))
            for lane in range(LANES)]


class MxmModel:
    """The MXM and the two stream hops its outputs feed, one cycle per :meth:`step`.

    ``fault`` multiplies by the transposed weights (a deliberate error).
    """

    def __init__(self, *, fault=False):
        self.fault = fault
        self.shadow = np.zeros((LANES, LANES), dtype=np.int64)   # row k: input lane k's weights
        self.weights = self.shadow.copy()
        self.shadow_bias = np.zeros((BIAS_PLANES, LANES), dtype=np.int64)   # byte planes
        self.bias = np.zeros(LANES, dtype=np.int64)
        self.acc = np.zeros((DEPTH, LANES), dtype=np.int64)
        self.known = np.zeros(DEPTH, dtype=bool)
        self.cycle = 0
        self.free = 0           # first cycle in which an MM may issue
        self.flight = []        # issued MMs, in issue order
        self.east_next = list(ZERO)
        self.west_next = list(ZERO)
        self.emitted = 0
        self.combinations = set()   # (accumulate, emit, install) of the MMs that took effect

    def load_flag(self, issue):
        if issue is None:
            return 0
        word, offset = issue
        op = opcode_of(word)
        if op not in (LW.value, LB.value):
            return int(ILLEGAL)
        f = FORMATS["load"].unpack(word)
        row, count = f["row"] + offset, f["count"]
        rows = BIAS_PLANES if op == LB.value else LANES
        ok = count >= 1 and f["stream"] + count <= STREAMS and 0 <= row and row + count <= rows
        flag = 0 if ok else int(BAD)
        assert flag == check_word(CONFIG, LOAD, word, offset), "model and isa.legality differ"
        return flag

    def compute_flag(self, issue):
        if issue is None:
            return 0
        word, offset = issue
        if opcode_of(word) != MM.value:
            return int(ILLEGAL)
        f = FORMATS["matmul"].unpack(word)
        out_ok = f["out_stream"] % ROW_STREAMS == 0 and f["out_stream"] + ROW_STREAMS <= STREAMS
        if f["act_stream"] >= STREAMS or (f["emit"] and not out_ok):
            flag = int(BAD)
        elif not 0 <= f["acc"] + offset < DEPTH:
            flag = int(RANGE)
        else:
            flag = 0
        assert flag == check_word(CONFIG, COMPUTE, word, offset), "model and isa.legality differ"
        if not flag and self.cycle < self.free:
            flag = int(BAD)     # the array is still busy with the previous MM
        return flag

    def step(self, load, compute, east, west, clear=0):
        """Advance one cycle: ``load``/``compute`` are ``(word, offset)`` or ``None``,
        ``east``/``west`` the stream registers at the MXM. Returns the two error outputs of
        this cycle; :attr:`east_next`/:attr:`west_next` then hold the next cycle's downstream
        registers."""
        t = self.cycle
        load_flag, compute_flag = self.load_flag(load), self.compute_flag(compute)
        east_next, west_next = list(east), list(west)
        # The MM whose row is sent this cycle updates its accumulator row (in issue order, so
        # it sees every earlier MM's row).
        if self.flight and self.flight[0]["send"] == t:
            mm = self.flight.pop(0)
            row = mm["row"]
            if mm["accumulate"]:
                assert self.known[row], "test bug: accumulates into a row never written"
                start = self.acc[row]
            else:
                start = mm["bias"]
            self.acc[row] = wrap32(start + mm["product"])
            self.known[row] = True
            if mm["emit"]:
                target = east_next if mm["out_dir"] is E else west_next
                target[mm["out"]:mm["out"] + ROW_STREAMS] = int32_planes(self.acc[row])
                self.emitted += 1
        # An MM issued now: install first (the shadow as loaded before this cycle), then
        # multiply this cycle's activation.
        if compute is not None and not compute_flag:
            f = FORMATS["matmul"].unpack(compute[0])
            if f["install"]:
                self.weights = self.shadow.copy()
                self.bias = wrap32(sum(self.shadow_bias[b] << 8 * b for b in range(BIAS_PLANES)))
            registers = east if f["act_dir"] is E else west
            activation = int8_lanes(registers[f["act_stream"]])
            weights = self.weights.T if self.fault else self.weights
            self.flight.append({
                "send": t + LATENCY - 1, "row": f["acc"] + compute[1],
                "accumulate": f["accumulate"], "emit": f["emit"], "out": f["out_stream"],
                "out_dir": f["out_dir"], "product": activation @ weights,
                "bias": self.bias.copy()})
            self.free = t + FOLD
            self.combinations.add((f["accumulate"], f["emit"], f["install"]))
        # Loads write the shadow at the end of the cycle.
        if load is not None and not load_flag:
            f = FORMATS["load"].unpack(load[0])
            row = f["row"] + load[1]
            registers = east if f["dir"] is E else west
            for k in range(f["count"]):
                word = registers[f["stream"] + k]
                if opcode_of(load[0]) == LW.value:
                    self.shadow[row + k] = int8_lanes(word)
                else:
                    self.shadow_bias[row + k] = unpack(word, LANES)
        if clear:
            # Program start: zero the weights and bias, drop the MMs in flight (a row sent in
            # this very cycle was written; the stream registers it went to are cleared).
            self.shadow[:], self.weights[:], self.shadow_bias[:], self.bias[:] = 0, 0, 0, 0
            self.flight = []
            self.free = t + 1
            east_next, west_next = list(ZERO), list(ZERO)
        self.east_next, self.west_next = east_next, west_next
        self.cycle += 1
        return load_flag, compute_flag


class MxmBench(StreamBench):
    """Drives the harness one cycle at a time and checks every cycle against the model.

    :attr:`seen` records what was observed in each cycle, by cycle number:
    ``(load_error, compute_error, east_next, west_next)``.
    """

    def __init__(self, dut):
        super().__init__(dut, STREAMS, MxmModel(fault=FAULT), UNIT)
        self.ports = [(getattr(dut, f"{queue}__valid"), getattr(dut, f"{queue}__word"),
                       getattr(dut, f"{queue}__offset")) for queue in ("load", "compute")]

    def apply(self, issues, east, west, clear):
        for (valid, word, offset), issue in zip(self.ports, issues):
            valid.value = int(issue is not None)
            word.value, offset.value = issue or (0, 0)
        self.streams.drive(east, west)
        self.dut.clear.value = clear

    async def start(self):
        """Reset and clear, then give every accumulator row a known value (the rows have no
        reset): an MM without ``accumulate`` writes the bias, zero after the clear."""
        self.apply([None, None], ZERO, ZERO, 0)
        await reset(self.dut)
        self.apply([None, None], ZERO, ZERO, 1)
        await RisingEdge(self.dut.clk)
        for row in range(DEPTH):
            await self.step(compute=mm_word(row), east=ZERO, west=ZERO)
            await self.idle(FOLD - 1)
        await self.idle(LATENCY)

    async def step(self, load=None, compute=None, *, east=None, west=None, clear=0):
        """Run one cycle: the queues issue ``load``/``compute`` (a word, ``(word, offset)``
        or ``None``); the stream registers at the MXM hold ``east``/``west`` (default: the
        previous cycle's). Checks the cycle and returns what was observed in it."""
        issues = [(i, 0) if isinstance(i, int) else i for i in (load, compute)]
        flags, streams = await self.clock(
            issues, east, west, clear, lambda e, w: self.model.step(*issues, e, w, clear))
        observed = (int(self.dut.load_error.value), int(self.dut.compute_error.value), *streams)
        self.board.compare(self.cycle, "load_error", flags[0], observed[0])
        self.board.compare(self.cycle, "compute_error", flags[1], observed[1])
        return self.record(observed)

    def row_at(self, cycle, direction, out):
        """The int32 row on streams ``out .. out + 3`` downstream in ``cycle``."""
        registers = self.seen[cycle][2 if direction is E else 3]
        return from_int32_planes(registers[out:out + ROW_STREAMS])

    async def load_weights(self, rows, *, direction=W):
        """Load all weight rows (``rows[k]`` is input lane k's int8 weights), ``streams`` rows
        per LW."""
        for base in range(0, LANES, STREAMS):
            words = [pack(rows[base + k]) for k in range(STREAMS)]
            streams = {"east" if direction is E else "west": words}
            await self.step(load_word(LW, base, 0, STREAMS, direction), **streams)

    async def load_bias(self, values, *, stream=0, direction=E):
        """Load the int32 bias ``values`` (four planes in one LB)."""
        words = list(self.east if direction is E else self.west)
        words[stream:stream + BIAS_PLANES] = int32_planes(values)
        streams = {"east" if direction is E else "west": words}
        await self.step(load_word(LB, 0, stream, BIAS_PLANES, direction), **streams)

    async def mm(self, compute, activation=None, *, act=0, act_dir=E, **streams):
        """Issue ``compute`` with the int8 lanes ``activation`` on stream ``act``; returns its
        issue cycle (``act``/``act_dir`` must be the word's). The next ``mxm_fold - 1`` cycles
        idle, so that the array is free again."""
        if activation is not None:
            words = list(streams.pop("east" if act_dir is E else "west", None) or
                         (self.east if act_dir is E else self.west))
            words[act] = pack(activation)
            streams["east" if act_dir is E else "west"] = words
        t = self.cycle
        await self.step(compute=compute, **streams)
        await self.idle(FOLD - 1)
        return t

    async def dump(self):
        """Emit every accumulator row unchanged (MMs accumulating a zero activation)."""
        for row in range(DEPTH):
            await self.mm(mm_word(row, accumulate=1, emit=1), east=ZERO)
        await self.idle(LATENCY)


async def started(dut):
    bench = MxmBench(dut)
    await bench.start()
    return bench


def random_words(rng, count=STREAMS):
    """Stream words whose int8 lanes favour the edges (-128, 127, 0, -1)."""
    def lane():
        return rng.choice([-128, 127, 0, -1, rng.randrange(-128, 128), rng.randrange(-128, 128)])
    return [pack([lane() for _ in range(LANES)]) for _ in range(count)]


def uniform(value):
    return [[value] * LANES for _ in range(LANES)]


@cocotb.test()
async def rows_reach_four_streams_after_the_latency(dut):
    """An MM issued in cycle t with ``emit`` puts its int32 row on streams out .. out + 3 one
    position downstream in cycle t + mxm_latency, and only there and then; for every output
    group and direction. Hand-computed: W = 2 I, so row[n] = 2 a[n] + bias[n]."""
    bench = await started(dut)
    rng = random.Random(1)
    await bench.load_weights([[2 if n == k else 0 for n in range(LANES)] for k in range(LANES)])
    bias = [1000 * n - 5000 for n in range(LANES)]
    await bench.load_bias(bias, stream=4)
    passing = [rng.getrandbits(BITS) for _ in range(STREAMS)]
    activation = [lane - 8 for lane in range(LANES)]
    expected = [2 * a + b for a, b in zip(activation, bias)]
    install = 1
    for direction in (E, W):
        for out in range(0, STREAMS, ROW_STREAMS):
            t = bench.cycle
            await bench.step(compute=mm_word(out // ROW_STREAMS, act=9, install=install, emit=1,
                                             out=out, out_dir=direction),
                             east=passing[:9] + [pack(activation)] + passing[10:], west=passing)
            install = 0
            await bench.idle(LATENCY + 1, east=passing, west=passing)
            assert bench.row_at(t + LATENCY, direction, out) == expected
            # From cycle t + 2 on, the registers downstream hold `passing` but for the row.
            for cycle in range(t + 2, t + LATENCY + 2):
                east_next, west_next = bench.seen[cycle][2:]
                sent = east_next if direction is E else west_next
                other = west_next if direction is E else east_next
                assert other == passing, f"cycle {cycle}: the other direction changed"
                unchanged = [s for s in range(STREAMS)
                             if cycle != t + LATENCY or not out <= s < out + ROW_STREAMS]
                assert [sent[s] for s in unchanged] == [passing[s] for s in unchanged], \
                    f"cycle {cycle}: a stream outside the row changed"
            assert bench.row_at(t + LATENCY - 1, direction, out) != expected
    bench.board.check()


@cocotb.test()
async def weight_loads_of_every_row_count(dut):
    """LW with 1 .. streams rows at random rows, streams, directions and REPEAT offsets (the
    issue offset moves the first row); after each, an MM with ``install`` whose one-hot
    activation picks the last row loaded (hand-checked: that row's weights) and an MM with a
    random activation (checked by the model)."""
    bench = await started(dut)
    rng = random.Random(2)
    for count in list(range(1, STREAMS + 1)) * 2:
        row = rng.randrange(LANES - count + 1)
        stream = rng.randrange(STREAMS - count + 1)
        field, offset = rng.choice([(row, 0), (0, row), (row + 9, -9), (row + 2000, -2000)])
        direction = rng.choice([E, W])
        words = random_words(rng)
        other = random_words(rng)
        await bench.step((load_word(LW, field, stream, count, direction), offset),
                         east=words if direction is E else other,
                         west=other if direction is E else words)
        last = row + count - 1
        one_hot = [int(lane == last) for lane in range(LANES)]
        t = await bench.mm(mm_word(0, act=3, act_dir=W, install=1, emit=1, out=8),
                           one_hot, act=3, act_dir=W)
        await bench.mm(mm_word(1, act=5, emit=1, out=12, out_dir=W),
                       [rng.randrange(-128, 128) for _ in range(LANES)], act=5)
        await bench.idle(LATENCY)
        expected = [int(v) for v in int8_lanes(words[stream + count - 1])]
        assert bench.row_at(t + LATENCY, E, 8) == expected, f"LW {count} rows at {row}: row {last}"
    bench.board.check()


@cocotb.test()
async def bias_loads_of_every_plane_count(dut):
    """LB with 1 .. 4 byte planes at every first plane, from random streams, directions and
    REPEAT offsets; planes not loaded keep their value. After each, an MM with ``install`` and a
    zero activation emits the bias (hand-checked from the planes loaded so far)."""
    bench = await started(dut)
    rng = random.Random(3)
    planes = [[0] * LANES for _ in range(BIAS_PLANES)]
    cases = [(first, count) for count in range(1, BIAS_PLANES + 1)
             for first in range(BIAS_PLANES - count + 1)]
    for first, count in cases * 2:
        stream = rng.randrange(STREAMS - count + 1)
        field, offset = rng.choice([(first, 0), (0, first), (first + 5, -5)])
        direction = rng.choice([E, W])
        words = random_words(rng)
        await bench.step((load_word(LB, field, stream, count, direction), offset),
                         east=words if direction is E else ZERO,
                         west=ZERO if direction is E else words)
        for k in range(count):
            planes[first + k] = unpack(words[stream + k], LANES)
        t = await bench.mm(mm_word(2, act=0, install=1, emit=1, out=4), east=ZERO, west=ZERO)
        await bench.idle(LATENCY)
        expected = [wrap32(sum(planes[b][lane] << 8 * b for b in range(BIAS_PLANES)))
                    for lane in range(LANES)]
        assert bench.row_at(t + LATENCY, E, 4) == expected, f"LB planes {first}+{count}"
    bench.board.check()


@cocotb.test()
async def install_uses_loads_issued_before_its_cycle(dut):
    """An MM with ``install`` in cycle t uses the LW / LB of cycle t - 1 and not those of cycle
    t; an MM without ``install`` keeps the installed weights and bias. Hand-computed with
    uniform weights w and bias b and an all-ones activation: each row is 16 w + b."""
    bench = await started(dut)
    ones = [1] * LANES
    await bench.load_bias([100] * LANES)                        # cycle c
    await bench.load_weights(uniform(1))                        # cycle c + 1
    words = [pack([2] * LANES)] * STREAMS
    t1 = bench.cycle                                            # LW(2) with the MM: not used
    await bench.step(load_word(LW, 0, 0, STREAMS, E),
                     mm_word(0, act=0, act_dir=W, install=1, emit=1),
                     east=words, west=[pack(ones)] * STREAMS)
    await bench.idle(FOLD - 1)
    t2 = bench.cycle                                            # LB(200) with the MM: not used
    await bench.step(load_word(LB, 0, 0, BIAS_PLANES, E),
                     mm_word(1, act=0, act_dir=W, install=1, emit=1),
                     east=int32_planes([200] * LANES) + ZERO[BIAS_PLANES:])
    await bench.idle(FOLD - 1)
    t3 = bench.cycle                                            # LW(3) with the MM: not used
    await bench.step(load_word(LW, 0, 0, STREAMS, E),
                     mm_word(2, act=0, act_dir=W, install=1, emit=1),
                     east=[pack([3] * LANES)] * STREAMS)
    await bench.idle(FOLD - 1)
    t4 = await bench.mm(mm_word(3, act=0, act_dir=W, emit=1))   # no install: still 2, 200
    t5 = await bench.mm(mm_word(4, act=0, act_dir=W, install=1, emit=1))
    await bench.idle(LATENCY)
    rows = [bench.row_at(t + LATENCY, E, 0) for t in (t1, t2, t3, t4, t5)]
    assert rows == [[LANES * w + b] * LANES
                    for w, b in ((1, 100), (2, 100), (2, 200), (2, 200), (3, 200))]
    bench.board.check()


@cocotb.test()
async def back_to_back_mms_accumulate_every_earlier_row(dut):
    """MMs issued every ``mxm_fold`` cycles, accumulating into the same row, alternating rows
    and mixed patterns: each reads its row as the previous MM left it (the accumulator
    forwarding path when fold = 1). Hand-checked for the repeated row: after k MMs the row is
    bias + k (a @ W)."""
    bench = await started(dut)
    rng = random.Random(5)
    weights = [[rng.randrange(-128, 128) for _ in range(LANES)] for _ in range(LANES)]
    bias = [rng.randrange(INT32_MIN, INT32_MAX) for _ in range(LANES)]
    await bench.load_weights(weights)
    await bench.load_bias(bias)
    activation = [rng.randrange(-128, 128) for _ in range(LANES)]
    product = [sum(activation[k] * weights[k][n] for k in range(LANES)) for n in range(LANES)]
    issued = []
    for k in range(6):
        issued.append(await bench.mm(mm_word(7, act=2, accumulate=int(k > 0), emit=1,
                                             install=int(k == 0), out=8),
                                     activation, act=2))
    await bench.idle(LATENCY)
    for k, t in enumerate(issued, start=1):
        assert bench.row_at(t + LATENCY, E, 8) == [wrap32(b + k * p)
                                                    for b, p in zip(bias, product)]
    for pattern in ([3, 4] * 4, [5, 6, 6, 5, 5, 6, 5], [8, 9, 10, 8, 9, 10, 10]):
        for row in pattern:
            await bench.mm(mm_word(row, act=1, act_dir=W, accumulate=1, emit=1,
                                   out=rng.randrange(0, STREAMS, ROW_STREAMS),
                                   out_dir=rng.choice([E, W])),
                           [rng.randrange(-128, 128) for _ in range(LANES)], act=1, act_dir=W)
    await bench.idle(LATENCY)
    bench.board.check()


@cocotb.test()
async def accumulate_emit_install_combinations(dut):
    """All eight combinations of ``accumulate``, ``emit`` and ``install``, in random order with
    loads in between, into random rows; then every row is emitted (model-checked)."""
    bench = await started(dut)
    rng = random.Random(6)
    combinations = [(a, e, i) for a in (0, 1) for e in (0, 1) for i in (0, 1)] * 6
    rng.shuffle(combinations)
    for accumulate, emit, install in combinations:
        words = random_words(rng)
        op = rng.choice([LW, LW, LB])
        count = rng.randrange(1, (BIAS_PLANES if op is LB else STREAMS) + 1)
        first = rng.randrange((BIAS_PLANES if op is LB else LANES) - count + 1)
        await bench.step(load_word(op, first, rng.randrange(STREAMS - count + 1), count),
                         east=words, west=random_words(rng))
        await bench.mm(mm_word(rng.randrange(DEPTH), act=rng.randrange(STREAMS),
                               act_dir=rng.choice([E, W]), accumulate=accumulate, emit=emit,
                               install=install, out=rng.randrange(0, STREAMS, ROW_STREAMS),
                               out_dir=rng.choice([E, W])),
                       east=random_words(rng), west=random_words(rng))
    await bench.dump()
    assert bench.model.combinations == {(a, e, i) for a in (0, 1) for e in (0, 1)
                                        for i in (0, 1)}
    bench.board.check()


@cocotb.test()
async def int32_accumulators_wrap_around(dut):
    """Rows of -128 x -128 (and -128 x 127) products summed over many MMs into accumulators that
    start near INT32_MAX (INT32_MIN) wrap modulo 2**32; hand-computed with Python integers."""
    bench = await started(dut)
    for weight, start, mms in ((-128, INT32_MAX - 100_000, 24), (127, INT32_MIN + 1000, 24),
                               (-128, INT32_MAX, 3), (127, INT32_MIN, 3)):
        await bench.load_weights(uniform(weight))
        await bench.load_bias([start] * LANES)
        per_mm = LANES * -128 * weight
        issued = []
        for k in range(mms):
            issued.append(await bench.mm(mm_word(11, act=15, accumulate=int(k > 0), emit=1,
                                                 install=int(k == 0), out=12),
                                         [-128] * LANES, act=15))
        await bench.idle(LATENCY)
        for k, t in enumerate(issued, start=1):
            expected = (start + k * per_mm + (1 << 31)) % (1 << 32) - (1 << 31)
            assert bench.row_at(t + LATENCY, E, 12) == [expected] * LANES, \
                f"weights {weight}, start {start}, after {k} MMs"
    # Mixed signs per lane: products of -128 and 127 in every combination.
    weights = [[(-128, 127)[(k + n) % 2] for n in range(LANES)] for k in range(LANES)]
    activation = [(-128, 127)[k % 3 == 0] for k in range(LANES)]
    await bench.load_weights(weights)
    await bench.load_bias([INT32_MAX - 7] * LANES)
    t = await bench.mm(mm_word(12, act=0, install=1, emit=1, out=0), activation, act=0)
    await bench.idle(LATENCY)
    assert bench.row_at(t + LATENCY, E, 0) == [
        wrap32(INT32_MAX - 7 + sum(activation[k] * weights[k][n] for k in range(LANES)))
        for n in range(LANES)]
    bench.board.check()


def illegal_loads():
    """Illegal LW / LB and the flag each raises (hand-written from the ISA documentation)."""
    return [
        (load_word(LW, 0, 0, 0), 0, BAD),                   # count 0
        (load_word(LB, 0, 0, 0), 0, BAD),
        (load_word(LW, LANES - 2, 0, 3), 0, BAD),           # rows beyond the last lane
        (load_word(LW, LANES, 0, 1), 0, BAD),
        (load_word(LW, 4095, 0, 1), 0, BAD),
        (load_word(LW, 0, 0, 1), LANES, BAD),               # the offset moves it past the end
        (load_word(LW, 3, 0, 1), -4, BAD),                  # ... or below row 0
        (load_word(LW, 0, 0, 1), (1 << 31) - 1, BAD),
        (load_word(LW, 5, 0, 1), -(1 << 31), BAD),
        (load_word(LW, 0, STREAMS - 2, 3), 0, BAD),         # streams beyond the last
        (load_word(LW, 0, STREAMS, 1), 0, BAD),
        (load_word(LW, 0, 31, 63, W), 0, BAD),
        (load_word(LW, 0, 0, STREAMS + 1), 0, BAD),
        (load_word(LB, 3, 0, 2), 0, BAD),                   # planes beyond 3
        (load_word(LB, BIAS_PLANES, 0, 1), 0, BAD),
        (load_word(LB, 0, 0, BIAS_PLANES + 1), 0, BAD),
        (load_word(LB, 0, 0, 1), BIAS_PLANES, BAD),
        (load_word(LB, 1, 0, 1), -2, BAD),
        (load_word(LB, 0, STREAMS - 1, 2, W), 0, BAD),
        (load_word(LB.value + 1, 0, 0, 1), 0, ILLEGAL),
        (load_word(63, 0, 0, 1), 0, ILLEGAL),
    ] + [(load_word(op, 0, 0, 1), 0, ILLEGAL) for op in range(LW.value)]


def illegal_mms():
    """Illegal MMs (all installing, most emitting) and the flag each raises."""
    def mm(acc, **fields):
        return mm_word(acc, install=1, accumulate=1, **fields)
    return [
        (mm(0, act=STREAMS, emit=1), 0, BAD),               # no such activation stream
        (mm(0, act=31, act_dir=W, emit=1), 0, BAD),
        (mm(0, emit=1, out=2), 0, BAD),                     # misaligned output group
        (mm(0, emit=1, out=13, out_dir=W), 0, BAD),
        (mm(0, emit=1, out=STREAMS), 0, BAD),               # output group beyond the streams
        (mm(0, emit=1, out=28, out_dir=W), 0, BAD),
        (mm(DEPTH, act=STREAMS, emit=1), 0, BAD),           # BAD_OPERAND before ADDRESS_RANGE
        (mm(DEPTH, emit=1), 0, RANGE),                      # accumulator row out of range
        (mm(4095, emit=1), 0, RANGE),
        (mm(0, emit=1), -1, RANGE),
        (mm(DEPTH - 1, emit=1), 1, RANGE),
        (mm(0, emit=1), DEPTH, RANGE),                      # would alias row 0
        (mm(5, emit=1), -(1 << 31), RANGE),
        (mm(4095, emit=1), (1 << 31) - 1, RANGE),
        (mm(0, emit=1, op=MM.value + 1), 0, ILLEGAL),
        (mm(0, emit=1, op=63), 0, ILLEGAL),
    ] + [(mm(0, emit=1, op=op), 0, ILLEGAL) for op in range(MM.value)]


@cocotb.test()
async def illegal_instructions_are_flagged_without_effect(dut):
    """Each illegal LW / LB / MM raises its flag in its issue cycle and has no effect: no
    shadow or bias change, no install, no accumulator write, nothing sent. An MM that does not
    emit may name any output group. Checked by hand: afterwards an MM without ``install`` still
    uses the installed weights (1) and bias (10), one with ``install`` the shadow (3, 30), and
    rows 0 and ``DEPTH - 1`` keep their values."""
    bench = await started(dut)
    ones = [1] * LANES
    await bench.load_weights(uniform(1))
    await bench.load_bias([10] * LANES)
    await bench.mm(mm_word(0, act=0, install=1), ones, act=0)
    await bench.mm(mm_word(DEPTH - 1, act=0), ones, act=0)
    await bench.load_weights(uniform(3))
    await bench.load_bias([30] * LANES)
    await bench.idle(LATENCY)
    junk = [pack([5] * LANES)] * STREAMS
    for word, offset, flag in illegal_loads():
        load_error, _, _, _ = await bench.step((word, offset), east=junk, west=junk)
        assert load_error == flag, f"{word:#018x}+{offset}"
    for word, offset, flag in illegal_mms():
        _, compute_error, _, _ = await bench.step(compute=(word, offset))
        assert compute_error == flag, f"{word:#018x}+{offset}"
    for out in (2, 13, 31):
        _, compute_error, _, _ = await bench.step(compute=mm_word(DEPTH - 2, out=out))
        assert compute_error == 0, f"MM without emit, out_stream {out}"
        await bench.idle(FOLD - 1)
    await bench.idle(LATENCY)
    t0 = await bench.mm(mm_word(0, act=0, accumulate=1, emit=1, out=4), [0] * LANES, act=0)
    t1 = await bench.mm(mm_word(DEPTH - 1, act=0, accumulate=1, emit=1, out=4))
    t2 = await bench.mm(mm_word(1, act=0, emit=1, out=4), ones, act=0)
    t3 = await bench.mm(mm_word(1, act=0, install=1, emit=1, out=4))
    await bench.idle(LATENCY)
    assert [bench.row_at(t + LATENCY, E, 4) for t in (t0, t1, t2, t3)] == \
        [[value] * LANES for value in (LANES + 10, LANES + 10, LANES + 10, 3 * LANES + 30)]
    bench.board.check()


@cocotb.test()
async def issue_interval_and_latency_follow_the_fold(dut):
    """A second MM issued 1 .. fold + 1 cycles after the first is flagged BAD_OPERAND (and has
    no effect, not even its install) while the array is busy, and is legal from mxm_fold
    cycles on; every legal MM's row arrives mxm_latency cycles after its issue. Hand-checked
    with W = I: a row is its activation."""
    bench = await started(dut)
    rng = random.Random(8)
    await bench.load_weights([[int(n == k) for n in range(LANES)] for k in range(LANES)])
    await bench.mm(mm_word(0, install=1))
    await bench.load_weights(uniform(7))            # a shadow that an install would expose
    for gap in range(1, FOLD + 2):
        first = [rng.randrange(-128, 128) for _ in range(LANES)]
        second = [rng.randrange(-128, 128) for _ in range(LANES)]
        t = bench.cycle
        await bench.step(compute=mm_word(1, act=0, emit=1, out=0), east=[pack(first)] + ZERO[1:])
        await bench.idle(gap - 1)
        _, compute_error, _, _ = await bench.step(
            compute=mm_word(2, act=1, install=int(gap < FOLD), emit=1, out=4),
            east=[0, pack(second)] + ZERO[2:])
        assert compute_error == (BAD if gap < FOLD else 0), f"gap {gap}"
        await bench.idle(LATENCY + FOLD)
        assert bench.row_at(t + LATENCY, E, 0) == first, f"gap {gap}: first row"
        arrivals = [c for c in range(t, bench.cycle) if bench.row_at(c, E, 4) == second]
        assert arrivals == ([t + gap + LATENCY] if gap >= FOLD else []), f"gap {gap}"
    bench.board.check()


@cocotb.test()
async def clear_drops_work_in_flight_and_zeroes_the_weights(dut):
    """``clear`` (program start) in the cycle after an MM: the MM's row never reaches the
    streams, and afterwards the weights, the bias and their shadows are zero (an MM with or
    without ``install`` gives a zero row). Hand-checked."""
    bench = await started(dut)
    rng = random.Random(9)
    await bench.load_weights([[rng.randrange(-128, 128) for _ in range(LANES)]
                              for _ in range(LANES)])
    await bench.load_bias([rng.randrange(INT32_MIN, INT32_MAX) for _ in range(LANES)])
    activation = [rng.randrange(1, 128) for _ in range(LANES)]
    t = bench.cycle
    await bench.step(compute=mm_word(3, act=0, install=1, emit=1, out=8),
                     east=[pack(activation)] + ZERO[1:])
    await bench.step(clear=1)
    await bench.idle(LATENCY + 1)
    assert all(bench.seen[c][2][8:8 + ROW_STREAMS] == ZERO[:ROW_STREAMS]
               for c in range(t, bench.cycle)), "a dropped MM sent its row"
    t1 = await bench.mm(mm_word(4, act=0, emit=1, out=8), activation, act=0)
    t2 = await bench.mm(mm_word(5, act=0, install=1, emit=1, out=8), activation, act=0)
    await bench.idle(LATENCY)
    assert bench.row_at(t1 + LATENCY, E, 8) == [0] * LANES
    assert bench.row_at(t2 + LATENCY, E, 8) == [0] * LANES
    await bench.dump()
    bench.board.check()


def random_load(rng):
    """A random LW / LB and offset, about 10% of them illegal."""
    op = rng.choice([LW, LW, LB])
    rows = BIAS_PLANES if op is LB else LANES
    count = rng.randrange(1, min(rows, STREAMS) + 1)
    first = rng.randrange(rows - count + 1)
    stream = rng.randrange(STREAMS - count + 1)
    field, offset = rng.choice([(first, 0), (0, first), (first + 3, -3)])
    roll = rng.random()
    if roll < 0.03:
        count = rng.choice([0, count + rows])
    elif roll < 0.06:
        stream = rng.randrange(STREAMS - count + 1, 32)
    elif roll < 0.08:
        offset += rng.choice([-first - 1, rows])
    elif roll < 0.1:
        op = rng.choice([0, 7, LB.value + 1, 63])
    return load_word(op, field, stream, min(count, 63), rng.choice([E, W])), offset


def random_mm(rng):
    """A random MM and offset, about 10% of them illegal."""
    row = rng.randrange(DEPTH)
    field, offset = rng.choice([(row, 0), (0, row), (row + 11, -11)])
    fields = {"act": rng.randrange(STREAMS), "act_dir": rng.choice([E, W]),
              "accumulate": int(rng.random() < 0.6), "emit": int(rng.random() < 0.7),
              "install": int(rng.random() < 0.3),
              "out": rng.randrange(0, STREAMS, ROW_STREAMS), "out_dir": rng.choice([E, W])}
    roll = rng.random()
    if roll < 0.03:
        fields["act"] = rng.randrange(STREAMS, 32)
    elif roll < 0.05:
        fields.update(emit=1, out=rng.choice([1, 2, 3, STREAMS, 31]))
    elif roll < 0.08:
        offset += rng.choice([-row - 1, DEPTH])
    elif roll < 0.1:
        fields["op"] = rng.choice([0, 3, MM.value + 1, 63])
    if not fields["emit"] and rng.random() < 0.2:
        fields["out"] = rng.randrange(32)
    return mm_word(field, **fields), offset


@cocotb.test()
async def random_programs_match_the_model(dut):
    """Random LW / LB / MM streams (legal and illegal, busy MMs included) on random stream
    traffic, with occasional clears, checked cycle by cycle; then every row is emitted."""
    bench = await started(dut)
    rng = random.Random(10)
    load_flags, compute_flags = set(), set()
    for _ in range(1000):
        load = random_load(rng) if rng.random() < 0.6 else None
        compute = random_mm(rng) if rng.random() < (0.7 if FOLD == 1 else 0.4) else None
        errors = await bench.step(load, compute, east=random_words(rng), west=random_words(rng),
                                  clear=int(rng.random() < 0.005))
        load_flags.add(errors[0])
        compute_flags.add(errors[1])
    await bench.idle(LATENCY)
    await bench.dump()
    bench.board.check()
    assert load_flags == {0, ILLEGAL, BAD}
    assert compute_flags == {0, ILLEGAL, BAD, RANGE}
    assert bench.model.emitted > 100


@cocotb.test(skip=FOLD == 1)
async def illegal_mm_while_busy_raises_its_own_flag(dut):
    """An MM that is illegal by the legality rules and issues while the array is busy raises
    the flag of its rule (ADDRESS_RANGE for a row out of range), as :func:`isa.legality.check`
    and the golden simulator order them; busy only flags otherwise legal MMs."""
    bench = await started(dut)
    for word, offset, flag in ((mm_word(DEPTH), 0, RANGE), (mm_word(0), -1, RANGE),
                               (mm_word(0, act=STREAMS), 0, BAD), (mm_word(0), 0, BAD),
                               (mm_word(0, op=MM.value + 1), 0, ILLEGAL)):
        await bench.step(compute=mm_word(1))
        _, compute_error, _, _ = await bench.step(compute=(word, offset))
        assert compute_error == flag, f"{word:#018x}+{offset} while busy"
        await bench.idle(FOLD)
    bench.board.check()

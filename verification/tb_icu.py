"""cocotb testbench of one instruction queue (:class:`~hdl.icu.InstructionControl`).

Oracle: :class:`QueueModel`, the queue rules of :mod:`isa.timing` and :mod:`isa.legality`
written out as a cycle model, plus hand-written issue traces in the directed tests.

Cycle 0 is the cycle after the ``start`` pulse. ``notify_in`` says that some queue issues
NOTIFY in this cycle (the queue decides the next cycle's SYNC with it): the testbench drives it
from the queue's own NOTIFYs, as the chip's run control does, and from NOTIFYs of other
(imaginary) queues. It takes the queue's from the model (the oracle), so that a queue whose
``notify_out`` is wrong fails the comparison of that output, not a later one.
"""

import random
from dataclasses import dataclass

import cocotb
from cocotb.triggers import RisingEdge

from isa.formats import FORMATS
from isa.host import ErrorFlag
from isa.opcodes import ControlOp, FIRST_UNIT_OPCODE, OPCODE_BITS, opcode_of
from isa.timing import NOTIFY_TO_ISSUE
from .harness import UNIT_CONFIG
from .scoreboard import FAULT, Scoreboard, reset

DEPTH = UNIT_CONFIG.queue_depth
HALT = ControlOp.HALT.value
SYNC = ControlOp.SYNC.value
NOTIFY = ControlOp.NOTIFY.value

assert NOTIFY_TO_ISSUE == 2, "the directed SYNC tests are timed for NOTIFY_TO_ISSUE == 2"


def nop(count):
    return FORMATS["count"].pack(ControlOp.NOP.value, {"count": count})


def repeat(count, stride=0, gap=0):
    return FORMATS["repeat"].pack(ControlOp.REPEAT.value,
                                  {"count": count, "stride": stride, "gap": gap})


def unit(tag, opcode=FIRST_UNIT_OPCODE):
    """A unit instruction word: ``opcode`` (>= 8) with ``tag`` in the bits above it."""
    return (tag << OPCODE_BITS | opcode) & ((1 << 64) - 1)


def wrap32(value):
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@dataclass(frozen=True)
class Cycle:
    """What the queue shows in one cycle (``word``/``offset`` only count when ``valid``)."""
    valid: int = 0
    word: int = 0
    offset: int = 0
    notify: int = 0
    halting: int = 0
    running: int = 0
    error: int = 0

    def key(self):
        return (self.valid, self.word if self.valid else 0, self.offset if self.valid else 0,
                self.notify, self.halting, self.running, self.error)


class QueueModel:
    """One queue running ``program`` (``depth`` words; past the end reads HALT).

    ``fault`` makes ``NOP n`` last ``n + 1`` cycles (a deliberate error).
    """

    def __init__(self, program, depth, *, fault=False):
        self.program = list(program)
        self.depth = depth
        self.fault = fault
        self.pc = 0
        self.left = None            # NOP: cycles left; REPEAT: re-issues left (once started)
        self.idle = 0               # REPEAT: idle cycles left before its next re-issue
        self.last = None            # (word, offset) of the last unit instruction issued
        self.halted = False
        self.covered = set()        # what the program exercised (see COVERAGE)

    def step(self, notify_in):
        if self.halted:
            return Cycle(halting=1)
        word = self.program[self.pc] if self.pc < min(self.depth, len(self.program)) else HALT
        op = opcode_of(word)
        self.covered.add(self.kind(word))
        if op >= FIRST_UNIT_OPCODE:
            self.last = (word, 0)
            self.pc += 1
            return Cycle(valid=1, word=word, running=1)
        if op == HALT:
            self.halted = True
            return Cycle(halting=1, running=1)
        if op == ControlOp.NOP.value:
            count = FORMATS["count"].unpack(word)["count"]
            if self.left is None and count == 0:
                self.pc += 1
                return Cycle(running=1, error=ErrorFlag.BAD_OPERAND)
            self.countdown(count + self.fault)
            return Cycle(running=1)
        if op == ControlOp.REPEAT.value:
            fields = FORMATS["repeat"].unpack(word)
            if self.left is None and (fields["count"] == 0 or self.last is None):
                self.pc += 1
                return Cycle(running=1, error=ErrorFlag.BAD_OPERAND)
            if self.left is None:
                self.left, self.idle = fields["count"], fields["gap"]
            if self.idle:
                self.idle -= 1
                return Cycle(running=1)
            last_word, last_offset = self.last
            offset = wrap32(last_offset + fields["stride"])
            self.last = (last_word, offset)
            self.idle = fields["gap"]
            self.left -= 1
            if self.left == 0:
                self.left = None
                self.pc += 1
            return Cycle(valid=1, word=last_word, offset=offset, running=1)
        if op == SYNC:
            self.pc += notify_in
            return Cycle(running=1)
        if op == NOTIFY:
            self.pc += 1
            return Cycle(notify=1, running=1)
        self.pc += 1
        return Cycle(running=1, error=ErrorFlag.ILLEGAL_OPCODE)

    def kind(self, word):
        """The coverage bin of executing ``word`` now."""
        op = opcode_of(word)
        if op >= FIRST_UNIT_OPCODE:
            return "unit"
        if op == ControlOp.NOP.value:
            return "nop" if FORMATS["count"].unpack(word)["count"] else "nop 0"
        if op == ControlOp.REPEAT.value:
            fields = FORMATS["repeat"].unpack(word)
            if self.left is None and self.last is None:
                return "repeat with nothing to repeat"
            if not fields["count"]:
                return "repeat 0"
            return "repeat with gap" if fields["gap"] else "repeat"
        if op in (HALT, SYNC, NOTIFY):
            return ControlOp(op).name.lower()
        return "illegal opcode"

    def countdown(self, count):
        if self.left is None:
            self.left = count
        self.left -= 1
        if self.left == 0:
            self.left = None
            self.pc += 1


class QueueBench:
    def __init__(self, dut):
        self.dut = dut
        self.board = Scoreboard("icu")

    async def start(self):
        dut = self.dut
        dut.start.value = 0
        dut.notify_in.value = 0
        dut.host__addr.value = 0
        dut.host__we.value = 0
        dut.host__wdata.value = 0
        await reset(dut)

    async def load(self, words):
        """Write ``words`` into the instruction memory from address 0 (host port)."""
        dut = self.dut
        dut.host__we.value = 1
        for addr, word in enumerate(words):
            dut.host__addr.value = addr
            dut.host__wdata.value = word
            await RisingEdge(dut.clk)
        dut.host__we.value = 0

    async def unload(self, count):
        """Read ``count`` words from address 0; the word addressed in cycle t is on ``rdata``
        in cycle t + 1."""
        dut = self.dut
        words = []
        for addr in range(count + 1):
            dut.host__addr.value = min(addr, count - 1)
            await RisingEdge(dut.clk)
            if addr:
                words.append(int(dut.host__rdata.value))
        return words

    async def run(self, program, *, notify_at=(), cycles=None, pad=True, coverage=False):
        """Load ``program`` (padded with HALT to the full depth), start it and run it,
        checking every cycle against the model; returns the observed :class:`Cycle` s.

        ``notify_at`` lists cycles in which other queues issue NOTIFY. The run lasts
        ``cycles`` cycles, or until two cycles after the model halts. With ``coverage``,
        returns the model's coverage bins instead.
        """
        dut = self.dut
        words = list(program) + [HALT] * (DEPTH - len(program)) if pad else list(program)
        await self.load(words)
        model = QueueModel(words, DEPTH, fault=FAULT)
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        trace = []
        notified = 0            # some queue issued NOTIFY in the previous cycle
        halted_for = 0
        t = 0
        while (cycles is None and halted_for < 2) or (cycles is not None and t < cycles):
            expected = model.step(notified)
            notified = int(t in notify_at) | expected.notify
            dut.notify_in.value = notified
            await RisingEdge(dut.clk)
            observed = Cycle(valid=int(dut.issue__valid.value), word=int(dut.issue__word.value),
                             offset=dut.issue__offset.value.to_signed(),
                             notify=int(dut.notify_out.value), halting=int(dut.halting.value),
                             running=int(dut.running.value), error=int(dut.error.value))
            self.board.compare(t, "queue outputs (valid, word, offset, notify, halting, "
                               "running, error)", expected.key(), observed.key())
            trace.append(observed)
            halted_for += expected.halting
            t += 1
            assert t < 100_000, "runaway queue test"
        dut.notify_in.value = 0
        return model.covered if coverage else trace


def issues(trace):
    return [(t, c.word, c.offset) for t, c in enumerate(trace) if c.valid]


def errors(trace):
    return [(t, c.error) for t, c in enumerate(trace) if c.error]


def halt_cycle(trace):
    return next(t for t, c in enumerate(trace) if c.halting)


U, V = unit(0x1234), unit(0xABCDEF, opcode=63)
#: Coverage bins the random programs must exercise.
COVERAGE = {"unit", "nop", "nop 0", "repeat", "repeat with gap", "repeat 0",
            "repeat with nothing to repeat",
            "halt", "sync", "notify", "illegal opcode"}


@cocotb.test()
async def nop_and_repeat_timing(dut):
    """NOP n idles n cycles; REPEAT n, stride re-issues the last unit instruction n times with
    the offset growing by stride each time, across REPEATs (hand-written trace)."""
    bench = QueueBench(dut)
    await bench.start()
    trace = await bench.run([nop(5), U, repeat(3, 2), nop(2), repeat(1, 10), nop(1), V,
                             repeat(2, -7)])
    assert issues(trace) == [(5, U, 0), (6, U, 2), (7, U, 4), (8, U, 6), (11, U, 16),
                             (13, V, 0), (14, V, -7), (15, V, -14)]
    assert halt_cycle(trace) == 16 and not errors(trace)
    assert all(c.running for c in trace[:17]) and not trace[17].running
    bench.board.check()


@cocotb.test()
async def repeat_with_a_gap(dut):
    """REPEAT n, stride, gap idles gap cycles before each of its n re-issues, so a unit
    instruction and its re-issues are gap + 1 cycles apart; the next instruction follows the
    last re-issue (hand-written trace)."""
    bench = QueueBench(dut)
    await bench.start()
    trace = await bench.run([U, repeat(3, 2, gap=2), V, repeat(1, 5, gap=1), nop(1),
                             repeat(2, 1, gap=0)])
    assert issues(trace) == [(0, U, 0), (3, U, 2), (6, U, 4), (9, U, 6),
                             (10, V, 0), (12, V, 5), (14, V, 6), (15, V, 7)]
    assert halt_cycle(trace) == 16 and not errors(trace)
    bench.board.check()


@cocotb.test()
async def long_nop_and_wrapping_offsets(dut):
    """A NOP of 1000 cycles; 300 repeats whose stride sum passes 2**31 wrap the offset."""
    bench = QueueBench(dut)
    await bench.start()
    stride = (1 << 23) - 1
    trace = await bench.run([nop(1000), U, repeat(300, stride)])
    expected = [(1000, U, 0)] + [(1000 + k, U, wrap32(k * stride)) for k in range(1, 301)]
    assert issues(trace) == expected
    assert any(offset < 0 for _, _, offset in expected)
    assert halt_cycle(trace) == 1301
    bench.board.check()


@cocotb.test()
async def sync_waits_for_notify(dut):
    """NOTIFY in cycle n releases a queue in SYNC in cycle n + 1 (a SYNC issued in that very
    cycle too); it issues in cycle n + 2. A SYNC issued later waits for a later NOTIFY."""
    bench = QueueBench(dut)
    await bench.start()
    trace = await bench.run([SYNC, U], notify_at={3})
    assert issues(trace) == [(5, U, 0)]
    trace = await bench.run([nop(4), SYNC, U], notify_at={3})
    assert issues(trace) == [(5, U, 0)]
    trace = await bench.run([nop(5), SYNC, U], notify_at={3, 9})
    assert issues(trace) == [(11, U, 0)]
    trace = await bench.run([nop(5), SYNC, U], notify_at={3}, cycles=40)
    assert issues(trace) == [] and not any(c.halting for c in trace)
    bench.board.check()


@cocotb.test()
async def notify_releases_its_own_sync(dut):
    """A queue's own NOTIFY (fed back as the chip does) releases its next SYNC."""
    bench = QueueBench(dut)
    await bench.start()
    trace = await bench.run([nop(2), NOTIFY, SYNC, U])
    assert [t for t, c in enumerate(trace) if c.notify] == [2]
    assert issues(trace) == [(4, U, 0)]
    bench.board.check()


@cocotb.test()
async def halt_stops_the_queue(dut):
    """HALT: ``halting`` from its cycle on, ``running`` until it, nothing issues after."""
    bench = QueueBench(dut)
    await bench.start()
    trace = await bench.run([U, HALT, V, repeat(3, 1)], cycles=10)
    assert issues(trace) == [(0, U, 0)]
    assert [c.halting for c in trace] == [0] + [1] * 9
    assert [c.running for c in trace] == [1, 1] + [0] * 8
    bench.board.check()


@cocotb.test()
async def running_off_the_end_halts(dut):
    """A queue whose memory holds no HALT halts after its last instruction (also mid-REPEAT
    of the last word)."""
    bench = QueueBench(dut)
    await bench.start()
    trace = await bench.run([unit(k) for k in range(DEPTH)])
    assert issues(trace) == [(k, unit(k), 0) for k in range(DEPTH)]
    assert halt_cycle(trace) == DEPTH
    trace = await bench.run([nop(1)] * (DEPTH - 2) + [U, repeat(3, 1)])
    assert issues(trace)[-1] == (DEPTH + 1, U, 3)
    assert halt_cycle(trace) == DEPTH + 2
    bench.board.check()


@cocotb.test()
async def illegal_control_instructions_are_flagged(dut):
    """Opcodes 5..7, NOP 0, REPEAT 0 and REPEAT with no unit instruction before it raise
    their flag for one cycle and do nothing else."""
    bench = QueueBench(dut)
    await bench.start()
    trace = await bench.run([5, 6, 7 | 0xFFFF << 6, nop(0), repeat(2, 1), U, repeat(0, 3),
                             repeat(1, 5)])
    ILL, BAD = ErrorFlag.ILLEGAL_OPCODE, ErrorFlag.BAD_OPERAND
    assert errors(trace) == [(0, ILL), (1, ILL), (2, ILL), (3, BAD), (4, BAD), (6, BAD)]
    assert issues(trace) == [(5, U, 0), (7, U, 5)]
    assert halt_cycle(trace) == 8
    bench.board.check()


@cocotb.test()
async def start_forgets_the_last_instruction(dut):
    """After a restart, REPEAT has nothing to repeat until a unit instruction issues."""
    bench = QueueBench(dut)
    await bench.start()
    await bench.run([U])
    trace = await bench.run([repeat(1, 1), V, repeat(1, 1)])
    assert errors(trace) == [(0, ErrorFlag.BAD_OPERAND)]
    assert issues(trace) == [(1, V, 0), (2, V, 1)]
    bench.board.check()


@cocotb.test()
async def host_port_loads_and_is_ignored_while_running(dut):
    """The instruction memory reads back what the host wrote; host writes during a run are
    dropped."""
    bench = QueueBench(dut)
    await bench.start()
    rng = random.Random(3)
    words = [rng.getrandbits(64) for _ in range(DEPTH)]
    await bench.load(words)
    assert await bench.unload(DEPTH) == words
    program = [nop(100)] + [HALT] * (DEPTH - 1)
    await bench.load(program)
    dut.start.value = 1
    await RisingEdge(dut.clk)
    dut.start.value = 0
    await bench.load(words)                 # while the NOP runs
    assert int(dut.running.value) == 1
    for _ in range(100):
        await RisingEdge(dut.clk)
    assert int(dut.halting.value) == 1 and int(dut.running.value) == 0
    assert await bench.unload(DEPTH) == program


def random_program(rng, length):
    # Some programs open with a REPEAT, which has nothing to repeat yet.
    program = [repeat(1, 1)] if rng.random() < 0.3 else []
    for _ in range(length - len(program)):
        roll = rng.random()
        if roll < 0.35:
            program.append(unit(rng.getrandbits(58), rng.randrange(8, 64)))
        elif roll < 0.55:
            program.append(nop(rng.choice([0, 1, 1, 2, 3, 7])))
        elif roll < 0.75:
            stride = rng.choice([0, 1, -1, rng.randrange(-(1 << 23), 1 << 23)])
            program.append(repeat(rng.choice([0, 1, 2, 3, 5]), stride,
                                  rng.choice([0, 0, 1, 2, 5])))
        elif roll < 0.83:
            program.append(SYNC)
        elif roll < 0.91:
            program.append(NOTIFY)
        elif roll < 0.97:
            program.append(rng.randrange(5, 8) | rng.getrandbits(58) << 6)
        else:
            program.append(HALT)
    return program


@cocotb.test()
async def random_programs_match_the_model(dut):
    """Random programs of every control instruction and random external NOTIFYs, checked
    cycle by cycle."""
    bench = QueueBench(dut)
    await bench.start()
    rng = random.Random(4)
    covered = set()
    for _ in range(12):
        program = random_program(rng, rng.randrange(8, DEPTH + 1))
        notify_at = {t for t in range(300) if rng.random() < 0.05}
        covered |= await bench.run(program, notify_at=notify_at, cycles=300, coverage=True)
    assert covered >= COVERAGE, f"not exercised: {COVERAGE - covered}"
    bench.board.check()

"""cocotb testbench of a MEM slice at its stream position
(:func:`~verification.harness.mem_harness`).

Oracle: :class:`MemModel`, a cycle model of the slice written from :mod:`isa.timing`
(``MEM_READ_LATENCY``, ``MEM_WRITE_TO_READ``), :mod:`hdl.sram`'s contract and
:func:`isa.legality.check_word`, plus hand-written expectations in the directed tests.
The testbench drives the stream registers at the slice (``east_in``/``west_in``) and observes
the registers one position downstream (``east_next``/``west_next``), where a READ's word must
appear ``MEM_READ_LATENCY`` cycles after it issues.
"""

import random

import cocotb
from cocotb.triggers import RisingEdge

from isa.formats import FORMATS
from isa.geometry import QueueKind
from isa.host import ErrorFlag
from isa.legality import check_word
from isa.opcodes import Direction, MemReadOp, MemWriteOp
from isa.timing import MEM_READ_LATENCY, MEM_WRITE_TO_READ
from .harness import UNIT_CONFIG
from .scoreboard import FAULT, Scoreboard, StreamPorts, reset

CONFIG = UNIT_CONFIG
STREAMS = CONFIG.streams
WORDS = CONFIG.words
BITS = CONFIG.vector_bits

assert MEM_READ_LATENCY == 2 and MEM_WRITE_TO_READ == 1, "MemModel models these latencies"


def mem_word(opcode, addr, stream, direction=Direction.EAST):
    """An encoded READ/WRITE-format word with any opcode (legal or not)."""
    return FORMATS["mem"].pack(getattr(opcode, "value", opcode),
                               {"addr": addr, "stream": stream, "dir": direction})


class Inputs:
    """Everything the testbench drives in one cycle."""

    def __init__(self, east=None, west=None):
        self.read = None            # (word, offset) or None
        self.write = None
        self.running = 1
        self.clear = 0
        self.host = None            # (addr, we, wdata) or None
        self.east = list(east or [0] * STREAMS)
        self.west = list(west or [0] * STREAMS)


class MemModel:
    """A MEM slice and the two stream hops its outputs feed, one cycle per :meth:`step`.

    State visible in a cycle: :attr:`east_next`, :attr:`west_next` (the downstream registers)
    and :attr:`host_rdata` (the word the SRAM read in the previous cycle). ``fault`` sends a
    READ's word one stream too high (a deliberate error).
    """

    def __init__(self, *, fault=False):
        self.fault = fault
        self.sram = [None] * WORDS          # None: never written
        self.east_next = [0] * STREAMS
        self.west_next = [0] * STREAMS
        self.host_rdata = None
        self.sending = None                 # (stream, direction, word) this cycle

    @staticmethod
    def flags(kind, issue):
        if issue is None:
            return 0
        word, offset = issue
        return int(check_word(CONFIG, kind, word, offset))

    def step(self, x):
        """Advance one cycle with inputs ``x``; returns ``(read_error, write_error)`` of it."""
        read_error = self.flags(QueueKind.MEM_READ, x.read)
        write_error = self.flags(QueueKind.MEM_WRITE, x.write)
        # The read port: a legal READ reads its word now (before this cycle's write) and sends
        # it next cycle, into the register downstream the cycle after.
        next_sending = None
        if x.read is not None and not read_error and not x.clear:
            fields = FORMATS["mem"].unpack(x.read[0])
            stream = (fields["stream"] + self.fault) % STREAMS
            next_sending = (stream, fields["dir"], self.sram[fields["addr"] + x.read[1]])
        host_rdata = None
        if not x.running and x.host is not None:
            host_rdata = self.sram[x.host[0]]
        # Stream hops: this cycle's send overwrites the passing value; clear zeroes.
        east, west = list(x.east), list(x.west)
        if self.sending is not None:
            stream, direction, word = self.sending
            (east if direction is Direction.EAST else west)[stream] = word
        if x.clear:
            east, west = [0] * STREAMS, [0] * STREAMS
        # The write port (while running) or the host port (while not).
        if x.running:
            if x.write is not None and not write_error:
                fields = FORMATS["mem"].unpack(x.write[0])
                passing = x.east if fields["dir"] is Direction.EAST else x.west
                self.sram[fields["addr"] + x.write[1]] = passing[fields["stream"]]
        elif x.host is not None and x.host[1]:
            self.sram[x.host[0]] = x.host[2]
        self.east_next, self.west_next = east, west
        self.host_rdata = host_rdata
        self.sending = next_sending
        return read_error, write_error


class MemBench:
    def __init__(self, dut):
        self.dut = dut
        self.streams = StreamPorts(dut, STREAMS)
        self.model = MemModel(fault=FAULT)
        self.board = Scoreboard("mem")
        self.cycle = 0
        self.host_read_pending = False

    def apply(self, x):
        dut = self.dut
        for port, issue in ((dut.read__valid, x.read), (dut.write__valid, x.write)):
            port.value = int(issue is not None)
        word, offset = x.read or (0, 0)
        dut.read__word.value, dut.read__offset.value = word, offset
        word, offset = x.write or (0, 0)
        dut.write__word.value, dut.write__offset.value = word, offset
        dut.running.value = x.running
        dut.clear.value = x.clear
        addr, we, wdata = x.host or (0, 0, 0)
        dut.host__addr.value, dut.host__we.value, dut.host__wdata.value = addr, we, wdata
        self.streams.drive(x.east, x.west)

    async def start(self):
        self.apply(Inputs(east=[0] * STREAMS, west=[0] * STREAMS))
        self.dut.running.value = 0
        await reset(self.dut)
        # Nothing is in flight after reset; the stream registers (no reset) are cleared.
        x = Inputs()
        x.clear, x.running = 1, 0
        self.apply(x)
        await RisingEdge(self.dut.clk)

    async def step(self, x):
        """Run one cycle with inputs ``x`` and check everything observable in it."""
        self.apply(x)
        host_expected = self.model.host_rdata if self.host_read_pending else None
        sent_e, sent_w = self.model.east_next, self.model.west_next
        errors = self.model.step(x)
        await RisingEdge(self.dut.clk)
        dut, board, t = self.dut, self.board, self.cycle
        board.compare(t, "read_error", errors[0], int(dut.read_error.value))
        board.compare(t, "write_error", errors[1], int(dut.write_error.value))
        self.streams.compare(board, t, (sent_e, sent_w), self.streams.observe())
        if host_expected is not None:
            board.compare(t, "host.rdata", host_expected, int(dut.host__rdata.value))
        self.host_read_pending = x.host is not None and not x.running and not x.host[1]
        self.cycle += 1

    async def host_write(self, words):
        """Load ``{addr: word}`` through the host port (not running)."""
        for addr, word in words.items():
            x = Inputs()
            x.running, x.host = 0, (addr, 1, word)
            await self.step(x)

    async def host_read(self, addrs):
        """Read ``addrs`` through the host port (not running; each word is also checked
        against the model by :meth:`step`); returns the words."""
        addrs = list(addrs)
        words = []
        for i in range(len(addrs) + 1):
            x = Inputs()
            x.running = 0
            if i < len(addrs):
                x.host = (addrs[i], 0, 0)
            await self.step(x)
            if i:
                words.append(int(self.dut.host__rdata.value))
        return words

    async def idle(self, cycles, running=1):
        for _ in range(cycles):
            x = Inputs()
            x.running = running
            await self.step(x)


def random_words(rng, count):
    return {addr: rng.getrandbits(BITS) for addr in range(count)}


async def loaded_bench(dut, seed):
    bench = MemBench(dut)
    await bench.start()
    rng = random.Random(seed)
    await bench.host_write(random_words(rng, WORDS))
    return bench, rng


@cocotb.test()
async def host_port_loads_and_unloads(dut):
    """Every word written through the host port reads back one cycle after its address."""
    bench, rng = await loaded_bench(dut, 1)
    addrs = list(range(WORDS))
    rng.shuffle(addrs)
    words = await bench.host_read(addrs)
    assert words == [bench.model.sram[a] for a in addrs]
    bench.board.check()


@cocotb.test()
async def read_arrives_after_the_read_latency(dut):
    """READ issued in cycle t: the word is in the register downstream in cycle t + 2, on the
    chosen stream and direction only. Hand-written expectation."""
    bench, rng = await loaded_bench(dut, 2)
    passing = [rng.getrandbits(BITS) for _ in range(2 * STREAMS)]
    seen = []
    for t in range(5):
        x = Inputs(east=passing[:STREAMS], west=passing[STREAMS:])
        if t == 0:
            x.read = (mem_word(MemReadOp.READ, 5, 3, Direction.EAST), 0)
        if t == 1:
            x.read = (mem_word(MemReadOp.READ, 200, 4, Direction.WEST), 50)
        await bench.step(x)
        seen.append(bench.streams.observe())
    sram = bench.model.sram
    for t, (east, west) in enumerate(seen):
        expected_e = list(passing[:STREAMS]) if t else [0] * STREAMS
        expected_w = list(passing[STREAMS:]) if t else [0] * STREAMS
        if t == MEM_READ_LATENCY:
            expected_e[3] = sram[5]
        if t == 1 + MEM_READ_LATENCY:
            expected_w[4] = sram[250]
        assert east == expected_e, f"cycle {t}: east_next"
        assert west == expected_w, f"cycle {t}: west_next"
    bench.board.check()


@cocotb.test()
async def write_samples_the_stream_in_its_issue_cycle(dut):
    """WRITE issued in cycle t stores the stream value passing in cycle t, from either
    direction, at addr + offset."""
    bench, rng = await loaded_bench(dut, 3)
    values = [rng.getrandbits(BITS) for _ in range(3)]
    x = Inputs()
    x.east[2] = values[0]
    x.write = (mem_word(MemWriteOp.WRITE, 17, 2, Direction.EAST), 0)
    await bench.step(x)
    x = Inputs()
    x.east[2] = values[1]       # the next cycle's value must not be the one written
    x.west[7] = values[2]
    x.write = (mem_word(MemWriteOp.WRITE, 40, 7, Direction.WEST), -22)
    await bench.step(x)
    await bench.idle(1)
    assert await bench.host_read([17, 18]) == [values[0], values[2]]
    bench.board.check()


@cocotb.test()
async def read_during_write_returns_the_old_word(dut):
    """A READ in the WRITE's cycle returns the old word; a READ one cycle later the new one."""
    bench, rng = await loaded_bench(dut, 4)
    old, new = bench.model.sram[9], rng.getrandbits(BITS)
    x = Inputs()
    x.east[0] = new
    x.write = (mem_word(MemWriteOp.WRITE, 9, 0), 0)
    x.read = (mem_word(MemReadOp.READ, 9, 1), 0)
    await bench.step(x)
    x = Inputs()
    x.read = (mem_word(MemReadOp.READ, 9, 2), 0)
    await bench.step(x)
    await bench.step(Inputs())
    assert int(bench.streams.east_next[1].value) == old
    await bench.step(Inputs())
    assert int(bench.streams.east_next[2].value) == new
    bench.board.check()


#: Illegal accesses and the flag each raises (hand-written from the ISA documentation).
ILLEGAL_ACCESSES = [
    (mem_word(MemReadOp.READ.value + 1, 0, 0), 0, ErrorFlag.ILLEGAL_OPCODE),
    (mem_word(63, 0, 0), 0, ErrorFlag.ILLEGAL_OPCODE),
    (mem_word(8, 0, STREAMS), 0, ErrorFlag.BAD_OPERAND),
    (mem_word(8, 3, 31, Direction.WEST), 0, ErrorFlag.BAD_OPERAND),
    (mem_word(8, WORDS, 0), 0, ErrorFlag.ADDRESS_RANGE),
    (mem_word(8, 0xFFFF, 1), 0, ErrorFlag.ADDRESS_RANGE),
    (mem_word(8, WORDS - 1, 2), 1, ErrorFlag.ADDRESS_RANGE),
    (mem_word(8, 0, 3), -1, ErrorFlag.ADDRESS_RANGE),
    (mem_word(8, 5, 4), -(1 << 31), ErrorFlag.ADDRESS_RANGE),
    (mem_word(8, 0xFFFF, 5), (1 << 31) - 1, ErrorFlag.ADDRESS_RANGE),
    (mem_word(8, 0, 6), WORDS, ErrorFlag.ADDRESS_RANGE),
    (mem_word(8, 0, 6), WORDS + 3, ErrorFlag.ADDRESS_RANGE),   # would alias word 3
]


@cocotb.test()
async def illegal_accesses_are_flagged_without_effect(dut):
    """Bad opcodes, streams >= streams and addresses (after the offset) outside the SRAM raise
    their flag in the issue cycle, send nothing and write nothing."""
    bench, rng = await loaded_bench(dut, 5)
    image = list(bench.model.sram)
    passing = [rng.getrandbits(BITS) for _ in range(STREAMS)]
    for word, offset, flag in ILLEGAL_ACCESSES:
        x = Inputs(east=passing, west=passing)
        x.read = (word, offset)
        x.write = (word, offset)
        await bench.step(x)
        assert int(dut.read_error.value) == flag, f"read {word:#x}+{offset}"
        assert int(dut.write_error.value) == flag, f"write {word:#x}+{offset}"
    for _ in range(MEM_READ_LATENCY):
        await bench.step(Inputs(east=passing, west=passing))
        assert [int(h.value) for h in bench.streams.east_next] == passing
    await bench.idle(1)
    assert await bench.host_read(range(WORDS)) == image
    bench.board.check()


@cocotb.test()
async def host_port_is_ignored_while_running(dut):
    """Host writes while a program runs change nothing."""
    bench, rng = await loaded_bench(dut, 6)
    image = list(bench.model.sram)
    for addr in range(0, WORDS, 7):
        x = Inputs()
        x.host = (addr, 1, rng.getrandbits(BITS))
        await bench.step(x)
    await bench.idle(1, running=0)
    assert await bench.host_read(range(WORDS)) == image
    bench.board.check()


@cocotb.test()
async def clear_drops_a_read_in_flight(dut):
    """``clear`` in the cycle after a READ issues keeps its word off the stream."""
    bench, _ = await loaded_bench(dut, 7)
    x = Inputs()
    x.read = (mem_word(MemReadOp.READ, 1, 0), 0)
    await bench.step(x)
    x = Inputs()
    x.clear = 1
    await bench.step(x)
    await bench.step(Inputs())
    assert int(bench.streams.east_next[0].value) == 0
    bench.board.check()


def random_issue(rng, opcode):
    """A mostly legal READ/WRITE with a small address window (so reads and writes meet)."""
    roll = rng.random()
    stream = rng.randrange(STREAMS) if roll > 0.05 else rng.randrange(STREAMS, 32)
    addr = rng.randrange(24) if roll > 0.1 else rng.choice([WORDS - 1, WORDS, 0xFFFF])
    offset = 0 if rng.random() < 0.6 else rng.randrange(-4, 24)
    op = opcode if rng.random() > 0.03 else rng.randrange(9, 64)
    return mem_word(op, addr, stream, Direction(rng.randrange(2))), offset


@cocotb.test()
async def random_program_matches_the_model(dut):
    """600 cycles of random reads and writes (some illegal), random stream traffic, host
    writes while running and occasional clears, then a full unload."""
    bench, rng = await loaded_bench(dut, 8)
    flags = set()
    for _ in range(600):
        x = Inputs(east=[rng.getrandbits(BITS) for _ in range(STREAMS)],
                   west=[rng.getrandbits(BITS) for _ in range(STREAMS)])
        if rng.random() < 0.7:
            x.read = random_issue(rng, MemReadOp.READ)
        if rng.random() < 0.7:
            x.write = random_issue(rng, MemWriteOp.WRITE)
        if rng.random() < 0.05:
            x.host = (rng.randrange(WORDS), 1, rng.getrandbits(BITS))
        x.clear = int(rng.random() < 0.02)
        await bench.step(x)
        flags |= {int(dut.read_error.value), int(dut.write_error.value)}
    assert flags == {0, ErrorFlag.ILLEGAL_OPCODE, ErrorFlag.BAD_OPERAND, ErrorFlag.ADDRESS_RANGE}
    await bench.idle(1, running=0)
    assert await bench.host_read(range(WORDS)) == bench.model.sram
    bench.board.check()

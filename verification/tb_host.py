"""cocotb testbench of the host interface alone (:class:`~hdl.host.HostInterface`), driven
through AXI4-Lite by cocotbext-axi and through the fast transfer port.

The testbench plays the chip behind the interface (:class:`ChipStub`): it drives the run state
the registers report and answers transfer requests from a memory, with read data two cycles
after the request, as the chip top does. Oracles: the register map of :mod:`isa.host` and the
configuration (hand-written expectations), and :class:`TransferModel` for the fast port's
timing (:data:`isa.timing.HOST_READ_LATENCY`).
"""

import random
from collections import deque

import cocotb
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiResp

from isa.geometry import floorplan
from isa.host import (CHIP_ID, LINK_BASE, Control, Reg, Status, XFER_DATA_BASE, XferCommand,
                      xfer_bits, xfer_words)
from isa.timing import HOST_READ_LATENCY
from .harness import UNIT_CONFIG
from .host import axi_master
from .scoreboard import FAULT, Scoreboard, reset

CONFIG = UNIT_CONFIG
XFER_BITS = xfer_bits(CONFIG)
XFER_WORDS = xfer_words(CONFIG)
#: The chip top answers an internal read request this many cycles later (the fast port's
#: request is registered once before it is an internal request).
CHIP_READ_LATENCY = HOST_READ_LATENCY - 1
FIELDS = ("valid", "write", "space", "index", "addr", "wdata")


class ChipStub:
    """The chip as the host interface sees it: run state inputs, a transfer memory, and a log
    of every cycle (``requests``: ``{cycle: (write, space, index, addr, wdata)}``,
    ``starts``/``clears``: cycles of the pulses, ``fast``: ``{cycle: (rvalid, rdata)}`` and
    ``fast_requests``: the fast port's requests, as ``requests``)."""

    def __init__(self, dut):
        self.dut = dut
        self.memory = {}
        self.cycle = 0
        self.requests = {}
        self.starts, self.clears = [], []
        self.fast = {}
        self.fast_requests = {}
        self.answers = deque([0] * (CHIP_READ_LATENCY - 1))

    def set_state(self, running=0, done=0, cycles=0, errors=0, error_queue=0, error_cycle=0):
        dut = self.dut
        dut.running.value, dut.done.value, dut.cycles.value = running, done, cycles
        dut.errors.value, dut.error_queue.value = errors, error_queue
        dut.error_cycle.value = error_cycle

    async def serve(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)           # cycle self.cycle ended: sample it
            answer = 0
            if int(dut.request__valid.value):
                request = tuple(int(getattr(dut, f"request__{name}").value)
                                for name in FIELDS[1:])
                self.requests[self.cycle] = request
                write, space, index, addr, wdata = request
                if write:
                    self.memory[space, index, addr] = wdata
                else:
                    answer = self.memory.get((space, index, addr), 0)
            if int(dut.start.value):
                self.starts.append(self.cycle)
            if int(dut.clear.value):
                self.clears.append(self.cycle)
            self.fast[self.cycle] = (int(dut.xfer__rvalid.value), int(dut.xfer__rdata.value))
            if int(dut.xfer__valid.value):
                self.fast_requests[self.cycle] = tuple(int(getattr(dut, f"xfer__{name}").value)
                                                       for name in FIELDS[1:])
            self.answers.append(answer)
            dut.request__rdata.value = self.answers.popleft()
            self.cycle += 1


class TransferModel:
    """Predicts the fast port: a request in cycle t is an internal request in cycle t + 1,
    and a read's data is on ``xfer.rdata`` with ``rvalid`` in cycle t + HOST_READ_LATENCY.
    ``fault`` predicts the data one cycle late (a deliberate error)."""

    def __init__(self, *, fault=False):
        self.latency = HOST_READ_LATENCY + fault
        self.memory = {}
        self.requests = {}
        self.reads = {}

    def request(self, cycle, write, space, index, addr, wdata):
        self.requests[cycle + 1] = (write, space, index, addr, wdata)
        if write:
            self.memory[space, index, addr] = wdata
        else:
            self.reads[cycle + self.latency] = self.memory.get((space, index, addr), 0)


class HostBench:
    def __init__(self, dut):
        self.dut = dut
        self.chip = ChipStub(dut)
        self.axi = axi_master(dut)

    async def start(self):
        dut = self.dut
        self.idle_fast()
        dut.request__rdata.value = 0
        self.chip.set_state()
        await reset(dut)
        cocotb.start_soon(self.chip.serve())

    def idle_fast(self):
        for name in FIELDS:
            getattr(self.dut, f"xfer__{name}").value = 0

    async def read(self, address):
        """``(value, resp)`` of a 32-bit register read."""
        response = await self.axi.read(int(address), 4)
        return int.from_bytes(response.data, "little"), response.resp

    async def write(self, address, value):
        """The response of a 32-bit register write."""
        response = await self.axi.write(int(address),
                                        (int(value) & 0xFFFFFFFF).to_bytes(4, "little"))
        return response.resp

    async def cycles(self, count):
        for _ in range(count):
            await RisingEdge(self.dut.clk)


TIMEOUT = {"timeout_time": 200, "timeout_unit": "us"}


@cocotb.test(**TIMEOUT)
async def identity_and_configuration_registers(dut):
    """ID and the configuration registers read their values with OKAY; read-only and
    unmapped registers refuse writes (SLVERR), unmapped reads return 0 with SLVERR."""
    bench = HostBench(dut)
    await bench.start()
    expected = {
        Reg.ID: CHIP_ID, Reg.LANES: CONFIG.lanes, Reg.STREAMS: CONFIG.streams,
        Reg.MEM_SLICES: CONFIG.mem_slices, Reg.WORDS: CONFIG.words,
        Reg.QUEUES: len(floorplan(CONFIG).queues), Reg.QUEUE_DEPTH: CONFIG.queue_depth,
        Reg.VXM_ALUS: CONFIG.vxm_alus, Reg.MXMS: CONFIG.mxms, Reg.LINKS: CONFIG.links,
    }
    for reg, value in expected.items():
        assert await bench.read(reg) == (value, AxiResp.OKAY), reg.name
    for reg in expected:
        assert await bench.write(reg, 0x5A5A) == AxiResp.SLVERR, reg.name
        assert await bench.read(reg) == (expected[reg], AxiResp.OKAY), reg.name
    # START_COUNT holds the 16 bits of an epoch count.
    assert await bench.write(Reg.START_COUNT, 0x12345) == AxiResp.OKAY
    assert await bench.read(Reg.START_COUNT) == (0x2345, AxiResp.OKAY)
    # Without link ports, no link register block is mapped.
    for address in (0x70, 0xFC, XFER_DATA_BASE + 4 * XFER_WORDS, LINK_BASE, 0xFFC):
        assert await bench.read(address) == (0, AxiResp.SLVERR), hex(address)
        assert await bench.write(address, 1) == AxiResp.SLVERR, hex(address)


@cocotb.test(**TIMEOUT)
async def status_registers_report_the_chip(dut):
    """STATUS, CYCLES_LO/HI, ERRORS, ERROR_QUEUE and ERROR_CYCLE show the chip's state."""
    bench = HostBench(dut)
    await bench.start()
    rng = random.Random(1)
    for _ in range(12):
        state = {"running": rng.randrange(2), "done": rng.randrange(2),
                 "cycles": rng.getrandbits(64), "errors": rng.choice([0, rng.getrandbits(5)]),
                 "error_queue": rng.getrandbits(16), "error_cycle": rng.getrandbits(32)}
        bench.chip.set_state(**state)
        status = (Status.RUNNING * state["running"] | Status.DONE * state["done"] |
                  Status.ERROR * (state["errors"] != 0))
        assert await bench.read(Reg.STATUS) == (status, AxiResp.OKAY)
        assert (await bench.read(Reg.CYCLES_LO))[0] == state["cycles"] & 0xFFFFFFFF
        assert (await bench.read(Reg.CYCLES_HI))[0] == state["cycles"] >> 32
        assert (await bench.read(Reg.ERRORS))[0] == state["errors"]
        assert (await bench.read(Reg.ERROR_QUEUE))[0] == state["error_queue"]
        assert (await bench.read(Reg.ERROR_CYCLE))[0] == state["error_cycle"]


@cocotb.test(**TIMEOUT)
async def control_register_pulses_start_and_clear(dut):
    """Each CONTROL write gives exactly one one-cycle pulse of the bits written."""
    bench = HostBench(dut)
    await bench.start()
    for value, starts, clears in ((Control.START, 1, 0), (Control.CLEAR, 0, 1),
                                  (Control.START | Control.CLEAR, 1, 1), (0, 0, 0),
                                  (0xFFFFFFFC, 0, 0)):
        before = (len(bench.chip.starts), len(bench.chip.clears))
        assert await bench.write(Reg.CONTROL, value) == AxiResp.OKAY
        await bench.cycles(4)
        assert (len(bench.chip.starts) - before[0], len(bench.chip.clears) - before[1]) == \
            (starts, clears), f"CONTROL = {value:#x}"
        if starts and clears:
            assert bench.chip.starts[-1] == bench.chip.clears[-1]


async def register_transfer(bench, command, space, index, addr, data=None):
    """Set up and issue a register transfer; returns XFER_DATA read back afterwards."""
    assert await bench.write(Reg.XFER_SPACE, space) == AxiResp.OKAY
    assert await bench.write(Reg.XFER_INDEX, index) == AxiResp.OKAY
    assert await bench.write(Reg.XFER_ADDR, addr) == AxiResp.OKAY
    if data is not None:
        for i in range(XFER_WORDS):
            assert await bench.write(XFER_DATA_BASE + 4 * i, data >> (32 * i)) == AxiResp.OKAY
    assert await bench.write(Reg.XFER_CMD, command) == AxiResp.OKAY
    while (await bench.read(Reg.XFER_CMD))[0]:
        pass
    words = [(await bench.read(XFER_DATA_BASE + 4 * i))[0] for i in range(XFER_WORDS)]
    return sum(word << (32 * i) for i, word in enumerate(words))


@cocotb.test(**TIMEOUT)
async def register_transfers_reach_the_request_bus(dut):
    """XFER_CMD WRITE puts one request with XFER_SPACE/INDEX/ADDR/DATA on the request bus;
    READ brings the chip's word into XFER_DATA. The XFER_* registers read back (at their
    widths); commands other than READ and WRITE do nothing."""
    bench = HostBench(dut)
    await bench.start()
    rng = random.Random(2)
    assert await bench.write(Reg.XFER_SPACE, 0xFFFFFFFF) == AxiResp.OKAY
    assert await bench.write(Reg.XFER_INDEX, 0xFFFFFFFF) == AxiResp.OKAY
    assert await bench.write(Reg.XFER_ADDR, 0xFFFFFFFF) == AxiResp.OKAY
    assert [(await bench.read(r))[0] for r in (Reg.XFER_SPACE, Reg.XFER_INDEX, Reg.XFER_ADDR)] \
        == [0x3, 0x3FF, 0xFFFF]
    for _ in range(6):
        target = (rng.randrange(4), rng.randrange(1024), rng.randrange(1 << 16))
        data = rng.getrandbits(XFER_BITS)
        before = len(bench.chip.requests)
        await register_transfer(bench, XferCommand.WRITE, *target, data=data)
        new = list(bench.chip.requests.values())[before:]
        assert new == [(1, *target, data)]
        assert bench.chip.memory[target] == data
        # Read it back into XFER_DATA, after clobbering XFER_DATA.
        for i in range(XFER_WORDS):
            await bench.write(XFER_DATA_BASE + 4 * i, 0)
        assert await register_transfer(bench, XferCommand.READ, *target) == data
        assert list(bench.chip.requests.values())[before + 1:] == [(0, *target, 0)]
    before = len(bench.chip.requests)
    for command in (0, 3, 0xFFFFFFFF):
        assert await bench.write(Reg.XFER_CMD, command) == AxiResp.OKAY
        assert (await bench.read(Reg.XFER_CMD))[0] == 0
    await bench.cycles(4)
    assert len(bench.chip.requests) == before


@cocotb.test(**TIMEOUT)
async def fast_port_has_priority_over_register_transfers(dut):
    """While the fast port requests every cycle, a register transfer waits (XFER_CMD reads
    1 and a second command is ignored); it completes once the fast port is idle."""
    bench = HostBench(dut)
    await bench.start()
    dut.xfer__valid.value = 1
    dut.xfer__write.value = 1
    dut.xfer__space.value = 1
    dut.xfer__addr.value = 7
    await bench.write(Reg.XFER_SPACE, 0)
    await bench.write(Reg.XFER_INDEX, 3)
    await bench.write(Reg.XFER_ADDR, 99)
    await bench.write(XFER_DATA_BASE, 0xCAFE)
    await bench.write(Reg.XFER_CMD, XferCommand.WRITE)
    await bench.write(Reg.XFER_CMD, XferCommand.READ)   # ignored: one is pending
    await bench.cycles(10)
    assert (await bench.read(Reg.XFER_CMD))[0] == 1
    assert all(request[1:4] == (1, 0, 7) for request in bench.chip.requests.values())
    bench.idle_fast()
    while (await bench.read(Reg.XFER_CMD))[0]:
        pass
    await bench.cycles(4)
    register_requests = [r for r in bench.chip.requests.values() if r[1:4] != (1, 0, 7)]
    assert register_requests == [(1, 0, 3, 99, 0xCAFE)]


@cocotb.test(**TIMEOUT)
async def fast_port_requests_and_read_data(dut):
    """Random fast-port traffic: each request reaches the request bus one cycle later, and a
    read's data returns with ``rvalid`` exactly HOST_READ_LATENCY cycles after it."""
    bench = HostBench(dut)
    await bench.start()
    rng = random.Random(3)
    targets = [(rng.randrange(2), rng.randrange(16), rng.randrange(8)) for _ in range(12)]
    for _ in range(300):
        if rng.random() < 0.7:
            write = rng.randrange(2)
            wdata = rng.getrandbits(XFER_BITS) if write else 0
            for name, value in zip(FIELDS, (1, write, *rng.choice(targets), wdata)):
                getattr(dut, f"xfer__{name}").value = value
        else:
            bench.idle_fast()
        await RisingEdge(dut.clk)
    bench.idle_fast()
    await bench.cycles(HOST_READ_LATENCY + 2)
    model = TransferModel(fault=FAULT)
    for cycle, request in sorted(bench.chip.fast_requests.items()):
        model.request(cycle, *request)
    board = Scoreboard("host fast port")
    for cycle in range(min(bench.chip.fast), max(bench.chip.fast) + 1):
        board.compare(cycle, "request", model.requests.get(cycle),
                      bench.chip.requests.get(cycle))
        rvalid, rdata = bench.chip.fast[cycle]
        expected = model.reads.get(cycle)
        board.compare(cycle, "xfer.rvalid", int(expected is not None), rvalid)
        if expected is not None:
            board.compare(cycle, "xfer.rdata", expected, rdata)
    assert len(model.reads) > 50
    board.check()

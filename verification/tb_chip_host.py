"""cocotb testbench of the whole chip (preset ``tiny``) seen from its host port: AXI4-Lite
registers, the register and fast transfer paths, run control and error reporting.

Oracles: the register map and configuration (hand-written expectations), the data the test
itself wrote (for transfers), and the golden architectural simulator
(:class:`golden.archsim.ArchSim`, ``strict=False``) run on the same program for cycles, error
registers and SRAM contents.
"""

import dataclasses
import random
from functools import partial

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiResp

from compiler.asm import assemble
from compiler.program import Region
from golden.archsim import ArchSim
from isa import preset
from isa.formats import FORMATS
from isa.geometry import HostSpace
from isa.host import (CHIP_ID, HOST_QUEUE, Control, ErrorFlag, Reg, Status, XFER_DATA_BASE,
                      XferCommand, xfer_words)
from isa.opcodes import ControlOp, Direction, MemWriteOp
from .compare import compare_runs
from .host import HostDriver
from .programs import hand_written
from .scoreboard import FAULT

CONFIG = preset("tiny")
HALT = ControlOp.HALT.value
TIMEOUT = {"timeout_time": 2, "timeout_unit": "ms"}


class ChipBench(HostDriver):
    """The host driver plus register-path transfers, program loading and a run that can
    follow an earlier run."""

    async def start(self):
        await self.reset()

    # ---- Register-path transfers (XFER_*). ----

    async def xfer(self, command, space, index, addr, data=0):
        await self.write_reg(Reg.XFER_SPACE, space)
        await self.write_reg(Reg.XFER_INDEX, index)
        await self.write_reg(Reg.XFER_ADDR, addr)
        for i in range(xfer_words(self.config)):
            await self.write_reg(XFER_DATA_BASE + 4 * i, data >> (32 * i) & 0xFFFFFFFF)
        await self.write_reg(Reg.XFER_CMD, command)
        while await self.read_reg(Reg.XFER_CMD):
            pass
        words = [await self.read_reg(XFER_DATA_BASE + 4 * i)
                 for i in range(xfer_words(self.config))]
        return sum(word << (32 * i) for i, word in enumerate(words))

    async def reg_write(self, space, index, addr, data):
        await self.xfer(XferCommand.WRITE, space, index, addr, data)

    async def reg_read(self, space, index, addr):
        return await self.xfer(XferCommand.READ, space, index, addr)

    # ---- Programs. ----

    async def run(self, *, timeout_cycles):
        """START the loaded program, wait for DONE and report (as :meth:`HostDriver.run`, but
        safe when DONE is still set from the previous run: a START clears DONE only one cycle
        after its register write completes, so ``done`` is not sampled before a STATUS read
        has seen the START)."""
        await self.write_reg(Reg.CONTROL, Control.START)
        status = Status(await self.read_reg(Reg.STATUS))
        for _ in range(timeout_cycles):
            if Status.DONE in status or int(self.dut.done.value):
                break
            await RisingEdge(self.dut.clk)
        else:
            raise TimeoutError(f"no DONE within {timeout_cycles} cycles")
        status = Status(await self.read_reg(Reg.STATUS))
        assert Status.DONE in status and Status.RUNNING not in status, repr(status)
        return await self.outcome()

    async def registers(self):
        return {reg: await self.read_reg(reg) for reg in (Reg.STATUS, Reg.ERRORS,
                                                          Reg.ERROR_QUEUE, Reg.ERROR_CYCLE)}


class _Faulty:
    """A program whose SRAM images have one bit flipped in every byte: the oracle's deliberate
    error (``LPU_FAULT=1``)."""

    def __init__(self, program):
        self.program = program

    def load_into(self, machine):
        for number, words in self.program.instruction_images().items():
            machine.load_program(number, words)
        for index, address, words in self.program.sram:
            machine.load_sram(index, address, np.asarray(words, dtype=np.uint8) ^ 1)

    def read_outputs(self, machine):
        return self.program.read_outputs(machine)


def golden_run(program, *, fault=FAULT):
    """Run ``program`` on the golden simulator (``strict=False``: some programs here err on
    purpose); returns its :class:`~isa.host.RunOutcome`."""
    return ArchSim(CONFIG, strict=False).execute(_Faulty(program) if fault else program)


async def compare_with_golden(bench, program, regions, *, budget=10_000):
    """Run ``program`` on the chip and the golden simulator and compare them
    (:func:`~verification.compare.compare_runs`): cycles, error registers, and the SRAM
    ``regions`` (``(slice, address, count)``). Returns the chip's outcome."""
    program = dataclasses.replace(program, outputs=[
        Region(f"sram{index}[{address}:{address + count}]", index, address, count)
        for index, address, count in regions])
    await bench.load(program)
    outcome = await bench.run(timeout_cycles=budget)
    outcome.outputs = {region.name: await bench.read_sram(region.slice, region.address,
                                                          region.count)
                       for region in program.outputs}
    outcome.ecc = await bench.ecc_report()
    comparison = compare_runs(program, {"golden": golden_run(program), "rtl": outcome},
                              errors="equal", name="chip")
    assert comparison.ok, comparison.report()
    return outcome


def random_words(rng, count):
    return rng.integers(0, 256, (count, CONFIG.lanes), dtype=np.uint8)


def as_int(row):
    return int.from_bytes(np.asarray(row, dtype=np.uint8).tobytes(), "little")


@cocotb.test(**TIMEOUT)
async def registers_report_the_configuration(dut):
    """ID, the configuration registers and an idle STATUS after reset."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    expected = {
        Reg.ID: CHIP_ID, Reg.LANES: CONFIG.lanes, Reg.STREAMS: CONFIG.streams,
        Reg.MEM_SLICES: CONFIG.mem_slices, Reg.WORDS: CONFIG.words,
        Reg.QUEUES: len(bench.plan.queues), Reg.QUEUE_DEPTH: CONFIG.queue_depth,
        Reg.VXM_ALUS: CONFIG.vxm_alus, Reg.MXMS: CONFIG.mxms,
        Reg.STATUS: 0, Reg.ERRORS: 0, Reg.CYCLES_LO: 0, Reg.CYCLES_HI: 0,
    }
    for reg, value in expected.items():
        assert await bench.read_reg(reg) == value, reg.name


@cocotb.test(**TIMEOUT)
async def register_and_fast_transfers_agree(dut):
    """Words written through XFER_* read back through the fast port and vice versa, for
    SRAM words and instructions, in several slices and queues."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    rng = np.random.default_rng(1)
    slices = len(bench.plan.mem_units)
    for index in (0, slices // 2, slices - 1):
        words = random_words(rng, 4)
        address = int(rng.integers(0, CONFIG.words - 8))
        for k in range(2):                          # by registers, read back by the fast port
            await bench.reg_write(HostSpace.SRAM, index, address + k, as_int(words[k]))
        await bench.load_sram(index, address + 2, words[2:])     # by the fast port
        assert np.array_equal(await bench.read_sram(index, address, 4), words)
        assert [await bench.reg_read(HostSpace.SRAM, index, address + k) for k in range(4)] \
            == [as_int(row) for row in words]
    queues = len(bench.plan.queues)
    for number in (0, queues - 1):
        program = [int(w) for w in rng.integers(0, 1 << 63, 3, dtype=np.int64)]
        await bench.reg_write(HostSpace.IMEM, number, CONFIG.queue_depth - 3, program[0])
        await bench.write_words(HostSpace.IMEM, number, CONFIG.queue_depth - 2, program[1:])
        assert await bench.read_words(HostSpace.IMEM, number, CONFIG.queue_depth - 3, 3) \
            == program
        assert [await bench.reg_read(HostSpace.IMEM, number, CONFIG.queue_depth - 3 + k)
                for k in range(3)] == program


@cocotb.test(**TIMEOUT)
async def program_matches_the_golden_simulator(dut):
    """A hand-timed program (verification.programs ``add_requant``): STATUS shows RUNNING
    during the run and DONE after it; cycles, error registers and results equal the golden
    simulator's, and the NumPy reference's."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    program, expected = hand_written(CONFIG, "add_requant", seed=3)
    await bench.load(program)
    await bench.write_reg(Reg.CONTROL, Control.START)
    assert Status.RUNNING in Status(await bench.read_reg(Reg.STATUS))
    while not int(dut.done.value):
        await RisingEdge(dut.clk)
    status = Status(await bench.read_reg(Reg.STATUS))
    assert status == Status.DONE, repr(status)
    regions = [(r.slice, r.address, r.count) for r in program.outputs]
    report = await compare_with_golden(bench, program, regions)
    assert report.cycles == program.predicted_cycles
    region = program.outputs[0]
    got = await bench.read_sram(region.slice, region.address, region.count)
    assert np.array_equal(got, expected["out"])


@cocotb.test(**TIMEOUT)
async def start_at_an_epoch_count(dut):
    """START_AT starts the program in the cycle after the epoch counter equals START_COUNT:
    with the ``epoch`` input high in cycle E (registered at the boundary), the counter is 0 in
    cycle E + 2, so a START_COUNT of S makes cycle E + 3 + S the program's cycle 0, the first
    cycle RUNNING is high. Then the same program runs to the golden simulator's end."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    program, _ = hand_written(CONFIG, "add_requant", seed=3)
    await bench.load(program)
    count = 300

    async def pulse():
        dut.epoch.value = 1
        await RisingEdge(dut.clk)
        dut.epoch.value = 0

    # A first pulse keeps the counter far below the count while the chip is armed.
    await pulse()
    await bench.arm(count)
    assert not int(dut.running.value), "START_AT started at once"
    await pulse()
    cycles = 0                  # cycle E + cycles
    while not int(dut.running.value):
        await RisingEdge(dut.clk)
        cycles += 1
    assert cycles == 3 + count, f"program cycle 0 at E + {cycles}, not E + {3 + count}"
    assert await bench.read_reg(Reg.START_COUNT) == count
    await bench.wait_done(10_000)
    assert (await bench.outcome()).cycles == program.predicted_cycles == \
        golden_run(program).cycles
    # Read while it counts on: the epoch counter has moved past the start.
    assert await bench.read_reg(Reg.EPOCH_COUNT) > count + program.predicted_cycles


@cocotb.test(**TIMEOUT)
async def a_transfer_racing_a_start_at_is_refused(dut):
    """A transfer in the cycle a START_AT start happens is refused like one while the program
    runs (HOST_BUSY, ERROR_QUEUE = host, ERROR_CYCLE = 0): the instruction queues read
    instruction 0 in that cycle, and their memories leave a same-cycle read and write of one
    address undefined. Swept over consecutive cycles around the start, a write of a queue's
    instruction 0 is either taken before the start (the program runs the new instruction) or
    refused (the old one runs and stays); never taken with the old instruction run."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    queue = bench.plan.queue("vxm.alu0").number
    old, new = 400, 7
    program = assemble(f".queue vxm.alu0\n nop {old}\n", CONFIG)
    word = assemble(f".queue vxm.alu0\n nop {new}\n", CONFIG).instruction_images()[queue][0]
    count = 300
    outcomes = []

    async def pulse():
        dut.epoch.value = 1
        await RisingEdge(dut.clk)
        dut.epoch.value = 0

    for delay in range(count - 2, count + 4):
        await bench.load(program)
        await bench.write_reg(Reg.CONTROL, Control.CLEAR)
        # A first pulse keeps the counter below the count while the chip is armed.
        await pulse()
        await bench.arm(count)
        await pulse()
        for _ in range(delay):
            await RisingEdge(dut.clk)
        await bench.write_words(HostSpace.IMEM, queue, 0, [word])
        await bench.wait_done(2 * old)
        outcome = await bench.outcome()
        stored = (await bench.read_words(HostSpace.IMEM, queue, 0, 1))[0]
        if outcome.errors == ErrorFlag.HOST_BUSY:
            assert outcome.error_queue == HOST_QUEUE, (delay, outcome)
            assert (outcome.cycles, stored) == (old, program.instruction_images()[queue][0]), \
                (delay, outcome, stored)
            outcomes.append("refused")
        else:
            assert (outcome.errors, outcome.cycles, stored) == (0, new, word), \
                (delay, outcome, stored)
            outcomes.append("taken")
    # The sweep straddles the start: taken up to it, refused from it on, with ERROR_CYCLE 0
    # at the first refusal (the start cycle; the cycle counter is 0 in it).
    first = outcomes.index("refused")
    assert first > 0 and outcomes == ["taken"] * first + ["refused"] * (len(outcomes) - first), \
        outcomes


@cocotb.test(**TIMEOUT)
async def transfers_while_running_are_refused(dut):
    """While a program runs, fast-port and register transfers and START are refused with
    HOST_BUSY (ERROR_QUEUE = host, ERROR_CYCLE = the refused request's cycle) and change
    nothing; START clears the errors of the previous run."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    rng = np.random.default_rng(2)
    image = random_words(rng, 2)
    await bench.load_sram(0, 5, image[:1])
    await bench.load_sram(1, 6, image[1:])
    program = assemble(".queue vxm.alu0\n nop 400\n", CONFIG)
    await bench.load(program)
    await bench.write_reg(Reg.CONTROL, Control.START)
    while not int(dut.running.value):
        await RisingEdge(dut.clk)
    # The cycle that just ended was program cycle 0; this one is cycle 1. A fast-port request
    # driven in cycle 1 + wait is registered and refused in cycle 2 + wait.
    wait = 7
    for _ in range(wait):
        await RisingEdge(dut.clk)
    await bench.write_words(HostSpace.SRAM, 0, 5, [as_int(~image[0])])
    await bench.reg_write(HostSpace.SRAM, 1, 6, as_int(~image[1]))
    await bench.write_reg(Reg.CONTROL, Control.START)
    registers = await bench.registers()
    assert registers == {Reg.STATUS: Status.RUNNING | Status.ERROR,
                         Reg.ERRORS: ErrorFlag.HOST_BUSY, Reg.ERROR_QUEUE: HOST_QUEUE,
                         Reg.ERROR_CYCLE: 2 + wait}
    while not int(dut.done.value):
        await RisingEdge(dut.clk)
    assert await bench.read_reg(Reg.CYCLES_LO) == 400
    assert np.array_equal(await bench.read_sram(0, 5, 1), image[:1])
    assert np.array_equal(await bench.read_sram(1, 6, 1), image[1:])
    report = await bench.run(timeout_cycles=1000)
    assert (report.cycles, report.errors) == (400, 0)


@cocotb.test(**TIMEOUT)
async def out_of_range_transfers_are_flagged(dut):
    """Transfers to a slice, queue, address or space that does not exist raise ADDRESS_RANGE
    (ERROR_QUEUE = host, ERROR_CYCLE = the cycle counter), write nothing (no aliasing onto
    real words) and read zero; CLEAR clears the flags."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    rng = np.random.default_rng(3)
    slices, queues = len(bench.plan.mem_units), len(bench.plan.queues)
    image = random_words(rng, 2)
    await bench.load_sram(0, 0, image[:1])
    await bench.load_sram(slices - 1, 0, image[1:])
    await bench.load(assemble(".queue mem_e3.rd\n nop 37\n", CONFIG))
    report = await bench.run(timeout_cycles=100)
    assert report.cycles == 37
    cycles = 37                     # the counter holds the last program's length
    await bench.write_reg(Reg.CONTROL, Control.CLEAR)
    assert await bench.read_reg(Reg.STATUS) == 0
    bad = [(HostSpace.SRAM, slices, 0), (HostSpace.SRAM, 1023, 0),
           (HostSpace.SRAM, 0, CONFIG.words), (HostSpace.SRAM, slices - 1, 0xFFFF),
           (HostSpace.IMEM, queues, 0), (HostSpace.IMEM, 0, CONFIG.queue_depth),
           (2, 0, 0), (3, 0, 0)]
    for number, (space, index, addr) in enumerate(bad):
        await bench.write_words(space, index, addr, [(1 << 128) - 1 - number])
        registers = await bench.registers()
        assert registers == {Reg.STATUS: Status.ERROR, Reg.ERRORS: ErrorFlag.ADDRESS_RANGE,
                             Reg.ERROR_QUEUE: HOST_QUEUE, Reg.ERROR_CYCLE: cycles}, (space,
                                                                                   index, addr)
        assert await bench.read_words(space, index, addr, 1) == [0]
        await bench.write_reg(Reg.CONTROL, Control.CLEAR)
        assert await bench.read_reg(Reg.ERRORS) == 0
        await bench.reg_write(space, index, addr, 12345)
        assert await bench.read_reg(Reg.ERRORS) == ErrorFlag.ADDRESS_RANGE
        await bench.write_reg(Reg.CONTROL, Control.CLEAR)
    assert await bench.read_reg(Reg.STATUS) == 0
    assert np.array_equal(await bench.read_sram(0, 0, 1), image[:1])
    assert np.array_equal(await bench.read_sram(slices - 1, 0, 1), image[1:])
    assert await bench.read_words(HostSpace.IMEM, 0, 0, 1) == [HALT]
    assert await bench.read_reg(Reg.CYCLES_LO) == cycles


def mem_write(addr, stream, direction=Direction.WEST):
    return FORMATS["mem"].pack(MemWriteOp.WRITE.value,
                               {"addr": addr, "stream": stream, "dir": direction})


#: Registers the host may write (CONTROL is write-only); every other address refuses a write.
WRITABLE = {int(Reg.CONTROL), int(Reg.XFER_SPACE), int(Reg.XFER_INDEX), int(Reg.XFER_ADDR),
            int(Reg.XFER_CMD), int(Reg.START_COUNT)} | \
    {XFER_DATA_BASE + 4 * i for i in range(xfer_words(CONFIG))}
#: Registers the host may read.
READABLE = ({int(r) for r in Reg} - {int(Reg.CONTROL)}) | \
    {XFER_DATA_BASE + 4 * i for i in range(xfer_words(CONFIG))}


@cocotb.test(**TIMEOUT)
async def register_accesses_during_a_run_change_nothing(dut):
    """While a program runs, a cocotbext-axi manager reads and writes random addresses:
    registers, read-only registers, write-only CONTROL, unmapped addresses. Each access is
    answered as the register map says (SLVERR for a write to a read-only or unmapped address
    and for a read of CONTROL or an unmapped one, which returns 0); a CONTROL or transfer
    command is refused with HOST_BUSY; and the program's cycles and results, and the SRAM
    contents loaded before, are unchanged."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    program, expected = hand_written(CONFIG, "add_requant", seed=4, count=600)
    await bench.load(program)
    rng = random.Random(6)
    kinds = {"read": 0, "unreadable": 0, "write": 0, "unwritable": 0, "refused": 0}
    await bench.write_reg(Reg.CONTROL, Control.START)
    while not int(dut.running.value):
        await RisingEdge(dut.clk)
    # One access of each kind by hand (a write to read-only ID and to write-only CONTROL, a
    # transfer command, an unmapped address both ways), then random ones, shuffled.
    accesses = [(Reg.ID, True), (Reg.CONTROL, True), (Reg.XFER_CMD, True), (0xFFC, True),
                (0xFFC, False), (Reg.CONTROL, False), (Reg.STATUS, False)]
    for _ in range(53):
        accesses.append((rng.choice([rng.randrange(0, 0x1000, 4), int(rng.choice(list(Reg))),
                                     XFER_DATA_BASE + 4 * rng.randrange(xfer_words(CONFIG) + 1)]),
                         rng.random() < 0.5))
    rng.shuffle(accesses)
    for address, write in accesses:
        address = int(address)
        if not write:
            answer = await bench.axi.read(address, 4)
            value = int.from_bytes(answer.data, "little")
            if address in READABLE:
                kinds["read"] += 1
                assert answer.resp == AxiResp.OKAY, hex(address)
                if address == Reg.ID:
                    assert value == CHIP_ID
            else:
                kinds["unreadable"] += 1
                assert (value, answer.resp) == (0, AxiResp.SLVERR), hex(address)
        else:
            data = rng.getrandbits(32)
            if address == Reg.CONTROL:
                data |= int(rng.choice([Control.START, Control.CLEAR]))
            elif address == Reg.XFER_CMD:
                data = int(rng.choice([XferCommand.WRITE, XferCommand.READ]))
            answer = await bench.axi.write(address, data.to_bytes(4, "little"))
            if address in WRITABLE:
                kinds["write"] += 1
                kinds["refused"] += address in (Reg.CONTROL, Reg.XFER_CMD)
                assert answer.resp == AxiResp.OKAY, hex(address)
            else:
                kinds["unwritable"] += 1
                assert answer.resp == AxiResp.SLVERR, hex(address)
    # Every access above fell inside the run (a START after it would start another).
    assert int(dut.running.value) == 1, "the program ended before the accesses did"
    assert all(kinds.values()), kinds
    while not int(dut.done.value):
        await RisingEdge(dut.clk)
    outcome = await bench.outcome()
    assert outcome.cycles == program.predicted_cycles == golden_run(program).cycles
    assert outcome.errors == ErrorFlag.HOST_BUSY and outcome.error_queue == HOST_QUEUE
    region = program.outputs[0]
    assert np.array_equal(await bench.read_sram(region.slice, region.address, region.count),
                          expected["out"])
    for index, address, words in program.sram:
        assert np.array_equal(await bench.read_sram(index, address, len(words)), words)


@cocotb.test(**TIMEOUT)
async def illegal_instructions_are_flagged_without_corrupting_state(dut):
    """READs and a WRITE that REPEAT walks out of the SRAM, illegal opcodes (on a VXM and a
    switch queue), streams out of range: the first error's queue and cycle (the lowest queue
    among several in one cycle),
    the accumulated flags, the program length and every SRAM word touched (or aliased) equal
    the golden simulator's."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    plan = bench.plan
    rng = np.random.default_rng(4)
    e0 = plan.sram_index(plan.unit("mem_e0"))
    w1 = plan.sram_index(plan.unit("mem_w1"))
    program = assemble("""
        .queue mem_e0.wr
            nop 2
            write w0 -> 8190        ; cycle 2; the REPEAT added below: 8191, then 8192
        .queue mem_w1.rd
            read 3 -> e2            ; cycle 0
            repeat 3, -1            ; 2, 1, 0; the REPEAT added below: -1, -2
        .queue vxm.alu0
            nop 3
            mov.i8 e2 -> e0         ; the words read arrive at the VXM in cycles 3..6
            repeat 3, 0
    """, CONFIG)
    q = {name: plan.queue(name).number for name in ("mem_e0.wr", "mem_w1.rd", "vxm.alu1",
                                                    "mem_w1.wr", "sxm_e0.sxm")}
    program.queues[q["mem_e0.wr"]].append(
        FORMATS["repeat"].pack(ControlOp.REPEAT.value, {"count": 2, "stride": 1, "gap": 0}))
    program.queues[q["mem_w1.rd"]].append(
        FORMATS["repeat"].pack(ControlOp.REPEAT.value, {"count": 2, "stride": -1, "gap": 0}))
    program.queues[q["vxm.alu1"]] = [FORMATS["count"].pack(ControlOp.NOP.value, {"count": 6}),
                                     5, 7]
    program.queues[q["mem_w1.wr"]] = [mem_write(10, CONFIG.streams),
                                      mem_write(11, 31, Direction.EAST), mem_write(12, 0)]
    program.queues[q["sxm_e0.sxm"]] = [FORMATS["count"].pack(ControlOp.NOP.value,
                                                             {"count": 4}), 63 | 1 << 20]
    program.sram = [(e0, 0, random_words(rng, 4)), (e0, 8188, random_words(rng, 4)),
                    (w1, 0, random_words(rng, 16)), (w1, 8190, random_words(rng, 2))]
    regions = [(e0, 0, 4), (e0, 8188, 4), (w1, 0, 16), (w1, 8190, 2)]
    report = await compare_with_golden(bench, program, regions)
    assert report.errors == (ErrorFlag.ADDRESS_RANGE | ErrorFlag.ILLEGAL_OPCODE |
                             ErrorFlag.BAD_OPERAND)
    assert (report.error_queue, report.error_cycle) == (q["mem_w1.wr"], 0)
    # The same program without its first error: the next one is reported.
    program.queues[q["mem_w1.wr"]][0] = mem_write(10, 0)
    report = await compare_with_golden(bench, program, regions)
    assert (report.error_queue, report.error_cycle) == (q["mem_w1.wr"], 1)
    # Without either: three queues err first, in cycle 4; the lowest-numbered is reported.
    program.queues[q["mem_w1.wr"]][1] = mem_write(11, 1)
    report = await compare_with_golden(bench, program, regions)
    assert (report.error_queue, report.error_cycle) == (q["mem_w1.rd"], 4)
    assert q["mem_w1.rd"] < q["mem_e0.wr"] < q["sxm_e0.sxm"]


@cocotb.test(**TIMEOUT)
async def random_programs_match_the_golden_simulator(dut):
    """Random straight-line programs on every MEM and VXM queue (reads, writes, VXM operations
    on the passing streams, REPEATs, NOPs, SYNC/NOTIFY, some illegal words) give the golden
    simulator's cycles, error registers and SRAM contents."""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    rng = random.Random(5)
    for _ in range(3):
        program, regions = random_program(rng, bench.plan)
        await compare_with_golden(bench, program, regions)


def random_program(rng, plan):
    """A random program over a small SRAM window of every slice (so reads see loaded words and
    writes land where they are read back)."""
    lines = []
    window = 32
    for unit in plan.mem_units:
        lines.append(f".queue {unit.name}.rd")
        lines += random_queue(rng, lambda: f"read {rng.randrange(window)} -> "
                                           f"{rng.choice('ew')}{rng.randrange(CONFIG.streams)}")
        lines.append(f".queue {unit.name}.wr")
        lines += random_queue(rng, lambda: f"write {rng.choice('ew')}"
                                           f"{rng.randrange(CONFIG.streams)} -> "
                                           f"{rng.randrange(window, 2 * window)}")
    for j in range(CONFIG.vxm_alus):
        lines.append(f".queue vxm.alu{j}")
        lines += random_queue(rng, partial(random_vector_op, rng, j))
    # Every SYNC is released: the switch queue sxm_w0.sxm issues NOTIFY in cycles 100,
    # 201 and 302, and no queue has more than two SYNCs or runs 100 cycles between them.
    lines += [".queue sxm_w0.sxm"] + ["nop 100", "notify"] * 3
    program = assemble("\n".join(lines), CONFIG, filename="<random>")
    # Both engines start from the same image of the whole window (an earlier program's
    # writes stay in the chip's SRAM).
    words = random_words(np.random.default_rng(rng.getrandbits(32)), 2 * window)
    program.sram = [(index, 0, words) for index in range(len(plan.mem_units))]
    regions = [(index, 0, 2 * window) for index in range(len(plan.mem_units))]
    return program, regions


VECTOR_OPS = ["add", "adds", "sub", "mul", "max", "min", "xor", "shr", "mov", "movs", "eq"]
TYPE_BYTES = {"i8": 1, "i16": 2, "i32": 4}


def random_vector_op(rng, alu):
    """A random VXM operation on the passing streams for ALU ``alu``. Each ALU sends to its
    own four streams (ALUs 0-2 east, 3-5 west), so no two ALUs ever claim one register."""
    assert CONFIG.vxm_alus <= 6 and CONFIG.streams >= 12
    op = rng.choice(VECTOR_OPS)
    types = rng.choice(["i8", "i16.i8", "i8.i16", "i32"])
    width = TYPE_BYTES[types.split(".")[0]]
    a = f"{rng.choice('ew')}{rng.randrange(0, CONFIG.streams, width)}"
    b = rng.choice([f"{rng.choice('ew')}{rng.randrange(0, CONFIG.streams, width)}",
                    f"alu{rng.randrange(CONFIG.vxm_alus)}", f"#{rng.randrange(-9, 9)}"])
    operands = a if op in ("mov", "movs") else f"{a}, {b}"
    return f"{op}.{types} {operands} -> {'ew'[alu >= 3]}{4 * (alu % 3)}"


def random_queue(rng, unit_instruction, length=12):
    lines = []
    has_unit = False
    syncs = 0
    for _ in range(length):
        roll = rng.random()
        if roll < 0.5:
            lines.append(unit_instruction())
            has_unit = True
        elif roll < 0.65 and has_unit:
            lines.append(f"repeat {rng.randrange(1, 4)}, 0")
        elif roll < 0.85:
            lines.append(f"nop {rng.randrange(1, 6)}")
        elif roll < 0.92 or syncs == 2:
            lines.append("notify")
        else:
            lines.append("sync")
            syncs += 1
    return lines


@cocotb.test(**TIMEOUT)
async def conflict_with_a_dropped_instruction(dut):
    """ALU 1's result conflicts with ALU 0's and is dropped; ALU 2's conflicts only with the
    dropped ALU 1, so (as the golden simulator has it) it takes effect. (An earlier RTL
    checked every pair of ALUs, not each ALU against the surviving lower ones.)"""
    bench = ChipBench(dut, CONFIG)
    await bench.start()
    e0 = bench.plan.sram_index(bench.plan.unit("mem_e0"))
    program = assemble("""
        .queue vxm.alu0
            mov.i8 #1 -> e1
        .queue vxm.alu1
            mov.i16 #2 -> e0        ; overlaps e1: dropped
        .queue vxm.alu2
            mov.i8 #3 -> e0         ; overlaps only the dropped result
        .queue mem_e0.wr
            nop 2
            write e0 -> 0           ; distance 1: the results pass in cycle 2
            nop 1
        .queue mem_e0.rd
            nop 3
            read 0 -> e5
    """, CONFIG)
    program.sram = [(e0, 0, np.full((1, CONFIG.lanes), 0xEE, dtype=np.uint8))]
    await compare_with_golden(bench, program, [(e0, 0, 1)])

"""Host-side driver for the chip top in cocotb: the fast transfer port and AXI4-Lite registers.

Inputs are driven between clock edges and outputs are sampled at the edge, so every
``await RisingEdge`` corresponds to exactly one chip cycle.
"""

import time

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, RisingEdge, Timer
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from hdl.chip import RESET_STAGES
from isa.geometry import HostSpace, floorplan
from isa.host import (Control, EccReport, ErrorFlag, LinkReg, Reg, RunOutcome, Status,
                      link_register)
from isa.timing import HOST_READ_LATENCY, HOST_STATUS_LATENCY, SIMULATION_CLOCK_NS

__all__ = ["HostDriver", "axi_master"]

#: Cycles after the START write completes by which the chip has started (and cleared DONE):
#: the host interface registers the pulse, then the run control takes it.
START_SETTLE = 3


def axi_master(dut, prefix=""):
    """A cocotbext-axi AXI4-Lite manager on the ``<prefix>axi__*`` ports of ``dut``, logging
    warnings only (it logs every transfer otherwise)."""
    axi = AxiLiteMaster(AxiLiteBus.from_prefix(dut, f"{prefix}axi", bus_separator="__"),
                        dut.clk, dut.rst)
    axi.write_if.log.setLevel("WARNING")
    axi.read_if.log.setLevel("WARNING")
    return axi


class HostDriver:
    """Drives ``dut`` (an ``lpu_chip`` top) as a host would.

    Parameters
    ----------
    dut : cocotb handle of the chip top
    config : ChipConfig
        The configuration the chip was built for.
    prefix : str
        Of the chip's ports (``chip__1__`` for chip 1 of a multi-chip top,
        :mod:`verification.system_top`); the clock and reset are ``clk`` and ``rst`` whatever
        it is.
    """

    def __init__(self, dut, config, prefix=""):
        self.dut = dut
        self.config = config
        self.plan = floorplan(config)
        self.prefix = prefix
        self.axi = axi_master(dut, prefix)
        self.xfer_port = {name: getattr(dut, f"{prefix}xfer__{name}")
                          for name in ("valid", "write", "space", "index", "addr", "wdata",
                                       "rvalid", "rdata")}
        self.done = getattr(dut, f"{prefix}done")
        self._idle_request()

    def _idle_request(self):
        for name in ("valid", "write", "space", "index", "addr", "wdata"):
            self.xfer_port[name].value = 0

    async def reset(self):
        """Start the clock, reset the chip and wait until its core is out of reset."""
        Clock(self.dut.clk, SIMULATION_CLOCK_NS, unit="ns").start()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, RESET_STAGES + 1)

    # ---- Transfers (fast port). ----

    async def write_words(self, space, index, address, words):
        """Write ``words`` (ints) to consecutive addresses, one per cycle. Returns when a
        refused write's flag shows in the error registers (the request is registered at the
        boundary, then its cycle's events take :data:`~isa.timing.HOST_STATUS_LATENCY`)."""
        xfer = self.xfer_port
        xfer["valid"].value = 1
        xfer["write"].value = 1
        xfer["space"].value = int(space)
        xfer["index"].value = index
        for offset, word in enumerate(words):
            xfer["addr"].value = address + offset
            xfer["wdata"].value = int(word)
            await RisingEdge(self.dut.clk)
        self._idle_request()
        await ClockCycles(self.dut.clk, HOST_STATUS_LATENCY - 1)

    async def read_words(self, space, index, address, count):
        """Read ``count`` words from consecutive addresses, one request per cycle."""
        xfer = self.xfer_port
        words = []
        xfer["write"].value = 0
        xfer["space"].value = int(space)
        xfer["index"].value = index
        for step in range(count + HOST_READ_LATENCY):
            if step < count:
                xfer["valid"].value = 1
                xfer["addr"].value = address + step
            else:
                xfer["valid"].value = 0
            await RisingEdge(self.dut.clk)
            if xfer["rvalid"].value == 1:
                words.append(int(xfer["rdata"].value))
        self._idle_request()
        if len(words) != count:
            raise RuntimeError(f"expected {count} words back, got {len(words)}")
        return words

    async def load_sram(self, index, address, words):
        """Load ``words`` (``[n, lanes]`` uint8) into MEM slice ``index``."""
        words = np.asarray(words, dtype=np.uint8)
        ints = [int.from_bytes(row.tobytes(), "little") for row in words]
        await self.write_words(HostSpace.SRAM, index, address, ints)

    async def read_sram(self, index, address, count):
        """``[count, lanes]`` uint8 from MEM slice ``index``."""
        ints = await self.read_words(HostSpace.SRAM, index, address, count)
        lanes = self.config.lanes
        return np.array([np.frombuffer(w.to_bytes(lanes, "little"), dtype=np.uint8)
                         for w in ints]).reshape(count, lanes)

    async def load_program(self, queue, words):
        """Load instruction words into queue number ``queue``."""
        await self.write_words(HostSpace.IMEM, queue, 0, words)

    # ---- Registers. ----

    async def read_reg(self, reg):
        return int.from_bytes((await self.axi.read(int(reg), 4)).data, "little")

    async def write_reg(self, reg, value):
        await self.axi.write(int(reg), int(value).to_bytes(4, "little"))

    async def run(self, *, timeout_cycles):
        """START the loaded program, let the chip run freely until DONE, and report."""
        await self.write_reg(Reg.CONTROL, Control.START)
        begin = time.perf_counter()
        # START is registered at the chip boundary: let it clear DONE of a previous run
        # before looking at DONE.
        await ClockCycles(self.dut.clk, START_SETTLE)
        await self.wait_done(timeout_cycles)
        wall = time.perf_counter() - begin
        status = Status(await self.read_reg(Reg.STATUS))
        if Status.RUNNING in status or Status.DONE not in status:
            raise RuntimeError(f"unexpected status after DONE: {status!r}")
        return await self.outcome(wall)

    async def wait_done(self, timeout_cycles):
        """Wait until DONE is set (TimeoutError after ``timeout_cycles``)."""
        if not self.done.value:
            timeout = Timer(timeout_cycles * SIMULATION_CLOCK_NS, unit="ns")
            if await First(RisingEdge(self.done), timeout) is timeout:
                raise TimeoutError(f"{self.prefix or 'the chip'}: no DONE within "
                                   f"{timeout_cycles} cycles")

    async def arm(self, start_count):
        """START_AT: the program starts in the cycle after the epoch counter equals
        ``start_count``."""
        await self.write_reg(Reg.START_COUNT, start_count)
        await self.write_reg(Reg.CONTROL, Control.START_AT)

    async def link_registers(self, port):
        """``{register name: value}`` of link port number ``port``'s block
        (:class:`~isa.host.LinkReg`)."""
        return {reg.name.lower(): await self.read_reg(link_register(port, reg))
                for reg in LinkReg}

    async def outcome(self, wall_seconds=None):
        """The :class:`~isa.host.RunOutcome` the registers report after a run (without
        outputs)."""
        cycles = await self.read_reg(Reg.CYCLES_LO) | (await self.read_reg(Reg.CYCLES_HI)) << 32
        return RunOutcome(cycles, ErrorFlag(await self.read_reg(Reg.ERRORS)),
                          await self.read_reg(Reg.ERROR_QUEUE),
                          await self.read_reg(Reg.ERROR_CYCLE), wall_seconds=wall_seconds)

    async def ecc_report(self):
        """The ECC registers (:class:`~isa.host.EccReport`)."""
        return EccReport(*[await self.read_reg(reg) for reg in (
            Reg.ECC_CORRECTED, Reg.ECC_UNCORRECTABLE, Reg.ECC_SLICE, Reg.ECC_ADDRESS,
            Reg.ECC_CYCLE)])

    async def load(self, program, *, skip=()):
        """Load ``program`` (a :class:`~compiler.program.Program`): every queue's
        :meth:`~compiler.program.Program.instruction_images` but those numbered in ``skip``,
        and its SRAM images."""
        for number, words in program.instruction_images().items():
            if number not in skip:
                await self.load_program(number, words)
        for index, address, words in program.sram:
            await self.load_sram(index, address, words)

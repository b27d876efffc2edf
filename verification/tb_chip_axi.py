"""cocotb testbench of the chip's AXI4-Lite port (preset ``tiny``) driven by a hand-made
manager that controls every channel cycle by cycle, as careful managers do and as
cocotbext-axi does not: requests from the first clock edge after reset, the write address and
the write data in different cycles (either first), and BREADY / RREADY held low for a while.

Oracles: the register map (``ID`` reads :data:`isa.host.CHIP_ID`, a written XFER register
reads back what was written) and the AXI4-Lite rules (every handshaked request gets exactly
one response, in order).
"""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from hdl.chip import RESET_STAGES
from hdl.interfaces import HOST_INDEX_BITS, HOST_SPACE_BITS
from isa.host import CHIP_ID, AxiResponse, Reg
from isa.timing import SIMULATION_CLOCK_NS

TIMEOUT = {"timeout_time": 1, "timeout_unit": "ms"}
#: Cycles a response may take before the test calls it lost.
PATIENCE = 50


class Manager:
    """An AXI4-Lite manager on the chip's ``axi__*`` ports, one transaction at a time."""

    def __init__(self, dut):
        self.dut = dut
        for name in ("arvalid", "awvalid", "wvalid", "bready", "rready", "araddr", "awaddr",
                     "wdata"):
            getattr(dut, f"axi__{name}").value = 0
        dut.axi__wstrb.value = 0xF
        dut.xfer__valid.value = 0

    async def reset(self, *, settle=0):
        """Reset the chip; return ``settle`` clock edges after ``rst`` falls (0: at the first
        edge, when a manager may already start)."""
        Clock(self.dut.clk, SIMULATION_CLOCK_NS, unit="ns").start()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        if settle:
            await ClockCycles(self.dut.clk, settle)

    async def _handshake(self, valid, ready):
        """Hold ``valid`` until a rising edge sees ``ready``."""
        valid.value = 1
        for _ in range(PATIENCE):
            await ReadOnly()
            accepted = int(ready.value) == 1
            await RisingEdge(self.dut.clk)
            if accepted:
                valid.value = 0
                return
        raise AssertionError(f"{valid._name} was never accepted")

    async def _response(self, valid, ready, hold, what, payload):
        """Wait for the response ``valid`` of the accepted request ``what`` with ``ready``
        low, check that it stays for ``hold`` more edges, take ``payload()`` and then the
        response (``ready`` high for one edge); returns the payload."""
        dut = self.dut
        ready.value = 0
        for _ in range(PATIENCE):
            await ReadOnly()
            if int(valid.value):
                break
            await RisingEdge(dut.clk)
        else:
            raise AssertionError(f"{what} was accepted and never answered")
        for _ in range(hold):
            await RisingEdge(dut.clk)
            await ReadOnly()
            assert int(valid.value) == 1, f"{valid._name} fell while {ready._name} was low"
        taken = payload()
        await RisingEdge(dut.clk)
        ready.value = 1
        await RisingEdge(dut.clk)
        ready.value = 0
        return taken

    async def read(self, address, *, hold=0):
        """``(data, response)`` of a read of ``address``."""
        dut = self.dut
        dut.axi__araddr.value = int(address)
        await self._handshake(dut.axi__arvalid, dut.axi__arready)
        data, response = await self._response(
            dut.axi__rvalid, dut.axi__rready, hold, f"the read of 0x{int(address):x}",
            lambda: (int(dut.axi__rdata.value), int(dut.axi__rresp.value)))
        return data, AxiResponse(response)

    async def write(self, address, data, *, order="together", hold=0):
        """The response of a write of ``data`` to ``address``; ``order``: ``"together"``,
        ``"address first"`` or ``"data first"`` (the other channel a few cycles later)."""
        dut = self.dut
        dut.axi__awaddr.value = int(address)
        dut.axi__wdata.value = int(data)
        dut.axi__bready.value = 0
        if order == "together":
            dut.axi__awvalid.value = 1
            dut.axi__wvalid.value = 1
        else:
            first, second = ((dut.axi__awvalid, dut.axi__wvalid) if order == "address first"
                             else (dut.axi__wvalid, dut.axi__awvalid))
            first.value = 1
            await ClockCycles(dut.clk, 3)
            second.value = 1
        accepted = {"aw": False, "w": False}
        for _ in range(PATIENCE):
            await ReadOnly()
            accepted["aw"] |= bool(int(dut.axi__awvalid.value) and int(dut.axi__awready.value))
            accepted["w"] |= bool(int(dut.axi__wvalid.value) and int(dut.axi__wready.value))
            await RisingEdge(dut.clk)
            if accepted["aw"]:
                dut.axi__awvalid.value = 0
            if accepted["w"]:
                dut.axi__wvalid.value = 0
            if all(accepted.values()):
                break
        else:
            raise AssertionError(f"the write of 0x{int(address):x} was never accepted")
        response = await self._response(dut.axi__bvalid, dut.axi__bready, hold,
                                        f"the write of 0x{int(address):x}",
                                        lambda: int(dut.axi__bresp.value))
        return AxiResponse(response)


@cocotb.test(**TIMEOUT)
async def a_read_right_after_reset_is_answered(dut):
    manager = Manager(dut)
    await manager.reset(settle=0)
    data, response = await manager.read(Reg.ID)
    assert (data, response) == (CHIP_ID, AxiResponse.OKAY)
    # The core has left reset by now: the port answers as usual.
    await ClockCycles(dut.clk, RESET_STAGES)
    assert await manager.read(Reg.ID) == (CHIP_ID, AxiResponse.OKAY)


@cocotb.test(**TIMEOUT)
async def a_write_right_after_reset_takes_effect(dut):
    manager = Manager(dut)
    await manager.reset(settle=0)
    assert await manager.write(Reg.XFER_ADDR, 0x1234) == AxiResponse.OKAY
    assert await manager.read(Reg.XFER_ADDR) == (0x1234, AxiResponse.OKAY)


@cocotb.test(**TIMEOUT)
async def writes_with_the_channels_apart_and_slow_responses(dut):
    manager = Manager(dut)
    await manager.reset(settle=RESET_STAGES + 1)
    rng = random.Random(7)
    expected = {}
    for step in range(24):
        register = rng.choice([Reg.XFER_SPACE, Reg.XFER_INDEX, Reg.XFER_ADDR])
        width = {Reg.XFER_SPACE: HOST_SPACE_BITS, Reg.XFER_INDEX: HOST_INDEX_BITS,
                 Reg.XFER_ADDR: 16}[register]
        value = rng.randrange(1 << width)
        order = ("together", "address first", "data first")[step % 3]
        hold = rng.choice([0, 1, 5])
        assert await manager.write(register, value, order=order, hold=hold) == \
            AxiResponse.OKAY
        expected[register] = value
        data, response = await manager.read(register, hold=rng.choice([0, 2, 7]))
        assert (data, response) == (expected[register], AxiResponse.OKAY), (step, order, hold)

# amaranth: UnusedElaboratable=no
"""The UART-to-AXI4-Lite bridge (hdl/uart.py) in Amaranth's simulator, driven with the byte
frames of the PC-side client (sim/board_host.py).

The oracle is a cycle-level Python model of an AXI4-Lite register file with random ready and
response delays: every frame must turn into exactly the AXI transactions it describes, and the
UART answers must carry the responses and data of those transactions.
"""

import random

import pytest
from amaranth.sim import Simulator

from hdl.uart import RX_FIFO_DEPTH, UartBridge
from isa.host import MAX_BURST, AxiResponse
from sim.board_host import parse_read_answer, read_frame, write_frame

DIVISOR = 4                       # clock cycles per UART bit: keeps the simulation short
SLVERR = AxiResponse.SLVERR
#: Registers of the model subordinate; anything else answers SLVERR.
REGISTERS = range(0x40, 0x140, 4)


class AxiSubordinate:
    """Registers behind an AXI4-Lite port, with random handshake delays; logs every access."""

    def __init__(self, axi, seed):
        self.axi = axi
        self.rng = random.Random(seed)
        self.values = {address: 0 for address in REGISTERS}
        self.log = []

    async def run(self, ctx):
        axi, rng = self.axi, self.rng
        aw = w = b = r = None
        while True:
            ctx.set(axi.awready, aw is None and rng.random() < 0.6)
            ctx.set(axi.wready, w is None and rng.random() < 0.6)
            ctx.set(axi.arready, r is None and rng.random() < 0.6)
            ctx.set(axi.bvalid, b is not None)
            ctx.set(axi.bresp, b or 0)
            ctx.set(axi.rvalid, r is not None)
            ctx.set(axi.rresp, r[0] if r else 0)
            ctx.set(axi.rdata, r[1] if r else 0)
            (_, _, awvalid, awready, awaddr, wvalid, wready, wdata, wstrb, bready,
             arvalid, arready, araddr, rready) = await ctx.tick().sample(
                axi.awvalid, axi.awready, axi.awaddr, axi.wvalid, axi.wready, axi.wdata,
                axi.wstrb, axi.bready, axi.arvalid, axi.arready, axi.araddr, axi.rready)
            if b is not None and bready:
                b = None
            if r is not None and rready:
                r = None
            if awvalid and awready:
                aw = awaddr
            if wvalid and wready:
                assert wstrb == 0b1111
                w = wdata
            if aw is not None and w is not None and b is None:
                ok = aw in self.values
                if ok:
                    self.values[aw] = w
                self.log.append(("write", aw, w))
                b = 0 if ok else SLVERR
                aw = w = None
            if arvalid and arready:
                ok = araddr in self.values
                self.log.append(("read", araddr))
                r = (0, self.values[araddr]) if ok else (SLVERR, 0)


async def send_bytes(ctx, line, data, *, gap=0, stop=1):
    """Drive ``data`` onto the UART line (8N1), ``gap`` idle bit times after each byte."""
    for byte in data:
        for bit in [0, *((byte >> i) & 1 for i in range(8)), stop]:
            ctx.set(line, bit)
            await ctx.tick().repeat(DIVISOR)
        ctx.set(line, 1)
        await ctx.tick().repeat(DIVISOR * gap + 1)


class UartMonitor:
    """Decodes the bridge's transmit line (sampling mid-bit) into :attr:`received`."""

    def __init__(self, line):
        self.line = line
        self.received = bytearray()

    async def run(self, ctx):
        while True:
            _, _, level = await ctx.tick().sample(self.line)
            if level:
                continue
            await ctx.tick().repeat(DIVISOR // 2)          # middle of the start bit
            byte = 0
            for i in range(8):
                await ctx.tick().repeat(DIVISOR)
                byte |= ctx.get(self.line) << i
            await ctx.tick().repeat(DIVISOR)
            assert ctx.get(self.line) == 1, "stop bit low"
            self.received.append(byte)

    async def take(self, ctx, count, *, limit=100_000):
        """The next ``count`` received bytes, waiting for them."""
        for _ in range(limit):
            if len(self.received) >= count:
                answer = bytes(self.received[:count])
                del self.received[:count]
                return answer
            await ctx.tick()
        raise AssertionError(f"only {len(self.received)} of {count} answer bytes arrived")


def simulate(session, *, seed=0, timeout=None):
    """Run ``session(ctx, bridge, monitor)`` against a fresh bridge; returns the model."""
    bridge = UartBridge(DIVISOR, timeout=timeout)
    subordinate = AxiSubordinate(bridge.axi, seed)
    monitor = UartMonitor(bridge.tx)
    sim = Simulator(bridge)
    sim.add_clock(1e-6)
    sim.add_process(subordinate.run)
    sim.add_testbench(monitor.run, background=True)

    async def testbench(ctx):
        ctx.set(bridge.rx, 1)
        await ctx.tick().repeat(4)
        await session(ctx, bridge, monitor)
        await ctx.tick().repeat(20 * DIVISOR)
        assert not monitor.received, f"unexpected answer bytes {bytes(monitor.received)}"

    sim.add_testbench(testbench)
    sim.run()
    return subordinate


async def exchange(ctx, bridge, monitor, frame, answer_bytes, **send):
    """Send ``frame`` and return the next ``answer_bytes`` bytes of answer."""
    await send_bytes(ctx, bridge.rx, frame, **send)
    return await monitor.take(ctx, answer_bytes)


def test_frames_encode_as_documented():
    # Pinned by hand from the protocol in hdl/uart.py.
    assert write_frame(0x104, [0x11223344]) == b"W\x04\x01\x00\x44\x33\x22\x11"
    assert read_frame(0x40, 3) == b"R\x40\x00\x02"
    assert parse_read_answer(b"\x00\x78\x56\x34\x12", 1) == [(0, 0x12345678)]
    with pytest.raises(ValueError, match="1 to 256 words, not 0"):
        write_frame(0, [])
    with pytest.raises(ValueError, match="1 to 256 words, not 257"):
        read_frame(0, MAX_BURST + 1)


def test_write_burst_then_read_burst():
    words = [0xDEADBEEF, 0x01234567, 0x89ABCDEF]

    async def session(ctx, bridge, monitor):
        answer = await exchange(ctx, bridge, monitor, write_frame(0x100, words), 1)
        assert answer == b"\x00"
        answer = await exchange(ctx, bridge, monitor, read_frame(0xFC, 4), 20)
        assert parse_read_answer(answer, 4) == [(0, 0)] + [(0, w) for w in words]

    model = simulate(session)
    assert model.log == [("write", 0x100 + 4 * i, w) for i, w in enumerate(words)] + \
        [("read", 0xFC + 4 * i) for i in range(4)]


def test_error_responses_are_reported():
    async def session(ctx, bridge, monitor):
        # One refused word in a burst makes the whole write answer SLVERR.
        assert await exchange(ctx, bridge, monitor, write_frame(0x13C, [1, 2]), 1) == \
            bytes([SLVERR])
        answer = parse_read_answer(
            await exchange(ctx, bridge, monitor, read_frame(0x13C, 2), 10), 2)
        assert answer == [(0, 1), (SLVERR, 0)]

    simulate(session, seed=3)


@pytest.mark.parametrize("seed", range(3))
def test_random_frames_match_the_model(seed):
    rng = random.Random(seed)
    expected = {address: 0 for address in REGISTERS}

    async def session(ctx, bridge, monitor):
        for _ in range(6):
            count = rng.randint(1, 5)
            address = rng.choice(list(REGISTERS)[:-5])
            if rng.random() < 0.5:
                words = [rng.getrandbits(32) for _ in range(count)]
                assert await exchange(ctx, bridge, monitor, write_frame(address, words), 1,
                                      gap=rng.randint(0, 2)) == b"\x00"
                expected.update({address + 4 * i: w for i, w in enumerate(words)})
            else:
                answer = await exchange(ctx, bridge, monitor, read_frame(address, count), 5 * count)
                assert parse_read_answer(answer, count) == \
                    [(0, expected[address + 4 * i]) for i in range(count)]

    model = simulate(session, seed=seed)
    assert model.values == expected


def test_noise_and_incomplete_frames_are_dropped():
    timeout = 30 * DIVISOR

    async def session(ctx, bridge, monitor):
        # Bytes that start no frame are ignored; a frame cut short is dropped after the
        # timeout; a byte with a low stop bit is dropped. The next frame works.
        await send_bytes(ctx, bridge.rx, b"\x00\xff?")
        await send_bytes(ctx, bridge.rx, write_frame(0x40, [5])[:5])
        await ctx.tick().repeat(timeout + 10)
        await send_bytes(ctx, bridge.rx, b"W", stop=0)
        await ctx.tick().repeat(4 * DIVISOR)
        assert await exchange(ctx, bridge, monitor, write_frame(0x44, [7]), 1) == b"\x00"
        assert not ctx.get(bridge.overflow)

    model = simulate(session, timeout=timeout)
    assert model.log == [("write", 0x44, 7)]


def test_receive_buffer_absorbs_writes_sent_during_a_read_answer():
    async def session(ctx, bridge, monitor):
        # A read, then at once a write: the write's bytes arrive while the read is answered.
        await send_bytes(ctx, bridge.rx, read_frame(0x40, 2) + write_frame(0x48, [9]))
        answer = await monitor.take(ctx, 11)
        assert parse_read_answer(answer[:10], 2) == [(0, 0), (0, 0)]
        assert answer[10:] == b"\x00"
        assert not ctx.get(bridge.overflow)

    model = simulate(session)
    assert ("write", 0x48, 9) in model.log
    assert len(read_frame(0, 2) + write_frame(0, [0])) <= RX_FIFO_DEPTH


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="UART divisor must be at least 4, not 3"):
        UartBridge(3)
    with pytest.raises(ValueError, match=r"Bridge timeout must be at least two byte times "
                                         r"\(80 cycles\), not 10"):
        UartBridge(4, timeout=10)

"""A UART and a UART-to-AXI4-Lite bridge: the host path of the FPGA board (:mod:`hdl.board`).

The bridge turns byte frames from a PC's serial port into AXI4-Lite transactions on the chip's
register port (:mod:`isa.host`), so a board needs nothing but a USB-serial adapter.

Protocol (all multi-byte fields little-endian; the host side is :mod:`sim.board_host`)::

    WRITE  'W' addr[15:0] n  data0[31:0] .. data_n[31:0]   ->  resp
    READ   'R' addr[15:0] n                                ->  (resp data[31:0]) x (n + 1)

``n + 1`` words go to (come from) consecutive registers ``addr, addr + 4, ...``. ``resp`` is the
AXI response (0: OKAY, 2: SLVERR); a WRITE answers once, with the OR of its words' responses.
Bytes that start no frame are ignored, and a frame left incomplete for :attr:`UartBridge.timeout`
clock cycles is dropped, so a host resynchronises by staying silent for that long.

Flow control: the bridge buffers :data:`RX_FIFO_DEPTH` received bytes. It always consumes
WRITE frames faster than a UART delivers them, and its one-byte answer takes less time than the
next frame, so a host may send WRITE frames back to back. A READ's answer is longer than its
frame: a host sends at most :data:`RX_FIFO_DEPTH` bytes before it has received the answer.
"""

from amaranth import *
from amaranth.lib import fifo, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from isa.host import BridgeCommand
from .interfaces import AxiLiteSignature
from .parameters import check_integer

__all__ = ["RX_FIFO_DEPTH", "UartRx", "UartTx", "UartBridge"]


#: Received bytes the bridge buffers while it is busy.
RX_FIFO_DEPTH = 16


class UartRx(wiring.Component):
    """8N1 receiver.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4).

    Members
    -------
    rx : In(1)
        The line (idle high); synchronised inside.
    data : Out(8)
    valid : Out(1)
        ``data`` holds a received byte in this cycle (a one-cycle pulse).
    framing_error : Out(1)
        Pulses when a byte's stop bit is low (the byte is dropped).
    """

    def __init__(self, divisor):
        self.divisor = check_integer("UART divisor", divisor, 4)
        super().__init__({
            "rx":            In(1, init=1),
            "data":          Out(8),
            "valid":         Out(1),
            "framing_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        timer = Signal(range(self.divisor * 3 // 2 + 1))
        bits = Signal(range(10))
        shift = Signal(8)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    # First sample in the middle of bit 0: 1.5 bit times after the start edge.
                    m.d.sync += [timer.eq(self.divisor * 3 // 2 - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), bits.eq(bits + 1),
                                 shift.eq(Cat(shift[1:], line))]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(line):
                        m.d.comb += self.valid.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.comb += self.framing_error.eq(1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"
        m.d.comb += self.data.eq(shift)
        return m


class UartTx(wiring.Component):
    """8N1 transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit.

    Members
    -------
    data : In(8)
    valid : In(1)
    ready : Out(1)
        A byte is taken in a cycle with ``valid`` and ``ready``.
    tx : Out(1)
        The line (idle high).
    """

    def __init__(self, divisor):
        self.divisor = check_integer("UART divisor", divisor, 1)
        super().__init__({
            "data":  In(8),
            "valid": In(1),
            "ready": Out(1),
            "tx":    Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shift = Signal(10, init=0x3FF)   # stop bit, data, start bit; sent LSB first
        left = Signal(range(11))
        m.d.comb += [self.ready.eq(left == 0), self.tx.eq(shift[0])]
        with m.If(left == 0):
            with m.If(self.valid):
                m.d.sync += [shift.eq(Cat(0, self.data, 1)), left.eq(10),
                             timer.eq(self.divisor - 1)]
        with m.Elif(timer == 0):
            m.d.sync += [shift.eq(Cat(shift[1:], 1)), left.eq(left - 1),
                         timer.eq(self.divisor - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m


class UartBridge(wiring.Component):
    """UART to AXI4-Lite manager (protocol: module docstring).

    Parameters
    ----------
    divisor : int
        Clock cycles per UART bit (clock frequency / baud rate).
    timeout : int or None
        Clock cycles after which an incomplete frame is dropped; default 16 byte times.

    Members
    -------
    rx : In(1)
    tx : Out(1)
    axi : In(AxiLiteSignature)
        The manager side of the register port.
    busy : Out(1)
        A frame is being processed (for an activity LED).
    overflow : Out(1)
        Sticky: a received byte was lost because the receive buffer was full.
    """

    def __init__(self, divisor, *, timeout=None):
        self.divisor = check_integer("UART divisor", divisor, 4)
        self.timeout = timeout if timeout is not None else 16 * 10 * divisor
        check_integer("Bridge timeout", self.timeout, 1)
        if self.timeout < 20 * divisor:
            raise ValueError(f"Bridge timeout must be at least two byte times "
                             f"({20 * divisor} cycles), not {self.timeout}")
        super().__init__({
            "rx":       In(1, init=1),
            "tx":       Out(1, init=1),
            "axi":      In(AxiLiteSignature()),
            "busy":     Out(1),
            "overflow": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        m.submodules.rx = rx = UartRx(self.divisor)
        m.submodules.tx = tx = UartTx(self.divisor)
        m.submodules.buffer = buffer = fifo.SyncFIFOBuffered(width=8, depth=RX_FIFO_DEPTH)
        m.d.comb += [
            rx.rx.eq(self.rx),
            self.tx.eq(tx.tx),
            buffer.w_data.eq(rx.data),
            buffer.w_en.eq(rx.valid),
        ]
        with m.If(rx.valid & ~buffer.w_rdy):
            m.d.sync += self.overflow.eq(1)

        command = Signal(8)
        address = Signal(16)
        count = Signal(8)             # words left after the current one
        word = Signal(32)
        byte = Signal(2)              # byte index within the word
        response = Signal(2)
        aw_done = Signal()
        w_done = Signal()
        idle = Signal(range(self.timeout + 1))

        def next_byte(then):
            """Take the next received byte (or give up on the frame after the timeout);
            ``then(data)`` adds the statements for the byte."""
            m.d.sync += idle.eq(idle + 1)
            with m.If(buffer.r_rdy):
                m.d.comb += buffer.r_en.eq(1)
                m.d.sync += idle.eq(0)
                then(buffer.r_data)
            with m.Elif(idle == self.timeout):
                m.next = "IDLE"

        m.d.comb += [
            axi.awaddr.eq(address),
            axi.araddr.eq(address),
            axi.wdata.eq(word),
            axi.wstrb.eq(0b1111),
        ]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += buffer.r_en.eq(1)
                m.d.sync += [idle.eq(0), response.eq(0)]
                with m.If(buffer.r_rdy & ((buffer.r_data == BridgeCommand.WRITE) |
                                          (buffer.r_data == BridgeCommand.READ))):
                    m.d.sync += command.eq(buffer.r_data)
                    m.next = "ADDRESS_LOW"
            with m.State("ADDRESS_LOW"):
                m.d.comb += self.busy.eq(1)

                def low(data):
                    m.d.sync += address[:8].eq(data)
                    m.next = "ADDRESS_HIGH"
                next_byte(low)
            with m.State("ADDRESS_HIGH"):
                m.d.comb += self.busy.eq(1)

                def high(data):
                    m.d.sync += address[8:].eq(data)
                    m.next = "COUNT"
                next_byte(high)
            with m.State("COUNT"):
                m.d.comb += self.busy.eq(1)

                def counted(data):
                    m.d.sync += [count.eq(data), byte.eq(0)]
                    with m.If(command == BridgeCommand.WRITE):
                        m.next = "WRITE_DATA"
                    with m.Else():
                        m.next = "READ_ADDRESS"
                next_byte(counted)

            # --- WRITE: collect a word, write it, repeat; answer once. ---
            with m.State("WRITE_DATA"):
                m.d.comb += self.busy.eq(1)

                def collect(data):
                    m.d.sync += [word.eq(Cat(word[8:], data)), byte.eq(byte + 1)]
                    with m.If(byte == 3):
                        m.d.sync += [aw_done.eq(0), w_done.eq(0)]
                        m.next = "WRITE"
                next_byte(collect)
            with m.State("WRITE"):
                m.d.comb += [self.busy.eq(1), axi.awvalid.eq(~aw_done), axi.wvalid.eq(~w_done)]
                with m.If(axi.awready):
                    m.d.sync += aw_done.eq(1)
                with m.If(axi.wready):
                    m.d.sync += w_done.eq(1)
                with m.If((aw_done | axi.awready) & (w_done | axi.wready)):
                    m.next = "WRITE_RESPONSE"
            with m.State("WRITE_RESPONSE"):
                m.d.comb += [self.busy.eq(1), axi.bready.eq(1)]
                with m.If(axi.bvalid):
                    m.d.sync += [response.eq(response | axi.bresp), idle.eq(0)]
                    with m.If(count == 0):
                        m.next = "ANSWER_WRITE"
                    with m.Else():
                        m.d.sync += [count.eq(count - 1), address.eq(address + 4)]
                        m.next = "WRITE_DATA"
            with m.State("ANSWER_WRITE"):
                m.d.comb += [self.busy.eq(1), tx.data.eq(response), tx.valid.eq(1)]
                with m.If(tx.ready):
                    m.next = "IDLE"

            # --- READ: read a word, answer it, repeat. ---
            with m.State("READ_ADDRESS"):
                m.d.comb += [self.busy.eq(1), axi.arvalid.eq(1)]
                with m.If(axi.arready):
                    m.next = "READ_DATA"
            with m.State("READ_DATA"):
                m.d.comb += [self.busy.eq(1), axi.rready.eq(1)]
                with m.If(axi.rvalid):
                    m.d.sync += [word.eq(axi.rdata), response.eq(axi.rresp)]
                    m.next = "ANSWER_RESPONSE"
            with m.State("ANSWER_RESPONSE"):
                m.d.comb += [self.busy.eq(1), tx.data.eq(response), tx.valid.eq(1)]
                with m.If(tx.ready):
                    m.d.sync += byte.eq(0)
                    m.next = "ANSWER_DATA"
            with m.State("ANSWER_DATA"):
                m.d.comb += [self.busy.eq(1), tx.data.eq(word[:8]), tx.valid.eq(1)]
                with m.If(tx.ready):
                    m.d.sync += [word.eq(word >> 8), byte.eq(byte + 1)]
                    with m.If(byte == 3):
                        with m.If(count == 0):
                            m.next = "IDLE"
                        with m.Else():
                            m.d.sync += [count.eq(count - 1), address.eq(address + 4)]
                            m.next = "READ_ADDRESS"
        return m

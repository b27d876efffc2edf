"""Drive the chip on an FPGA board from a PC, over the UART-to-AXI4-Lite bridge
(:mod:`hdl.uart`, :mod:`hdl.board`): load a compiled program, run it, read the results back.
The board demo (:mod:`commands.board`) runs a program on a board and on the golden simulator;
a serial port needs ``pyserial`` (the ``fpga`` extra).

Layers, each usable on its own: :func:`write_frame` / :func:`read_frame` (the byte protocol),
:class:`BridgeClient` (register reads and writes over any byte transport), :class:`BoardHost`
(the chip's register map: identity check, transfers, run control; the same ``load_program`` /
``load_sram`` / ``read_sram`` methods as the golden simulator, so
:meth:`compiler.program.Program.load_into` works on it).
"""

import struct
import time

import numpy as np

from isa.geometry import HostSpace, floorplan
from isa.host import (CHIP_ID, MAX_BURST, XFER_DATA_BASE, AxiResponse, BridgeCommand, Control,
                      EccReport, ErrorFlag, Reg, RunOutcome, Status, XferCommand, xfer_words)

__all__ = ["BridgeError", "write_frame", "read_frame", "parse_read_answer", "BridgeClient",
           "BoardHost", "SerialTransport"]


class BridgeError(RuntimeError):
    """The bridge answered with an error response, or did not answer in time."""


def write_frame(address, words):
    """The bytes of a WRITE of ``words`` (32-bit ints) to ``address, address + 4, ...``."""
    if not 1 <= len(words) <= MAX_BURST:
        raise ValueError(f"A bridge write carries 1 to {MAX_BURST} words, not {len(words)}")
    return (struct.pack("<BHB", BridgeCommand.WRITE, address, len(words) - 1) +
            struct.pack(f"<{len(words)}I", *(int(w) & 0xFFFF_FFFF for w in words)))


def read_frame(address, count):
    """The bytes of a READ of ``count`` words from ``address, address + 4, ...``."""
    if not 1 <= count <= MAX_BURST:
        raise ValueError(f"A bridge read carries 1 to {MAX_BURST} words, not {count}")
    return struct.pack("<BHB", BridgeCommand.READ, address, count - 1)


def parse_read_answer(answer, count):
    """``[(resp, word)]`` from the ``5 * count`` answer bytes of a READ."""
    if len(answer) != 5 * count:
        raise BridgeError(f"expected {5 * count} answer bytes, got {len(answer)}")
    return [struct.unpack_from("<BI", answer, 5 * i) for i in range(count)]


class SerialTransport:
    """A serial port (pyserial) as a byte transport."""

    def __init__(self, port, baud, *, timeout=2.0):
        try:
            import serial
        except ImportError:
            raise RuntimeError("pyserial is not installed: pip install -e '.[fpga]'") from None
        try:
            self.port = serial.Serial(port, baud, timeout=timeout)
        except (serial.SerialException, ValueError) as error:
            raise BridgeError(f"cannot open serial port {port!r} at {baud} baud: "
                              f"{error}") from None

    def write(self, data):
        self.port.write(data)

    def read(self, count):
        return self.port.read(count)

    def discard_input(self):
        self.port.reset_input_buffer()

    def close(self):
        self.port.close()


class BridgeClient:
    """Register reads and writes through the bridge.

    WRITE frames are sent without waiting (the bridge keeps up with back-to-back writes, see
    :mod:`hdl.uart`); their one-byte answers are collected before the next read, or by
    :meth:`flush`.

    Parameters
    ----------
    transport : object
        ``write(bytes)`` and ``read(n) -> bytes`` (returning fewer bytes on a timeout).
    """

    def __init__(self, transport):
        self.transport = transport
        self.unanswered = 0

    def write(self, address, words):
        for start in range(0, len(words), MAX_BURST):
            self.transport.write(write_frame(address + 4 * start, words[start:start + MAX_BURST]))
            self.unanswered += 1

    def flush(self):
        """Collect the answers of the writes sent so far; raise on any error response."""
        if not self.unanswered:
            return
        answers = self.transport.read(self.unanswered)
        count, self.unanswered = self.unanswered, 0
        if len(answers) != count:
            raise BridgeError(f"{count} write answers expected, {len(answers)} received: is the "
                              f"board configured, and the baud rate right?")
        if any(answers):
            raise BridgeError(f"a register write was refused (responses {list(answers)})")

    def read(self, address, count=1):
        """``count`` words from consecutive registers."""
        self.flush()
        words = []
        for start in range(0, count, MAX_BURST):
            n = min(MAX_BURST, count - start)
            self.transport.write(read_frame(address + 4 * start, n))
            for resp, word in parse_read_answer(self.transport.read(5 * n), n):
                if resp != AxiResponse.OKAY:
                    raise BridgeError(f"register read at {address + 4 * start:#x} refused "
                                      f"(response {resp})")
                words.append(word)
        return words


class BoardHost:
    """The chip's host interface (register map :mod:`isa.host`) through a :class:`BridgeClient`.

    Parameters
    ----------
    client : BridgeClient
    config : ChipConfig
        The configuration the board's bitstream was built for; :meth:`check_identity` compares
        it with the chip's configuration registers.
    """

    def __init__(self, client, config):
        self.client = client
        self.config = config
        self.plan = floorplan(config)
        self.words = xfer_words(config)

    def check_identity(self):
        """Raise if the chip is not an LPU of :attr:`config`'s geometry."""
        ident = self.client.read(Reg.ID)[0]
        if ident != CHIP_ID:
            raise BridgeError(f"ID register reads {ident:#010x}, not {CHIP_ID:#010x}: no LPU "
                              f"bitstream on the board, or the wrong serial port")
        expected = {Reg.LANES: self.config.lanes, Reg.STREAMS: self.config.streams,
                    Reg.MEM_SLICES: self.config.mem_slices, Reg.WORDS: self.config.words,
                    Reg.QUEUES: len(self.plan.queues), Reg.QUEUE_DEPTH: self.config.queue_depth,
                    Reg.VXM_ALUS: self.config.vxm_alus, Reg.MXMS: self.config.mxms}
        found = dict(zip(expected, self.client.read(Reg.LANES, len(expected))))
        wrong = {reg.name: (found[reg], value) for reg, value in expected.items()
                 if found[reg] != value}
        if wrong:
            raise BridgeError(f"the board's chip has another geometry than {self.config.name!r} "
                              f"(register: (board, expected)): {wrong}")

    # ---- Transfers through the XFER_* registers, one word at a time. ----

    def _transfer(self, space, index, address, command):
        self.client.write(Reg.XFER_SPACE, [int(space), index, address, int(command)])

    def write_words(self, space, index, address, words):
        width = 32 * self.words
        for offset, word in enumerate(words):
            word = int(word)
            if word >> width:
                raise ValueError(f"transfer word {word:#x} wider than {width} bits")
            self.client.write(XFER_DATA_BASE,
                              [(word >> (32 * i)) & 0xFFFF_FFFF for i in range(self.words)])
            self._transfer(space, index, address + offset, XferCommand.WRITE)
        self.client.flush()

    def read_words(self, space, index, address, count):
        words = []
        for offset in range(count):
            self._transfer(space, index, address + offset, XferCommand.READ)
            parts = self.client.read(XFER_DATA_BASE, self.words)
            words.append(sum(part << (32 * i) for i, part in enumerate(parts)))
        return words

    def load_program(self, queue, words):
        self.write_words(HostSpace.IMEM, queue, 0, words)

    def load_sram(self, index, address, words):
        rows = np.asarray(words, dtype=np.uint8)
        self.write_words(HostSpace.SRAM, index, address,
                         [int.from_bytes(row.tobytes(), "little") for row in rows])

    def read_sram(self, index, address, count):
        lanes = self.config.lanes
        words = self.read_words(HostSpace.SRAM, index, address, count)
        return np.array([np.frombuffer(w.to_bytes(lanes, "little"), dtype=np.uint8)
                         for w in words]).reshape(count, lanes)

    # ---- Run control. ----

    def run(self, *, timeout=10.0):
        """START the loaded program, wait for DONE and read the cycle counter and errors; returns
        a :class:`~isa.host.RunOutcome` without outputs."""
        self.client.write(Reg.CONTROL, [Control.START])
        begin = time.monotonic()
        while True:
            status = Status(self.client.read(Reg.STATUS)[0])
            if Status.DONE in status and Status.RUNNING not in status:
                break
            if time.monotonic() - begin > timeout:
                raise BridgeError(f"no DONE within {timeout} s (status {status!r})")
        seconds = time.monotonic() - begin
        low, high, errors, queue, cycle = self.client.read(Reg.CYCLES_LO, 5)
        return RunOutcome(low | high << 32, ErrorFlag(errors), queue, cycle, wall_seconds=seconds)

    def execute(self, program, *, timeout=10.0):
        """Load ``program`` (a :class:`~compiler.program.Program`), run it and read its output
        regions back: its :class:`~isa.host.RunOutcome`."""
        program.load_into(self)
        outcome = self.run(timeout=timeout)
        outcome.outputs = program.read_outputs(self)
        outcome.ecc = EccReport(*self.client.read(Reg.ECC_CORRECTED, 5))
        return outcome

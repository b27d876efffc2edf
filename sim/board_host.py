"""Drive the chip on an FPGA board from a PC, over the UART-to-AXI4-Lite bridge
(:mod:`hdl.uart`, :mod:`hdl.board`): load a compiled program, run it, read the results back and
compare them with the golden simulator.

    python -m sim.board_host --port /dev/ttyUSB0 --preset fpga            # the demo
    python -m sim.board_host --port /dev/ttyUSB0 --preset fpga --seed 7   # another graph

The demo compiles a random elementwise graph (:func:`verification.programs.graph_case`), runs it
on the board and on :class:`golden.archsim.ArchSim`, and reports whether the outputs agree bit
for bit and whether the board's cycle counter equals the compiler's prediction. It needs
``pyserial`` (the ``fpga`` extra).

Layers, each usable on its own: :func:`write_frame` / :func:`read_frame` (the byte protocol),
:class:`BridgeClient` (register reads and writes over any byte transport), :class:`BoardHost`
(the chip's register map: identity check, transfers, run control; the same ``load_program`` /
``load_sram`` / ``read_sram`` methods as the golden simulator, so
:meth:`compiler.program.Program.load_into` works on it).
"""

import argparse
import struct
import sys
import time
from dataclasses import dataclass

from isa.geometry import HostSpace, floorplan
from isa.host import (CHIP_ID, MAX_BURST, XFER_DATA_BASE, AxiResponse, BridgeCommand, Control,
                      ErrorFlag, Reg, Status, XferCommand, xfer_words)

__all__ = ["BridgeError", "write_frame", "read_frame", "parse_read_answer", "BridgeClient",
           "BoardHost", "RunResult", "SerialTransport", "main"]

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
        self.port = serial.Serial(port, baud, timeout=timeout)

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


@dataclass
class RunResult:
    cycles: int
    errors: ErrorFlag
    error_queue: int
    error_cycle: int
    seconds: float


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
        import numpy as np
        rows = np.asarray(words, dtype=np.uint8)
        self.write_words(HostSpace.SRAM, index, address,
                         [int.from_bytes(row.tobytes(), "little") for row in rows])

    def read_sram(self, index, address, count):
        import numpy as np
        lanes = self.config.lanes
        words = self.read_words(HostSpace.SRAM, index, address, count)
        return np.array([np.frombuffer(w.to_bytes(lanes, "little"), dtype=np.uint8)
                         for w in words]).reshape(count, lanes)

    def load(self, program):
        """Load ``program``'s queues (HALT into every queue it leaves empty) and SRAM images."""
        from isa.opcodes import ControlOp
        for number in range(len(self.plan.queues)):
            self.load_program(number, program.queues.get(number) or [ControlOp.HALT.value])
        for index, address, words in program.sram:
            self.load_sram(index, address, words)

    # ---- Run control. ----

    def run(self, *, timeout=10.0):
        """START the loaded program, wait for DONE and read the cycle counter and errors."""
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
        return RunResult(low | high << 32, ErrorFlag(errors), queue, cycle, seconds)


def run_demo(host, config, seed, *, log=print):
    """Compile the demo graph, run it on ``host`` and on the golden simulator; returns True
    when outputs and cycle counts agree."""
    import numpy as np
    from golden.archsim import ArchSim
    from verification.programs import graph_case
    case = graph_case(config, seed)
    program = case.program
    log(f"demo: graph {case.name}, {len(program.queues)} queues, "
        f"predicted {program.predicted_cycles} cycles")
    golden = ArchSim(config)
    program.load_into(golden)
    golden_cycles = golden.run().cycles
    expected = program.read_outputs(golden)

    begin = time.monotonic()
    host.load(program)
    log(f"loaded in {time.monotonic() - begin:.1f} s")
    result = host.run()
    outputs = program.read_outputs(host)
    same = all(np.array_equal(outputs[name], expected[name]) for name in expected)
    cycles_ok = result.cycles == program.predicted_cycles
    log(f"board: {result.cycles} cycles, errors {result.errors!r}; golden simulator: "
        f"{golden_cycles} cycles")
    log(f"bit-exact: {'yes' if same else 'NO'}; predicted vs measured cycles: "
        f"{program.predicted_cycles} vs {result.cycles} ({'exact' if cycles_ok else 'DIFFERENT'})")
    return same and cycles_ok and not result.errors


def main(argv=None):
    from .export import add_config_arguments, config_from_arguments
    parser = argparse.ArgumentParser(prog="python -m sim.board_host",
                                     description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.add_argument("--port", required=True, help="serial port (e.g. /dev/ttyUSB0, COM3)")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--seed", type=int, default=1, help="demo graph seed")
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)
    transport = SerialTransport(args.port, args.baud)
    try:
        time.sleep(0.05)               # silence: the bridge drops any partial frame
        transport.discard_input()
        host = BoardHost(BridgeClient(transport), config)
        host.check_identity()
        ok = run_demo(host, config, args.seed)
    except BridgeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        transport.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

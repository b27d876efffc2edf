"""The board host (sim/board_host.py) and its demo (commands/board.py) against an emulated
board: a byte-level model of the UART bridge in front of a model of the chip's register map
(isa/host.py) that executes programs on the golden simulator.

The bridge's own byte handling is tested on its RTL in tests/test_uart.py; this test checks the
host side: frame chunking, write-answer collection, the XFER_* transfer sequence, run control
and the demo's comparison.
"""

import struct

import numpy as np
import pytest

from commands.board import run_demo
from golden.archsim import ArchSim
from isa.config import preset
from isa.geometry import HostSpace, floorplan
from isa.host import (CHIP_ID, BridgeCommand, Control, Reg, Status, XFER_DATA_BASE, XferCommand,
                      xfer_bits, xfer_words)
from sim.board_host import BoardHost, BridgeClient, BridgeError

CONFIG = preset("tiny")


class EmulatedBoard:
    """Bytes in, bytes out, like the serial port of a board running the LPU bitstream."""

    def __init__(self, config, *, refuse=()):
        self.config = config
        self.plan = floorplan(config)
        self.chip = ArchSim(config)
        self.queues = {}
        self.registers = {Reg.ID: CHIP_ID, Reg.LANES: config.lanes, Reg.STREAMS: config.streams,
                          Reg.MEM_SLICES: config.mem_slices, Reg.WORDS: config.words,
                          Reg.QUEUES: len(self.plan.queues),
                          Reg.QUEUE_DEPTH: config.queue_depth, Reg.VXM_ALUS: config.vxm_alus,
                          Reg.MXMS: config.mxms, Reg.STATUS: 0, Reg.XFER_CMD: 0}
        self.data = [0] * xfer_words(config)
        self.refuse = set(refuse)
        self.pending = bytearray()
        self.answers = bytearray()
        self.frames = 0

    def write(self, data):
        self.pending += data
        while self.pending:
            command, address, n = struct.unpack_from("<BHB", self.pending)
            words = n + 1
            if command == BridgeCommand.WRITE:
                if len(self.pending) < 4 + 4 * words:
                    return
                values = struct.unpack_from(f"<{words}I", self.pending, 4)
                del self.pending[:4 + 4 * words]
                response = 0
                for i, value in enumerate(values):
                    response |= self._write(address + 4 * i, value)
                self.answers.append(response)
            else:
                assert command == BridgeCommand.READ
                del self.pending[:4]
                for i in range(words):
                    response, value = self._read(address + 4 * i)
                    self.answers += struct.pack("<BI", response, value)
            self.frames += 1

    def read(self, count):
        answer = bytes(self.answers[:count])
        del self.answers[:count]
        return answer

    def _write(self, address, value):
        if address in self.refuse:
            return 2
        if XFER_DATA_BASE <= address < XFER_DATA_BASE + 4 * len(self.data):
            self.data[(address - XFER_DATA_BASE) // 4] = value
        elif address == Reg.CONTROL and value & Control.START:
            for number in range(len(self.plan.queues)):
                self.chip.load_program(number, self.queues.get(number, []))
            cycles = self.chip.run().cycles
            self.registers.update({Reg.STATUS: Status.DONE, Reg.CYCLES_LO: cycles,
                                   Reg.CYCLES_HI: 0, Reg.ERRORS: 0, Reg.ERROR_QUEUE: 0,
                                   Reg.ERROR_CYCLE: 0})
        elif address == Reg.XFER_CMD:
            self._transfer(value)
        elif address in (Reg.XFER_SPACE, Reg.XFER_INDEX, Reg.XFER_ADDR):
            self.registers[address] = value
        else:
            return 2
        return 0

    def _transfer(self, command):
        space, index, addr = (self.registers[r] for r in
                              (Reg.XFER_SPACE, Reg.XFER_INDEX, Reg.XFER_ADDR))
        word = sum(part << (32 * i) for i, part in enumerate(self.data))
        lanes = self.config.lanes
        if space == HostSpace.SRAM and command == XferCommand.WRITE:
            row = np.frombuffer(word.to_bytes(lanes, "little"), dtype=np.uint8)
            self.chip.load_sram(index, addr, row[None, :])
        elif space == HostSpace.SRAM:
            word = int.from_bytes(self.chip.read_sram(index, addr, 1)[0].tobytes(), "little")
            self.data = [(word >> (32 * i)) & 0xFFFF_FFFF for i in range(len(self.data))]
        elif command == XferCommand.WRITE:
            program = self.queues.setdefault(index, [])
            program[addr:addr + 1] = [word & ((1 << 64) - 1)]
        assert xfer_bits(self.config) >= 64

    def _read(self, address):
        if XFER_DATA_BASE <= address < XFER_DATA_BASE + 4 * len(self.data):
            return 0, self.data[(address - XFER_DATA_BASE) // 4]
        if address in self.registers:
            return 0, int(self.registers[address])
        ecc = {Reg.ECC_CORRECTED: "corrected", Reg.ECC_UNCORRECTABLE: "uncorrectable",
               Reg.ECC_SLICE: "slice", Reg.ECC_ADDRESS: "address", Reg.ECC_CYCLE: "cycle"}
        if address in ecc:
            return 0, getattr(self.chip.chip.ecc, ecc[address])
        return 2, 0


# `fpga` is the geometry the board's bitstream carries (8 lanes).
@pytest.mark.parametrize("name", ["tiny", "fpga"])
def test_demo_runs_bit_exact_on_the_emulated_board(name):
    config = preset(name)
    board = EmulatedBoard(config)
    host = BoardHost(BridgeClient(board), config)
    host.check_identity()
    lines = []
    assert run_demo(host, config, seed=2, log=lines.append)
    assert "bit-exact: yes" in lines[-1]
    assert not board.pending and not board.answers


def test_identity_mismatch_is_reported():
    board = EmulatedBoard(preset("default"))
    host = BoardHost(BridgeClient(board), CONFIG)
    with pytest.raises(BridgeError, match="another geometry than 'tiny'.*LANES"):
        host.check_identity()


def test_refused_write_is_reported():
    board = EmulatedBoard(CONFIG, refuse={Reg.XFER_CMD})
    host = BoardHost(BridgeClient(board), CONFIG)
    with pytest.raises(BridgeError, match="register write was refused"):
        host.load_program(0, [1, 2])


def test_long_transfers_are_split_into_bursts():
    board = EmulatedBoard(CONFIG)
    client = BridgeClient(board)
    client.write(XFER_DATA_BASE, list(range(3)))
    client.flush()
    assert client.read(XFER_DATA_BASE, 3) == [0, 1, 2]
    with pytest.raises(BridgeError, match="refused"):
        client.read(0x300, 300)          # two frames (256 + 44 words), unmapped

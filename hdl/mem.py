"""MEM slice: an SRAM of vector-wide words with one read and one write per cycle.

Two queues drive a slice, one per SRAM port: ``READ addr -> stream`` on the read queue and
``WRITE stream -> addr`` on the write queue. Timing: :data:`isa.timing.MEM_READ_LATENCY`,
:data:`isa.timing.MEM_WRITE_TO_READ`.

Every word is stored with its SECDED check bits (:mod:`isa.ecc`: ``lanes / 8`` Hsiao (72,64)
code words, the check bytes above the data in the SRAM word). Writes, the program's and the
host's, are registered with their address and encoded and written in the next cycle, through a
transparent SRAM, which keeps the contract of a write at the end of its issue cycle; the word
read is decoded and corrected on its way to the stream and to the host port, in the cycle it
leaves the SRAM (:data:`isa.timing.ECC_READ_LATENCY`). The slice reports what the decoder
found; the chip counts it.
"""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from isa.ecc import DATA_BITS, stored_bits
from isa.formats import FORMATS
from isa.host import ErrorFlag
from isa.opcodes import Direction, MemReadOp, MemWriteOp
from .ecc import VectorSecdedDecoder, VectorSecdedEncoder
from .interfaces import (ERROR_BITS, OFFSET_BITS, HostMemorySignature, IssueSignature,
                         StreamTapSignature)
from .parameters import check_config, check_flag
from .sram import Sram
from .streams import aligned_stream

__all__ = ["MemorySlice"]


def decode_access(m, config, issue, opcode, error):
    """Decode a READ or WRITE issue; returns ``(fields, address, go)``.

    ``go`` is set when the instruction is legal and takes effect; otherwise ``error`` is driven
    with the flag :func:`isa.legality.check` prescribes.
    """
    fields = data.View(FORMATS["mem"].layout, issue.word)
    address = Signal(signed(OFFSET_BITS + 2))
    go = Signal()
    m.d.comb += address.eq(fields.addr + issue.offset)
    with m.If(issue.valid):
        with m.If(fields.op != opcode.value):
            m.d.comb += error.eq(ErrorFlag.ILLEGAL_OPCODE)
        with m.Elif(fields.stream >= config.streams):
            m.d.comb += error.eq(ErrorFlag.BAD_OPERAND)
        with m.Elif((address < 0) | (address >= config.words)):
            m.d.comb += error.eq(ErrorFlag.ADDRESS_RANGE)
        with m.Else():
            m.d.comb += go.eq(1)
    return fields, address, go


class MemorySlice(wiring.Component):
    """One MEM slice.

    Parameters
    ----------
    config : ChipConfig
    blackbox : bool
        Build the SRAM from the ``lpu_sram`` Verilog module (see :mod:`hdl.sram`).

    Members
    -------
    read, write : In(IssueSignature)
        Instructions from the slice's read and write queues.
    read_error, write_error : Out(ERROR_BITS)
        Error flags raised by this cycle's read / write instruction.
    tap : Out(StreamTapSignature)
        The stream registers at the slice's position.
    clear : In(1)
        Program start: drop any read in flight.
    running : In(1)
        A program runs; the host port is ignored.
    host : Out(HostMemorySignature)
        Load/unload port of the SRAM (data only: the check bits are the slice's own).
    leaving : Out(1)
        A program's READ word leaves the slice this cycle (issued last cycle).
    address : Out(ceil_log2(words))
        The address of the word the SRAM returns this cycle (read last cycle, by a READ or
        the host).
    corrected, uncorrectable : Out(1)
        The word the SRAM returns this cycle had a single error in some code word, now
        corrected, and none uncorrectable / had an uncorrectable code word.
    """

    def __init__(self, config, *, blackbox):
        self.config = check_config("MemorySlice", config)
        self.blackbox = check_flag("MemorySlice blackbox", blackbox)
        super().__init__({
            "read":        In(IssueSignature()),
            "write":       In(IssueSignature()),
            "read_error":  Out(ERROR_BITS),
            "write_error": Out(ERROR_BITS),
            "tap":         Out(StreamTapSignature(config)),
            "clear":       In(1),
            "running":     In(1),
            "host":        Out(HostMemorySignature(ceil_log2(config.words), config.vector_bits)),
            "leaving":       Out(1),
            "address":       Out(ceil_log2(config.words)),
            "corrected":     Out(1),
            "uncorrectable": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        code_words = config.vector_bits // DATA_BITS
        # Transparent: the word a write puts in the SRAM reaches a read of its address in the
        # same cycle (see the write port below).
        m.submodules.sram = sram = Sram(stored_bits(config.vector_bits), config.words,
                                        blackbox=self.blackbox, transparent=True)
        m.submodules.encoder = encoder = VectorSecdedEncoder(code_words)
        m.submodules.decoder = decoder = VectorSecdedDecoder(code_words)
        # The write accepted this cycle (from the write queue, or from the host when the chip
        # is stopped), and the one accepted last cycle, which the SRAM writes now.
        we, waddr, wdata = Signal(), Signal(range(config.words)), Signal(config.vector_bits)
        w_we = Signal()
        w_addr = Signal(range(config.words), reset_less=True)
        w_data = Signal(config.vector_bits, reset_less=True)
        m.d.sync += [w_we.eq(we), w_addr.eq(waddr), w_data.eq(wdata)]
        m.d.comb += [
            encoder.data.eq(w_data),
            sram.we.eq(w_we),
            sram.waddr.eq(w_addr),
            sram.wdata.eq(Cat(w_data, encoder.check)),
            decoder.data.eq(sram.rdata[:config.vector_bits]),
            decoder.check.eq(sram.rdata[config.vector_bits:]),
            self.corrected.eq(decoder.single & ~decoder.uncorrectable),
            self.uncorrectable.eq(decoder.uncorrectable),
        ]
        rdata = decoder.corrected

        # Read port: address in the issue cycle, word on the stream one cycle later.
        rd, rd_address, rd_go = decode_access(m, config, self.read, MemReadOp.READ,
                                              self.read_error)
        out_valid = Signal()
        out_stream = Signal(5, reset_less=True)
        out_dir = Signal(Direction, reset_less=True)
        m.d.sync += [out_valid.eq(rd_go), out_stream.eq(rd.stream), out_dir.eq(rd.dir)]
        with m.If(self.clear):
            m.d.sync += out_valid.eq(0)
        m.d.comb += self.leaving.eq(out_valid)
        m.d.sync += self.address.eq(sram.raddr)

        select = Signal(config.streams)
        m.d.comb += select.eq(Mux(out_valid, 1 << out_stream, 0))
        for s in range(config.streams):
            m.d.comb += [self.tap.east_out[s].eq(rdata), self.tap.west_out[s].eq(rdata)]
        m.d.comb += [
            self.tap.east_we.eq(Mux(out_dir == Direction.EAST, select, 0)),
            self.tap.west_we.eq(Mux(out_dir == Direction.WEST, select, 0)),
        ]

        # Write port: the stream is sampled in the issue cycle t and registered with the
        # address; the SRAM encodes and writes the word in cycle t + 1, so the check bits'
        # encoder starts from a register instead of from the issue's stream selection. The
        # contract is the same as a write at the end of cycle t (isa.timing.MEM_WRITE_TO_READ):
        # a read issued in cycle t still finds the old word in the SRAM, and one issued in
        # t + 1 gets the new word through the SRAM's transparency.
        wr, wr_address, wr_go = decode_access(m, config, self.write, MemWriteOp.WRITE,
                                              self.write_error)
        passing = Signal(config.vector_bits)
        m.d.comb += passing.eq(aligned_stream(self.tap.east, self.tap.west,
                                              wr.dir == Direction.WEST, wr.stream, 0))

        with m.If(self.running):
            m.d.comb += [
                sram.raddr.eq(rd_address),
                we.eq(wr_go),
                waddr.eq(wr_address),
                wdata.eq(passing),
            ]
        with m.Else():
            m.d.comb += [
                sram.raddr.eq(self.host.addr),
                we.eq(self.host.we),
                waddr.eq(self.host.addr),
                wdata.eq(self.host.wdata),
            ]
        m.d.comb += self.host.rdata.eq(rdata)
        return m

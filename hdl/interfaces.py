"""Signatures shared between units: instruction issue, stream taps, host memory ports, the
transfer port and AXI4-Lite. Every width comes from :mod:`isa`."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.formats import WORD_BITS
from isa.host import ErrorFlag, xfer_bits
from .parameters import check_config, check_integer

__all__ = [
    "OFFSET_BITS", "ERROR_BITS", "IssueSignature", "stream_bundle", "StreamTapSignature",
    "HostMemorySignature", "XferSignature", "AxiLiteSignature", "HOST_INDEX_BITS",
    "HOST_SPACE_BITS", "LinkLinesSignature",
]

#: REPEAT accumulates its stride into a 32-bit two's-complement offset.
OFFSET_BITS = 32
#: Width of a per-queue error report (one bit per :class:`~isa.host.ErrorFlag`).
ERROR_BITS = max(ErrorFlag).bit_length()
#: Width of the host transfer's target index (SRAM slice or queue number).
HOST_INDEX_BITS = 10
#: Width of the host transfer's :class:`~isa.geometry.HostSpace` field.
HOST_SPACE_BITS = 2


class IssueSignature(wiring.Signature):
    """One issued unit instruction, from an :class:`~hdl.icu.InstructionControl` to its unit.

    Members
    -------
    valid : Out(1)
        An instruction issues this cycle.
    word : Out(64)
        The instruction word (opcode >= 8).
    offset : Out(signed(32))
        What REPEAT has added to the word's offset field so far (0 for a first issue).
    """

    def __init__(self):
        super().__init__({
            "valid":  Out(1),
            "word":   Out(WORD_BITS),
            "offset": Out(signed(OFFSET_BITS)),
        })


def stream_bundle(config, flow):
    """A signature member for all the stream registers of one direction at one position: one
    ``vector_bits`` signal per stream. (One signal for the whole bundle would exceed Amaranth's
    65535-bit limit on a single cell for the ``groq`` preset.)"""
    return flow(config.vector_bits).array(config.streams)


class StreamTapSignature(wiring.Signature):
    """A unit's view of the stream fabric at its position (unit side).

    Members
    -------
    east, west : In(vector_bits).array(streams)
        The eastward / westward stream registers at this position, this cycle.
    east_out, west_out : Out(vector_bits).array(streams)
        Values to send; stream ``s`` of ``east_out`` enters the eastward register at the next
        position east when bit ``s`` of ``east_we`` is set (likewise west).
    east_we, west_we : Out(streams)
    """

    def __init__(self, config):
        check_config("StreamTapSignature", config)
        super().__init__({
            "east":     stream_bundle(config, In),
            "west":     stream_bundle(config, In),
            "east_out": stream_bundle(config, Out),
            "east_we":  Out(config.streams),
            "west_out": stream_bundle(config, Out),
            "west_we":  Out(config.streams),
        })


class HostMemorySignature(wiring.Signature):
    """A memory's host port (memory side); used only while no program runs.

    Members
    -------
    addr : In(addr_bits)
        Word address of a write, or of a read whose data appears on ``rdata`` next cycle.
    we : In(1)
    wdata : In(width)
    rdata : Out(width)
    """

    def __init__(self, addr_bits, width):
        check_integer("Host memory address width", addr_bits, 1)
        check_integer("Host memory word width", width, 1)
        super().__init__({
            "addr":  In(addr_bits),
            "we":    In(1),
            "wdata": In(width),
            "rdata": Out(width),
        })


class LinkLinesSignature(wiring.Signature):
    """The SerDes side of one link (chip side): the parallel line words of its serial lanes.

    Members
    -------
    tx : Out(serdes_width).array(serial_lanes)
        Transmitted line words, bit 0 first.
    rx : In(serdes_width).array(serial_lanes)
        Received line words, bit 0 first, in any lane order.
    """

    def __init__(self, link):
        super().__init__({
            "tx": Out(link.serdes_width).array(link.serial_lanes),
            "rx": In(link.serdes_width).array(link.serial_lanes),
        })


class XferSignature(wiring.Signature):
    """The fast load/unload port on the chip top (chip side), one word per cycle.

    A request is taken in every cycle ``valid`` is set (a request while a program runs, or in
    the cycle it starts, is dropped and raises :attr:`~isa.host.ErrorFlag.HOST_BUSY`). A read's
    data appears on ``rdata`` with ``rvalid`` exactly :data:`~isa.timing.HOST_READ_LATENCY`
    cycles later.

    Members
    -------
    valid, write : In(1)
    space : In(2)
        A :class:`~isa.geometry.HostSpace`.
    index : In(10)
        SRAM slice number or queue number.
    addr : In(16)
    wdata : In(xfer_bits)
        An SRAM word (``lanes`` bytes, lane 0 in bits 7:0) or an instruction in bits 63:0.
    rvalid : Out(1)
    rdata : Out(xfer_bits)
    """

    def __init__(self, config):
        width = xfer_bits(check_config("XferSignature", config))
        super().__init__({
            "valid":  In(1),
            "write":  In(1),
            "space":  In(HOST_SPACE_BITS),
            "index":  In(HOST_INDEX_BITS),
            "addr":   In(16),
            "wdata":  In(width),
            "rvalid": Out(1),
            "rdata":  Out(width),
        })


class AxiLiteSignature(wiring.Signature):
    """AXI4-Lite, 32-bit data (subordinate side). Protection signals are not used."""

    def __init__(self, addr_bits=12):
        check_integer("AXI4-Lite address width", addr_bits, 2, 32)
        super().__init__({
            "awaddr":  In(addr_bits),
            "awvalid": In(1),
            "awready": Out(1),
            "wdata":   In(32),
            "wstrb":   In(4),
            "wvalid":  In(1),
            "wready":  Out(1),
            "bresp":   Out(2),
            "bvalid":  Out(1),
            "bready":  In(1),
            "araddr":  In(addr_bits),
            "arvalid": In(1),
            "arready": Out(1),
            "rdata":   Out(32),
            "rresp":   Out(2),
            "rvalid":  Out(1),
            "rready":  In(1),
        })

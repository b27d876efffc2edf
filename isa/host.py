"""The host interface: AXI4-Lite register map, error flags, and the load/unload port.

The host interface is the chip's only handshaked boundary. Registers are 32 bits wide at
word-aligned byte addresses.

The load/unload ("transfer") port moves one word of a memory space
(:class:`~isa.geometry.HostSpace`) per request: an SRAM word (``lanes`` bytes) or an instruction
(64 bits). The same transfers are reachable through the registers (``XFER_*``: slow, for a
board driven over a serial bridge) and through a wide port on the chip top (one word per cycle,
for simulation and fast hosts). Both are refused, and flagged with
:attr:`ErrorFlag.HOST_BUSY`, while a program runs and in the cycle it starts.

Register writes honour the AXI byte strobes; CONTROL acts only on bits whose byte is strobed.

A board without a wide host bus reaches the registers through a UART bridge
(:class:`~hdl.uart.UartBridge`), whose byte protocol is declared here too
(:class:`BridgeCommand`), so that the gateware and the host program share it.

What a host reads back after a run is a :class:`RunOutcome`, whichever engine ran it.
"""

import enum
from dataclasses import dataclass, field

from .formats import WORD_BITS
from .config import MAX_LINKS
from .link import LINK_COUNTERS

__all__ = ["ErrorFlag", "HOST_QUEUE", "EccReport", "ECC_COUNTER_BITS", "Reg", "Control",
           "Status", "XferCommand", "AxiResponse", "CHIP_ID", "LINK_BASE", "LINK_STRIDE",
           "LinkReg", "LinkStatus", "LINK_LOCKED_SHIFT", "link_register",
           "xfer_bits", "xfer_words", "XFER_DATA_BASE", "BridgeCommand", "MAX_BURST",
           "RunOutcome"]

#: Value of the ID register: "LPU1" in ASCII.
CHIP_ID = 0x4C505531


class ErrorFlag(enum.IntFlag):
    """Sticky error flags (the ERRORS register); cleared by START or CLEAR."""
    ILLEGAL_OPCODE = 1 << 0   #: an opcode the queue's kind does not define
    BAD_OPERAND = 1 << 1      #: a field out of range: stream, type, operand, register, count
    ADDRESS_RANGE = 1 << 2    #: an SRAM address (after REPEAT's offset) outside 0..words-1
    STREAM_CONFLICT = 1 << 3  #: two results sent to one stream register in one cycle
    HOST_BUSY = 1 << 4        #: a host transfer, START or CLEAR while a program runs (a
                              #: transfer also in the cycle it starts)
    #: an SRAM word read (by a program or the host) with an uncorrectable ECC error
    ECC_UNCORRECTABLE = 1 << 5
    #: a RECEIVE in a cycle its link delivers nothing (the frame was lost, corrupt or never
    #: sent), or a vector delivered in a cycle its port issues no RECEIVE (it is dropped)
    LINK = 1 << 6


#: ERROR_QUEUE (and :attr:`EccReport.queue`) for errors raised by host transfers.
HOST_QUEUE = 0xFFFF


class Reg(enum.IntEnum):
    """Register byte addresses."""
    ID = 0x00           #: R: :data:`CHIP_ID`
    CONTROL = 0x04      #: W: :class:`Control` bits
    STATUS = 0x08       #: R: :class:`Status` bits
    CYCLES_LO = 0x0C    #: R: cycle counter, bits 31:0 (program length once DONE)
    CYCLES_HI = 0x10    #: R: cycle counter, bits 63:32
    ERRORS = 0x14       #: R: :class:`ErrorFlag` bits
    ERROR_QUEUE = 0x18  #: R: number of the queue that raised the first error (0xFFFF: host)
    ERROR_CYCLE = 0x1C  #: R: cycle of the first error
    LANES = 0x20        #: R: configuration: lanes
    STREAMS = 0x24      #: R: configuration: streams per direction
    MEM_SLICES = 0x28   #: R: configuration: MEM slices per hemisphere
    WORDS = 0x2C        #: R: configuration: SRAM words per slice
    QUEUES = 0x30       #: R: number of instruction queues
    QUEUE_DEPTH = 0x34  #: R: instructions per queue
    VXM_ALUS = 0x38     #: R: configuration: VXM ALUs
    MXMS = 0x3C         #: R: configuration: matrix units per hemisphere
    XFER_SPACE = 0x40   #: RW: :class:`~isa.geometry.HostSpace` of the register transfer
    XFER_INDEX = 0x44   #: RW: SRAM slice or queue number
    XFER_ADDR = 0x48    #: RW: word address
    XFER_CMD = 0x4C     #: W: :class:`XferCommand`; R: 1 while a register transfer is pending
    #: R: SRAM words read with a corrected single-bit error since START or CLEAR (saturating)
    ECC_CORRECTED = 0x50
    #: R: SRAM words read with an uncorrectable error since START or CLEAR (saturating)
    ECC_UNCORRECTABLE = 0x54
    ECC_SLICE = 0x58    #: R: SRAM index (MEM slice) of the first uncorrectable word
    ECC_ADDRESS = 0x5C  #: R: its word address
    ECC_CYCLE = 0x60    #: R: the cycle it was read in (the cycle counter's value)
    #: RW: the epoch count at which a START_AT starts the program (bits 15:0)
    START_COUNT = 0x64
    #: R: the epoch counter: cycles since the last ``epoch`` pulse, modulo
    #: :data:`~isa.link.STAMP_MODULUS` (the count every link stamps its frames with)
    EPOCH_COUNT = 0x68
    LINKS = 0x6C        #: R: configuration: link ports per edge


#: XFER_DATA word ``i`` (bits 32i+31:32i of the transfer word) is at ``XFER_DATA_BASE + 4 i``.
XFER_DATA_BASE = 0x100


class Control(enum.IntFlag):
    START = 1 << 0      #: clear state and errors, start every queue at cycle 0
    CLEAR = 1 << 1      #: clear DONE and the error flags
    #: START, not now but in the cycle after the epoch counter equals START_COUNT: chips that
    #: share an epoch and are armed with one count start their programs in the same cycle
    #: (a START or a CLEAR before then disarms)
    START_AT = 1 << 2


class Status(enum.IntFlag):
    RUNNING = 1 << 0
    DONE = 1 << 1       #: the last program ran to its end
    ERROR = 1 << 2      #: some error flag is set


#: The register block of link port ``k`` (:attr:`~isa.geometry.Floorplan.link_units` order)
#: starts at ``LINK_BASE + k * LINK_STRIDE`` (:func:`link_register`).
LINK_BASE = 0x400
LINK_STRIDE = 0x40


class LinkReg(enum.IntEnum):
    """Offsets in a link port's register block (all read-only; START and CLEAR zero the
    counters and the sticky error). The counters (:data:`~isa.link.LINK_COUNTERS`, saturating
    at :data:`~isa.link.LINK_COUNTER_BITS` bits) follow in their declared order."""
    STATUS = 0x00           #: :class:`LinkStatus` bits
    ERROR_COUNT = 0x04      #: epoch count of the first link error since START or CLEAR
    FRAMES_RECEIVED = 0x08  #: good frames delivered
    CRC_ERRORS = 0x0C       #: frames found corrupt or malformed, never delivered
    LINE_ERRORS = 0x10      #: damaged idle superblocks between frames (no data lost)
    LOCK_LOSSES = 0x14      #: lanes that lost block lock
    DESKEW_FAILURES = 0x18  #: skew beyond the budget, or lanes whose markers disagree
    LATE_FRAMES = 0x1C      #: frames complete after their release cycle, dropped
    SEND_OVERRUNS = 0x20    #: SENDs closer than the link's SEND interval, dropped


assert [r.name.lower() for r in LinkReg][2:] == list(LINK_COUNTERS)
assert LINK_BASE + LINK_STRIDE * 2 * MAX_LINKS <= 1 << 12, "the link blocks fit the AXI map"


class LinkStatus(enum.IntFlag):
    SYNCED = 1 << 0         #: an epoch pulse has been seen since reset
    ALIGNED = 1 << 1        #: the received lanes are locked and deskewed
    ERROR = 1 << 2          #: sticky: a CRC error, late frame, deskew failure or overrun


#: Bit ``LINK_LOCKED_SHIFT + lane`` of a link's STATUS: block lock of that received serial lane.
LINK_LOCKED_SHIFT = 8


def link_register(port, register):
    """Byte address of ``register`` (:class:`LinkReg`) of link port number ``port``."""
    return LINK_BASE + port * LINK_STRIDE + register


class XferCommand(enum.IntEnum):
    WRITE = 1           #: write XFER_DATA to (space, index, addr)
    READ = 2            #: read (space, index, addr) into XFER_DATA


class AxiResponse(enum.IntEnum):
    """The AXI4-Lite responses the register file gives (BRESP, RRESP)."""
    OKAY = 0b00         #: the access took effect
    SLVERR = 0b10       #: an unmapped or read-only register, or an illegal access


class BridgeCommand(enum.IntEnum):
    """First byte of a UART bridge frame (protocol: :mod:`hdl.uart`)."""
    WRITE = ord("W")
    READ = ord("R")


#: Words in one bridge frame (its count field ``n`` is one byte; ``n + 1`` words).
MAX_BURST = 256


def xfer_bits(config):
    """Width of a transfer word: the wider of a vector and an instruction."""
    return max(config.vector_bits, WORD_BITS)


def xfer_words(config):
    """32-bit register words in a transfer word."""
    return (xfer_bits(config) + 31) // 32


#: Width of the ECC counters (they saturate).
ECC_COUNTER_BITS = 32


@dataclass(frozen=True)
class EccReport:
    """The ECC registers: words read with a corrected and with an uncorrectable error, and
    where the first uncorrectable one was (SRAM index, word address, cycle; 0 when none)."""
    corrected: int = 0
    uncorrectable: int = 0
    slice: int = 0
    address: int = 0
    cycle: int = 0


@dataclass
class RunOutcome:
    """What one run of a program reports, on any engine (the golden simulator, the RTL, a board):
    the registers the host reads after DONE and the output regions it unloads.

    Attributes
    ----------
    cycles : int
        The program length (the CYCLES register).
    errors : ErrorFlag
        The sticky error flags (ERRORS).
    error_queue, error_cycle : int
        Queue and cycle of the first error (ERROR_QUEUE, ERROR_CYCLE; 0 when none).
    outputs : dict
        ``{region name: [count, lanes] uint8}``, the program's output regions read back.
    trace : tuple
        The golden simulator's issue trace of a traced run: ``(cycle, queue, word, offset,
        flags)`` per issue or error (empty otherwise).
    wall_seconds : float or None
        Wall-clock time of the run phase, where the engine measures it.
    ecc : EccReport
        The ECC registers after the outputs were read back (the run's reads and the
        unloads').
    """
    cycles: int
    errors: ErrorFlag = ErrorFlag(0)
    error_queue: int = 0
    error_cycle: int = 0
    outputs: dict = field(default_factory=dict)
    trace: tuple = ()
    wall_seconds: float = None
    ecc: EccReport = EccReport()

    def issues(self, queue):
        """``[(cycle, word, offset)]``: the unit instructions queue number ``queue`` issued
        (first issues and REPEAT's re-issues), from the trace of a traced run."""
        return [(cycle, word, offset) for cycle, number, word, offset, _ in self.trace
                if number == queue and word is not None]

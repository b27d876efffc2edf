"""The chip-to-chip link: its line code, frame format, parameters and fixed latency.

One declaration of every fact of the link, read by the RTL (:mod:`hdl.link`), the reference
models and channel model (:mod:`verification`), the golden simulator, the compiler and the docs
(``docs/link.md``).

Line code: IEEE 802.3 Clause 49 (10GBASE-R)
    A block is 66 bits, sent least significant bit first: a 2-bit sync header in bits 0-1
    (:data:`SYNC_DATA`: bit 0 = 0, bit 1 = 1, written ``01`` in transmission order, as the
    standard does; :data:`SYNC_CONTROL`: ``10``) and 64 payload bits in bits 2-65. Payload byte
    ``k`` is payload bits ``8k .. 8k + 7``; a control block's byte 0 is its block type. The
    payload (never the header) goes through the self-synchronising scrambler
    ``1 + x^39 + x^58`` (:data:`SCRAMBLER_TAPS`), bit by bit in transmission order.

Frame: one vector
    A vector of ``vector_bytes`` bytes travels as one frame of :attr:`LinkConfig.frame_blocks`
    blocks: a start block (:data:`BlockType.START`, Clause 49's ``S0 D1..D7``) whose seven data
    bytes are the :data:`STAMP_BYTES`-byte send stamp (little-endian) and zeros, then
    ``vector_bytes / 8`` data blocks carrying the vector in byte order, then a terminate block
    (:data:`BlockType.TERMINATE`, ``D0..D3 T4 C5..C7``) whose four data bytes are the frame's
    CRC-32 (:data:`CRC32_POLY`, reflected, initial value and final XOR ``0xFFFFFFFF``: the
    Ethernet FCS), little-endian, over the start block's eight payload bytes (its type byte
    first) followed by the vector: whole 64-bit words, so the RTL updates it one block at a
    time.
    Block ``i`` of a frame goes to serial lane ``i % serial_lanes`` in block time
    ``i // serial_lanes`` (a *superblock* is one block time across all lanes); the last
    superblock is padded with idle blocks.

Alignment markers
    Every :attr:`LinkConfig.marker_period` superblocks, counted from the transmitter's epoch,
    every lane sends a marker block instead of the next superblock of a frame: an ordered-set
    control block (:data:`BlockType.MARKER`, Clause 49's ``O0 D1..D3 C4..C7``) with D1 =
    :data:`MARKER_BYTE` and D2 = the lane's number. The receiver deskews the lanes on the
    markers and puts them back in order by their numbers, so lanes may arrive permuted.

Deterministic latency
    Transmitter and receiver count cycles from a shared epoch pulse, modulo
    ``2 ** (8 * STAMP_BYTES)``. A frame carries the count of the cycle its SEND issued; the
    receiver holds it and releases it to the chip in the cycle its own count equals stamp +
    :attr:`LinkConfig.latency`. So the latency is that constant whatever the channel's delay,
    skew and bit phase, as long as the frame is complete by then (channel delay up to
    :attr:`LinkConfig.delay_budget` cycles); a later frame is never delivered: it is counted and
    flagged as late.
"""

import enum
from dataclasses import dataclass, fields, replace

__all__ = ["LinkConfigError", "LinkConfig", "BLOCK_BITS", "PAYLOAD_BITS",
           "SYNC_DATA", "SYNC_CONTROL", "SCRAMBLER_TAPS", "SCRAMBLER_STATE_BITS", "BlockType",
           "IDLE_PAYLOAD", "MARKER_BYTE", "STAMP_BYTES", "STAMP_BITS", "STAMP_MODULUS",
           "CRC32_POLY", "CRC32_INIT", "CRC32_XOROUT", "CRC32_CHECK", "LOCK_GOOD_HEADERS",
           "LOCK_BAD_HEADERS", "LOCK_WINDOW", "SERDES_WIDTHS", "TX_GEARBOX_LATENCY",
           "RX_GEARBOX_LATENCY", "RX_SLIP_LATENCY", "LANE_RECEIVER_LATENCY", "DESKEW_LATENCY",
           "DEFRAMER_LATENCY", "RELEASE_LATENCY", "LINK_COUNTERS", "LINK_COUNTER_BITS"]


class LinkConfigError(ValueError):
    """An invalid link parameter. The message names the parameter and its value."""


#: Bits in a 64b/66b block and in its payload.
BLOCK_BITS = 66
PAYLOAD_BITS = 64
#: Sync headers as 2-bit integers, bit 0 sent first: ``01`` (data) and ``10`` (control) in
#: transmission order. ``00`` and ``11`` are invalid.
SYNC_DATA = 0b10
SYNC_CONTROL = 0b01
#: Scrambler ``1 + x^39 + x^58``: output bit ``n`` = input bit ``n`` XOR output bits ``n - 39``
#: and ``n - 58``.
SCRAMBLER_TAPS = (39, 58)
SCRAMBLER_STATE_BITS = 58


class BlockType(enum.IntEnum):
    """Block type bytes (Clause 49, Figure 49-7) of the control blocks the link sends."""
    #: ``C0..C7``: eight idle control characters (7-bit code 0x00), sent between frames.
    IDLE = 0x1E
    #: ``S0 D1..D7``: a frame's first block; D1..D7 are the send stamp and zeros.
    START = 0x78
    #: ``D0..D3 T4 C5..C7``: a frame's last block; D0..D3 are the CRC-32.
    TERMINATE = 0xCC
    #: ``O0 D1..D3 C4..C7``: an alignment marker (an ordered set whose O code is 0).
    MARKER = 0x4B


#: The 64-bit payload of an idle block (type byte, then eight 7-bit idle characters, all 0).
IDLE_PAYLOAD = BlockType.IDLE
#: D1 of a marker block; D2 is the lane number, D3 is zero.
MARKER_BYTE = 0xA5
#: Bytes of the send stamp in the start block, its bits (and the epoch counters'), and the
#: modulus of the epoch counters.
STAMP_BYTES = 2
STAMP_BITS = 8 * STAMP_BYTES
STAMP_MODULUS = 1 << STAMP_BITS
#: CRC-32 of IEEE 802.3 (reflected input and output).
CRC32_POLY = 0x04C11DB7
CRC32_INIT = 0xFFFFFFFF
CRC32_XOROUT = 0xFFFFFFFF
#: CRC-32 of the ASCII bytes ``123456789``: the check value that pins the definition.
CRC32_CHECK = 0xCBF43926
#: Block lock (Clause 49, Figure 49-14): lock after this many consecutive valid sync headers;
#: lose it after :data:`LOCK_BAD_HEADERS` invalid ones within :data:`LOCK_WINDOW` headers.
LOCK_GOOD_HEADERS = 64
LOCK_BAD_HEADERS = 16
LOCK_WINDOW = 64
#: SerDes parallel word widths (bits per lane per cycle) the gearboxes support.
SERDES_WIDTHS = (32, 64)

# The pipeline of the link, stage by stage (:attr:`LinkConfig.latency` adds them up; each unit
# of ``hdl.link`` implements its stage's figure and its tests hold it to it).
#: Transmit gearbox: a block taken in cycle ``t`` starts in the line word of cycle ``t + 1``.
TX_GEARBOX_LATENCY = 1
#: Receive gearbox: a block whose last line bit is in the word of cycle ``t`` is out in cycle
#: ``t + 1``; every block out from ``RX_SLIP_LATENCY`` cycles after a slip reflects it.
RX_GEARBOX_LATENCY = 1
RX_SLIP_LATENCY = 1
#: Lane receiver: the descrambled block is registered (block lock only slips, adds no cycle).
LANE_RECEIVER_LATENCY = 1
#: Deskew: from a superblock's last (slowest) block written to the aligned superblock out.
DESKEW_LATENCY = 2
#: Deframer: from a frame's last superblock in to its verdict (CRC included).
DEFRAMER_LATENCY = 1
#: Release buffer: a good frame written in cycle ``t`` can leave in cycle ``t + 1``.
RELEASE_LATENCY = 1


#: A link's saturating event counters, in the order of their host registers
#: (:class:`~isa.host.LinkReg`, from ``FRAMES_RECEIVED`` on), and their width.
LINK_COUNTERS = ("frames_received", "crc_errors", "line_errors", "lock_losses",
                 "deskew_failures", "late_frames", "send_overruns")
LINK_COUNTER_BITS = 16


@dataclass(frozen=True)
class LinkConfig:
    """The parameters of one link (both ends use the same).

    Parameters
    ----------
    vector_bytes : int
        Bytes per frame: the chip's vector (``ChipConfig.lanes``), a multiple of 8.
    serial_lanes : int
        Serial lanes of the link (4 on Groq's chip).
    serdes_width : int
        Bits per lane per core cycle on the SerDes parallel interface, one of
        :data:`SERDES_WIDTHS`. At 900 MHz, 32 bits is 28.8 Gb/s per lane, close to the TSP's
        30 Gb/s.
    delay_budget : int
        Channel delay, in cycles, that the fixed latency covers (the slowest lane, skew
        included).
    skew_budget : int
        Blocks of skew between lanes the receiver absorbs (at least 4).
    marker_period : int
        Superblocks from one alignment marker to the next.
    """

    vector_bytes: int = 32
    serial_lanes: int = 4
    serdes_width: int = 32
    delay_budget: int = 64
    skew_budget: int = 4
    marker_period: int = 64

    def __post_init__(self):
        def need(condition, message):
            if not condition:
                raise LinkConfigError(message)

        for f in fields(self):
            value = getattr(self, f.name)
            need(isinstance(value, int) and not isinstance(value, bool),
                 f"Link parameter {f.name} must be an integer, not {value!r}")
        need(self.vector_bytes >= 8 and self.vector_bytes % 8 == 0,
             f"Link vector_bytes must be a positive multiple of 8, not {self.vector_bytes}")
        need(1 <= self.serial_lanes <= 16,
             f"Link serial_lanes must be between 1 and 16, not {self.serial_lanes}")
        need(self.serdes_width in SERDES_WIDTHS,
             f"Link serdes_width must be one of {SERDES_WIDTHS}, not {self.serdes_width}")
        need(0 <= self.delay_budget <= STAMP_MODULUS // 4,
             f"Link delay_budget must be between 0 and {STAMP_MODULUS // 4} cycles, "
             f"not {self.delay_budget}")
        need(self.skew_budget >= 4,
             f"Link skew_budget must be at least 4 blocks, not {self.skew_budget}")
        need(self.marker_period > self.frame_superblocks,
             f"Link marker_period must exceed a frame's {self.frame_superblocks} superblocks, "
             f"not {self.marker_period}")

    @classmethod
    def for_chip(cls, config, **changes):
        """The link of a chip ``config`` (a :class:`~isa.config.ChipConfig`)."""
        return cls(vector_bytes=config.lanes, **changes)

    def derive(self, **changes):
        """A copy with ``changes`` (validated)."""
        return replace(self, **changes)

    @property
    def frame_blocks(self):
        """Blocks of one frame: start, ``vector_bytes / 8`` data blocks, terminate."""
        return self.vector_bytes // 8 + 2

    @property
    def frame_superblocks(self):
        """Block times of one frame across the serial lanes (the last one padded with idles)."""
        return -(-self.frame_blocks // self.serial_lanes)

    @property
    def send_interval(self):
        """Fewest cycles between two SENDs on one link: a frame's superblocks plus one spare
        block time (which absorbs the alignment markers and the gearbox's pauses), at
        ``serdes_width / 66`` block times per cycle."""
        return -(-(self.frame_superblocks + 1) * BLOCK_BITS // self.serdes_width)

    @property
    def payload_bytes_per_cycle(self):
        """Vector bytes per cycle at the highest SEND rate."""
        return self.vector_bytes / self.send_interval

    @property
    def latency(self):
        """Cycles from a SEND to its arrival at the other end: the same for every frame while
        the channel's delay (the slowest lane, skew and bit phase included) is at most
        ``delay_budget`` cycles. The compiler schedules every transfer with it."""
        width = self.serdes_width
        return (
            # The SEND is queued the next cycle; a window of send_interval cycles then holds a
            # ready cycle for each of the frame's superblocks and one marker (the gearbox
            # spreads its ready cycles evenly), and the previous frame is gone by then: the
            # frame's last superblock is taken at most send_interval cycles after the SEND.
            self.send_interval
            # The transmit gearbox starts the block in a later word at an even bit below the
            # width (blocks and words have even lengths); its last bit is this many words on.
            + TX_GEARBOX_LATENCY + (width - 2 + BLOCK_BITS - 1) // width
            # The channel.
            + self.delay_budget
            # The receive side, stage by stage: skew within the budget costs nothing beyond
            # the slowest lane's delay, because the deskew releases a superblock as soon as
            # its slowest block is in.
            + RX_GEARBOX_LATENCY + LANE_RECEIVER_LATENCY + DESKEW_LATENCY + DEFRAMER_LATENCY
            + RELEASE_LATENCY
        )

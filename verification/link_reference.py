"""Bit-serial reference models of the link's line code and frame, written from
:mod:`isa.link` (IEEE 802.3 Clause 49) and independent of the RTL in :mod:`hdl.link`.

Everything here goes one bit at a time, in transmission order, with plain lists and integers:
slow, and obviously right. Bit lists hold 0 and 1; integers hold bit 0 as the first bit.
"""

from collections import deque

from isa.link import (BLOCK_BITS, CRC32_INIT, CRC32_POLY, CRC32_XOROUT, MARKER_BYTE,
                      PAYLOAD_BITS, SCRAMBLER_STATE_BITS, SCRAMBLER_TAPS, STAMP_BYTES,
                      SYNC_CONTROL, SYNC_DATA, BlockType)

__all__ = ["to_bits", "from_bits", "crc32_update", "crc32", "Scrambler", "Descrambler",
           "block", "header_of", "payload_of", "is_valid_header", "control_block",
           "idle_block", "marker_block", "frame_blocks", "parse_frame", "TxGearboxModel",
           "RxGearboxModel", "LaneTransmitterModel"]

HEADER_BITS = BLOCK_BITS - PAYLOAD_BITS


def to_bits(value, count):
    """The ``count`` low bits of ``value``, bit 0 first."""
    return [(value >> n) & 1 for n in range(count)]


def from_bits(bits):
    """The integer whose bit ``n`` is ``bits[n]``."""
    return sum(bit << n for n, bit in enumerate(bits))


def crc32_update(register, data):
    """The running CRC-32 register after the bytes ``data``: one shift per bit, bit 0 of each
    byte first. The feedback bit is the register's top bit XOR the data bit, and the register
    shifts up (the polynomial as written, most significant term first); the reflection of the
    Ethernet CRC is undone on the way in and out."""
    register = _reverse32(register)
    for byte in data:
        for n in range(8):
            feedback = (register >> 31) ^ ((byte >> n) & 1)
            register = (register << 1) & 0xFFFFFFFF
            if feedback:
                register ^= CRC32_POLY
    return _reverse32(register)


def _reverse32(value):
    return int(f"{value:032b}"[::-1], 2)


def crc32(data):
    """The CRC-32 of IEEE 802.3 (the Ethernet FCS) of the bytes ``data``."""
    return crc32_update(CRC32_INIT, data) ^ CRC32_XOROUT


class _SelfSynchronising:
    """The last :data:`~isa.link.SCRAMBLER_STATE_BITS` scrambled bits, oldest first; ``seed``
    bit ``j`` is the bit sent ``SCRAMBLER_STATE_BITS - j`` bits before the first. ``taps``
    replaces :data:`~isa.link.SCRAMBLER_TAPS` (to prove that a checker notices a wrong one)."""

    def __init__(self, seed=(1 << SCRAMBLER_STATE_BITS) - 1, *, taps=SCRAMBLER_TAPS):
        if isinstance(seed, bool) or not isinstance(seed, int) or \
                not 0 <= seed < 1 << SCRAMBLER_STATE_BITS:
            raise ValueError(f"Scrambler seed must be a {SCRAMBLER_STATE_BITS}-bit integer, "
                             f"not {seed!r}")
        self.tap_list = taps
        self.history = deque(to_bits(seed, SCRAMBLER_STATE_BITS), maxlen=SCRAMBLER_STATE_BITS)

    def _taps(self):
        """The XOR of the scrambled bits at the taps (bits ago)."""
        result = 0
        for tap in self.tap_list:
            result ^= self.history[-tap]
        return result

    def payload(self, value):
        """Process the :data:`~isa.link.PAYLOAD_BITS` bits of ``value``, bit 0 first."""
        return from_bits(self.bits(to_bits(value, PAYLOAD_BITS)))

    @property
    def state(self):
        return from_bits(self.history)


class Scrambler(_SelfSynchronising):
    """The scrambler of :data:`~isa.link.SCRAMBLER_TAPS`: each output bit is the input bit XOR
    the output bits that many bits earlier."""

    def bits(self, bits):
        out = []
        for bit in bits:
            scrambled = bit ^ self._taps()
            self.history.append(scrambled)
            out.append(scrambled)
        return out


class Descrambler(_SelfSynchronising):
    """The inverse of :class:`Scrambler`: each output bit is the received bit XOR the received
    bits at the taps."""

    def bits(self, bits):
        out = []
        for bit in bits:
            out.append(bit ^ self._taps())
            self.history.append(bit)
        return out


def block(header, payload):
    """The 66-bit block of a 2-bit sync ``header`` and a 64-bit ``payload``."""
    return header | payload << HEADER_BITS


def header_of(value):
    return value & ((1 << HEADER_BITS) - 1)


def payload_of(value):
    return value >> HEADER_BITS


def is_valid_header(header):
    return header in (SYNC_DATA, SYNC_CONTROL)


def _from_bytes(data):
    return int.from_bytes(bytes(data), "little")


def control_block(block_type, data=()):
    """A control block: type byte ``block_type``, then the bytes ``data``, then zeros."""
    return block(SYNC_CONTROL, _from_bytes([block_type, *data]))


def idle_block():
    return control_block(BlockType.IDLE)


def marker_block(lane):
    """The alignment marker of serial lane ``lane``: D1 = :data:`~isa.link.MARKER_BYTE`,
    D2 = the lane number, D3 = 0."""
    return control_block(BlockType.MARKER, [MARKER_BYTE, lane])


def _start_payload_bytes(stamp):
    return bytes([BlockType.START, *stamp.to_bytes(STAMP_BYTES, "little")]).ljust(
        PAYLOAD_BITS // 8, b"\0")


def frame_blocks(link, vector, stamp):
    """The frame of ``vector`` (``link.vector_bytes`` bytes) with send stamp ``stamp``, as
    superblocks of ``link.serial_lanes`` unscrambled blocks (block ``i`` is lane
    ``i % serial_lanes`` of superblock ``i // serial_lanes``)."""
    vector = bytes(vector)
    if len(vector) != link.vector_bytes:
        raise ValueError(f"A frame carries {link.vector_bytes} bytes, not {len(vector)}")
    start = _start_payload_bytes(stamp)
    blocks = [block(SYNC_CONTROL, _from_bytes(start))]
    blocks += [block(SYNC_DATA, _from_bytes(vector[k:k + 8])) for k in range(0, len(vector), 8)]
    blocks.append(control_block(BlockType.TERMINATE,
                                crc32(start + vector).to_bytes(4, "little")))
    lanes = link.serial_lanes
    blocks += [idle_block()] * (-len(blocks) % lanes)
    return [blocks[i:i + lanes] for i in range(0, len(blocks), lanes)]


def parse_frame(superblocks):
    """``(vector, stamp, ok)`` of a frame given as superblocks of unscrambled blocks: ``ok``
    when the start block, the data blocks, the terminate block with the right CRC and the idle
    padding are all well-formed."""
    blocks = [value for superblock in superblocks for value in superblock]
    if not blocks:
        return b"", 0, False
    payloads = [payload_of(value).to_bytes(PAYLOAD_BITS // 8, "little") for value in blocks]
    stamp = int.from_bytes(payloads[0][1:1 + STAMP_BYTES], "little")
    ok = blocks[0] == block(SYNC_CONTROL, _from_bytes(_start_payload_bytes(stamp)))
    end = 1
    while end < len(blocks) and header_of(blocks[end]) == SYNC_DATA:
        end += 1
    vector = b"".join(payloads[1:end])
    if end == len(blocks):
        return vector, stamp, False
    crc = crc32(payloads[0] + vector).to_bytes(4, "little")
    ok = ok and blocks[end] == control_block(BlockType.TERMINATE, crc)
    ok = ok and all(value == idle_block() for value in blocks[end + 1:])
    return vector, stamp, ok


class TxGearboxModel:
    """The transmit gearbox's contract (:mod:`hdl.link.gearbox`): a queue of line bits that
    starts with ``width`` zeros; :meth:`take` appends a block, :meth:`word` removes a word."""

    def __init__(self, width):
        self.width = width
        self.line = [0] * width

    def take(self, value):
        self.line += to_bits(value, BLOCK_BITS)

    def word(self):
        word, self.line = self.line[:self.width], self.line[self.width:]
        return from_bits(word)


class RxGearboxModel:
    """The receive gearbox's contract: :meth:`cycle` appends a word's bits, drops the first
    pending bit on a slip, and returns the first 66 pending bits as a block (or ``None``)."""

    def __init__(self, width):
        self.width = width
        self.line = []

    def cycle(self, word, slip=False):
        self.line += to_bits(word, self.width)
        if slip:
            self.line.pop(0)
        if len(self.line) < BLOCK_BITS:
            return None
        value, self.line = from_bits(self.line[:BLOCK_BITS]), self.line[BLOCK_BITS:]
        return value


class LaneTransmitterModel:
    """One serial lane's transmit path: each block's payload through a :class:`Scrambler`
    (the header is sent as is), then its 66 bits onto the line, bit 0 first."""

    def __init__(self, seed=(1 << SCRAMBLER_STATE_BITS) - 1):
        self.scrambler = Scrambler(seed)

    def scrambled(self, value):
        """The block ``value`` as sent: its payload scrambled."""
        return block(header_of(value), self.scrambler.payload(payload_of(value)))

    def bits(self, blocks):
        """The line bits of ``blocks``."""
        return [bit for value in blocks for bit in to_bits(self.scrambled(value), BLOCK_BITS)]

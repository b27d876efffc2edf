"""The link testbench's own oracles, independent of the RTL (:mod:`verification.tb_link` uses
them; ``tests/test_link.py`` checks them against the bit-serial references).

* :class:`LineMonitor` finds the block boundary of each transmitted lane on its own (a
  :class:`LaneMonitor` per lane), descrambles the blocks word by word (:func:`descramble`) and
  parses every frame with the reference :func:`~verification.link_reference.parse_frame`.
* :class:`CorruptionOracle`, from the channel's record of flipped bits, says which blocks'
  descrambled content differs from what was sent (a flipped payload bit also flips the
  descrambled bits :data:`~isa.link.SCRAMBLER_TAPS` later, possibly in the next block of that
  lane), and classifies every superblock sent by the deframer's rule
  (:mod:`hdl.link.deframer`): the frame errors and damaged idle superblocks the receiver must
  count.
"""

from collections import deque

from isa.link import (BLOCK_BITS, PAYLOAD_BITS, SCRAMBLER_STATE_BITS, SCRAMBLER_TAPS,
                      SYNC_CONTROL, SYNC_DATA, BlockType)
from .link_reference import (block, header_of, idle_block, is_valid_header, marker_block,
                             parse_frame)

__all__ = ["descramble", "LaneMonitor", "LineMonitor", "CorruptionOracle", "SEARCH_BLOCKS"]

HEADER_BITS = BLOCK_BITS - PAYLOAD_BITS
PAYLOAD_MASK = (1 << PAYLOAD_BITS) - 1
NEAR_TAP, FAR_TAP = sorted(SCRAMBLER_TAPS)
#: Blocks in a row with valid headers that pin a lane's block boundary in the monitor (a wrong
#: boundary passes with probability 2^-32).
SEARCH_BLOCKS = 32
#: The idle block, which the oracle compares every block between frames with.
IDLE_BLOCK = idle_block()


def descramble(history, payload):
    """Descramble one 64-bit ``payload`` given ``history``, the last
    :data:`~isa.link.SCRAMBLER_STATE_BITS` scrambled bits received (the oldest in bit 0).
    Returns ``(descrambled payload, new history)``: word-parallel, where the reference goes
    bit by bit."""
    line = history | payload << SCRAMBLER_STATE_BITS
    plain = (payload ^ line >> (FAR_TAP - NEAR_TAP) ^ line >> (SCRAMBLER_STATE_BITS - FAR_TAP))
    return plain & PAYLOAD_MASK, line >> PAYLOAD_BITS


def block_type(value):
    """The block type byte of a control block, else ``None``."""
    if header_of(value) != SYNC_CONTROL:
        return None
    return value >> HEADER_BITS & 0xFF


class LaneMonitor:
    """The blocks of one transmitted lane, recovered from its line words.

    The block boundary is the one offset at which the last :data:`SEARCH_BLOCKS` headers are
    all valid (searched until the transmitter's blocks fill the window); blocks are counted
    from the first whole block of the stream (``offset`` is its first line bit index) and
    descrambled.
    """

    def __init__(self, width):
        self.width = width
        self.bits = 0
        self.count = 0
        self.offset = None
        self.history = 0
        self.blocks = deque()

    def push(self, word):
        self.bits |= word << self.count
        self.count += self.width
        if self.offset is None:
            # Until the transmitter's blocks fill the search window (it may be in reset).
            self.offset = self._boundary()
            if self.offset is None:
                return
            self.bits >>= self.offset
            self.count -= self.offset
        while self.count >= BLOCK_BITS:
            value = self.bits & ((1 << BLOCK_BITS) - 1)
            self.bits >>= BLOCK_BITS
            self.count -= BLOCK_BITS
            plain, self.history = descramble(self.history, value >> HEADER_BITS)
            self.blocks.append(block(header_of(value), plain))

    def _boundary(self):
        if self.count < (SEARCH_BLOCKS + 2) * BLOCK_BITS:
            return None
        found = []
        for offset in range(BLOCK_BITS):
            last = (self.count - offset) // BLOCK_BITS
            starts = [offset + BLOCK_BITS * j for j in range(last - SEARCH_BLOCKS, last)]
            if all(is_valid_header(header_of(self.bits >> s)) for s in starts):
                found.append(offset)
        assert len(found) <= 1, f"line monitor: block boundaries {found}"
        return found[0] if found else None


class LineMonitor:
    """The superblocks and frames on the transmitter's lanes.

    ``on_frame(vector, stamp, ok, superblocks)`` hears every frame, with the indices of its
    superblocks; marker superblocks are checked against the reference and skipped;
    ``on_superblock(index, blocks)`` hears every other superblock. ``framed`` and ``markers``
    are the indices of the superblocks of frames and of the markers.
    """

    def __init__(self, link, on_frame, on_superblock):
        self.link = link
        self.lanes = [LaneMonitor(link.serdes_width) for _ in range(link.serial_lanes)]
        self.on_frame = on_frame
        self.on_superblock = on_superblock
        self.superblocks = 0
        self.markers = set()
        self.framed = set()
        self.frame = None
        self.bad_markers = []

    def push(self, words):
        for lane, word in zip(self.lanes, words):
            lane.push(word)
        while all(lane.blocks for lane in self.lanes):
            offsets = {lane.offset for lane in self.lanes}
            assert len(offsets) == 1, f"line monitor: lanes with block boundaries {offsets}"
            self._superblock([lane.blocks.popleft() for lane in self.lanes])

    def _superblock(self, blocks):
        index = self.superblocks
        self.superblocks += 1
        types = [block_type(value) for value in blocks]
        if types[0] == BlockType.MARKER:
            self.markers.add(index)
            if blocks != [marker_block(lane) for lane in range(len(blocks))]:
                self.bad_markers.append(index)
            return
        self.on_superblock(index, blocks)
        if self.frame is None:
            if types[0] != BlockType.START:
                return
            self.frame = []
        self.frame.append((index, blocks))
        if len(self.frame) == self.link.frame_superblocks:
            vector, stamp, ok = parse_frame([blocks for _, blocks in self.frame])
            indices = [index for index, _ in self.frame]
            self.framed.update(indices)
            self.on_frame(vector, stamp, ok, indices)
            self.frame = None


class CorruptionOracle:
    """Which received blocks differ, once descrambled, from the blocks sent, given the
    ``channel`` and the transmitted ``lanes`` (:class:`LaneMonitor` s: their block boundaries);
    and what the receiver of ``link`` must count for them.

    A flipped header bit corrupts its block; a flipped payload bit corrupts the descrambled
    bit itself and the bits :data:`~isa.link.SCRAMBLER_TAPS` later in the lane's payload
    stream (flips whose effects meet cancel, exactly as in the descrambler).

    :meth:`push` takes every superblock sent except the markers (the deskew drops a marker
    superblock whatever it holds); :meth:`settle` classifies, in order, those whose bits have
    all left the channel (no later flip can reach them): their received blocks are the sent
    ones with the corruption applied, and :meth:`classify` counts them by the deframer's rule
    into ``frame_errors`` and ``line_errors``.
    """

    def __init__(self, link, channel, lanes):
        self.link = link
        self.channel = channel
        self.lanes = lanes
        self.done = 0
        self.headers = {}
        self.payloads = {}
        self.sent = deque()
        self.frame = None
        self.frame_errors = self.line_errors = 0
        self.errors = []

    def update(self):
        flipped = self.channel.flipped
        for lane, index in flipped[self.done:]:
            position = index - self.lanes[lane].offset
            if position < 0:
                continue                # before the first whole block: never part of a frame
            number, bit = divmod(position, BLOCK_BITS)
            if bit < HEADER_BITS:
                self.headers[lane, number] = self.headers.get((lane, number), 0) ^ 1 << bit
                continue
            payload_bit = number * PAYLOAD_BITS + bit - HEADER_BITS
            for tap in (0, NEAR_TAP, FAR_TAP):
                where, offset = divmod(payload_bit + tap, PAYLOAD_BITS)
                self.payloads[lane, where] = self.payloads.get((lane, where), 0) ^ 1 << offset
        self.done = len(flipped)

    def corrupted(self, lane, number):
        return bool(self.headers.get((lane, number)) or self.payloads.get((lane, number)))

    def received(self, lane, number, value):
        """Block ``number`` of transmitted lane ``lane``, sent as ``value``, as received and
        descrambled."""
        return value ^ self.headers.get((lane, number), 0) ^ (
            self.payloads.get((lane, number), 0) << HEADER_BITS)

    def push(self, index, blocks):
        self.sent.append((index, blocks))

    def settle(self):
        """Classify every superblock pushed whose bits have all left the channel."""
        self.update()
        if not self.sent:
            return
        arrived = self.channel.sent - max(self.channel.delays)
        offset = max(lane.offset for lane in self.lanes)
        while self.sent and offset + (self.sent[0][0] + 1) * BLOCK_BITS <= arrived:
            index, blocks = self.sent.popleft()
            self.classify([self.received(lane, index, value) for lane, value in enumerate(blocks)],
                          index)

    def classify(self, blocks, index=None):
        """Count one received non-marker superblock by the deframer's rule: between frames, an
        idle superblock counts nothing, one that starts a frame (lane 0 a start block, or any
        data block or terminate block) opens a frame, anything else is a line error; a frame
        of ``frame_superblocks`` superblocks that the reference rejects is a frame error.
        ``errors`` keeps the ``index`` of each superblock counted and its blocks."""
        if self.frame is None:
            if all(value == IDLE_BLOCK for value in blocks):
                return
            starts = block_type(blocks[0]) == BlockType.START or any(
                header_of(value) == SYNC_DATA or block_type(value) == BlockType.TERMINATE
                for value in blocks)
            if not starts:
                self.line_errors += 1
                self.errors.append(("line", index, blocks))
                return
            self.frame = []
        self.frame.append(blocks)
        if len(self.frame) == self.link.frame_superblocks:
            if not parse_frame(self.frame)[2]:
                self.frame_errors += 1
                self.errors.append(("frame", index, self.frame))
            self.frame = None

    def counts(self):
        """``crc_errors`` and ``line_errors`` of the superblocks that have left the channel
        (tests take differences: the monitor descrambles its first blocks without the line bits
        before them, so they are not what was sent)."""
        self.settle()
        return {"crc_errors": self.frame_errors, "line_errors": self.line_errors}

"""Gearboxes between 66-bit blocks and the SerDes parallel words of ``width`` bits
(:data:`~isa.link.SERDES_WIDTHS`).

Line bits go bit 0 first, both in a block (the sync header in bits 0-1, then the payload) and
in a word. 33 words carry a whole number of blocks at both widths (:data:`PERIOD`): 32 blocks
at width 64, 16 at width 32.

:class:`TxGearbox` keeps a buffer of pending line bits. After reset the buffer holds ``width``
zero bits, which make the first word; from then on it holds ``width`` to ``2 * width - 1`` bits
at the start of a cycle in which it takes a block, and ``2 * width`` or more (it then only
sends) otherwise. That gives the fixed ``ready`` pattern: the ``k``-th block taken in a period
(``k`` from 0) is taken with ``width + 2k`` bits pending and starts at bit ``2k`` of the next
cycle's word (:data:`~isa.link.TX_GEARBOX_LATENCY`).

:class:`RxGearbox` appends each word to its buffer, drops the buffer's first bit on a slip, and
emits the first 66 bits as a block once it has them; its outputs are registered.
"""

from math import gcd, lcm

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.link import BLOCK_BITS, SERDES_WIDTHS

__all__ = ["PERIOD", "check_width",
           "TxGearbox", "RxGearbox"]

#: Cycles of the gearboxes' pattern (33): the fewest such that ``PERIOD * width`` is a
#: multiple of the block size at every width of :data:`~isa.link.SERDES_WIDTHS`.
PERIOD = lcm(*(BLOCK_BITS // gcd(BLOCK_BITS, width) for width in SERDES_WIDTHS))


def check_width(width):
    """``width`` must be one of :data:`~isa.link.SERDES_WIDTHS`."""
    if isinstance(width, bool) or not isinstance(width, int):
        raise TypeError(f"Gearbox width must be an integer, not {width!r}")
    if width not in SERDES_WIDTHS:
        raise ValueError(f"Gearbox width must be one of {SERDES_WIDTHS}, not {width}")
    return width


class TxGearbox(wiring.Component):
    """66-bit blocks to ``width``-bit line words.

    Parameters
    ----------
    width : int
        Bits per word, one of :data:`~isa.link.SERDES_WIDTHS`.

    Members
    -------
    block : In(66)
        The block to send, taken in a cycle with ``ready``; the caller presents a new block in
        every such cycle.
    ready : Out(1)
        Takes ``block`` in this cycle. A fixed pattern of :data:`PERIOD` cycles from reset:
        at width 64, cycles 0 to 31 of each period (32 blocks); at width 32, the even cycles
        0 to 30 (16 blocks).
    word : Out(width)
        The line bits of this cycle (registered): ``width`` zeros after reset, then the blocks
        taken, back to back; a block taken in cycle ``t`` starts in cycle
        ``t +`` :data:`~isa.link.TX_GEARBOX_LATENCY`.
    """

    def __init__(self, width):
        self.width = check_width(width)
        super().__init__({
            "block": In(BLOCK_BITS),
            "ready": Out(1),
            "word":  Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        width = self.width
        # Pending bits: this cycle's word and ``excess`` more, at most 65 (width - 1 before a
        # block is added, or under 2 * width in all).
        pending = Signal(width + BLOCK_BITS)
        excess = Signal(range(BLOCK_BITS))
        m.d.comb += [self.ready.eq(excess < width), self.word.eq(pending[:width])]
        rest = pending >> width
        with m.If(self.ready):
            m.d.sync += [pending.eq(rest | (self.block << excess)),
                         excess.eq(excess + BLOCK_BITS - width)]
        with m.Else():
            m.d.sync += [pending.eq(rest), excess.eq(excess - width)]
        return m


class RxGearbox(wiring.Component):
    """``width``-bit line words to 66-bit blocks, with bit slip.

    Parameters
    ----------
    width : int
        Bits per word, one of :data:`~isa.link.SERDES_WIDTHS`.

    Members
    -------
    word : In(width)
        The line bits of this cycle, bit 0 first.
    slip : In(1)
        Drop one line bit: the first one not yet emitted, so the block boundary moves one bit
        later (66 slips go all the way round). Blocks reflect it from cycle
        ``t +`` :data:`~isa.link.RX_SLIP_LATENCY` on.
    block : Out(66)
        The next 66 line bits (registered), bit 0 first; a block whose last bit is in ``word``
        in cycle ``t`` is here in cycle ``t +`` :data:`~isa.link.RX_GEARBOX_LATENCY`.
    valid : Out(1)
        ``block`` is a new block in this cycle.
    """

    def __init__(self, width):
        self.width = check_width(width)
        super().__init__({
            "word":  In(width),
            "slip":  In(1),
            "block": Out(BLOCK_BITS),
            "valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        width = self.width
        # Fewer than 66 bits are left after each cycle; with a word, fewer than two blocks.
        pending = Signal(BLOCK_BITS - 1)
        count = Signal(range(BLOCK_BITS))
        joined = Signal(BLOCK_BITS - 1 + width)
        total = Signal(range(BLOCK_BITS + width))
        m.d.comb += [
            joined.eq((pending | (self.word << count)) >> self.slip),
            total.eq(count + width - self.slip),
        ]
        with m.If(total >= BLOCK_BITS):
            m.d.sync += [self.block.eq(joined[:BLOCK_BITS]), self.valid.eq(1),
                         pending.eq(joined[BLOCK_BITS:]), count.eq(total - BLOCK_BITS)]
        with m.Else():
            m.d.sync += [self.valid.eq(0), pending.eq(joined), count.eq(total)]
        return m

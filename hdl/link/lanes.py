"""One serial lane's transmit and receive paths.

:class:`LaneTransmitter`: block -> :class:`~hdl.link.scrambler.Scrambler` (payload only; the
sync header is sent as is) -> :class:`~hdl.link.gearbox.TxGearbox` -> line words. The block is
combinational into the gearbox, so a block presented in a ``ready`` cycle starts on the line
:data:`~isa.link.TX_GEARBOX_LATENCY` cycles later.

:class:`LaneReceiver`: line words -> :class:`~hdl.link.gearbox.RxGearbox` (slipped by
:class:`~hdl.link.lock.BlockLock`) -> :class:`~hdl.link.scrambler.Descrambler` -> a register.
A block whose last line bit is in ``word`` in cycle ``t`` leaves in cycle
``t +`` :data:`~isa.link.RX_GEARBOX_LATENCY` ``+`` :data:`~isa.link.LANE_RECEIVER_LATENCY`.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.link import BLOCK_BITS
from .gearbox import RxGearbox, TxGearbox, check_width
from .lock import HEADER_BITS, BlockLock
from .scrambler import Descrambler, Scrambler

__all__ = ["LaneTransmitter", "LaneReceiver"]


class LaneTransmitter(wiring.Component):
    """Scrambles blocks and serialises them onto one lane.

    Parameters
    ----------
    width : int
        Line bits per cycle, one of :data:`~isa.link.SERDES_WIDTHS`.

    Members
    -------
    block : In(66)
        The unscrambled block (sync header in bits 0-1), taken in a ``ready`` cycle; the caller
        presents a new block in every such cycle.
    ready : Out(1)
        The gearbox's fixed pattern (:class:`~hdl.link.gearbox.TxGearbox`): the same in every
        lane from reset.
    word : Out(width)
        The line bits of this cycle, bit 0 first.
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
        m.submodules.scrambler = scrambler = Scrambler()
        m.submodules.gearbox = gearbox = TxGearbox(self.width)
        m.d.comb += [
            scrambler.data.eq(self.block[HEADER_BITS:]),
            scrambler.valid.eq(gearbox.ready),
            gearbox.block.eq(Cat(self.block[:HEADER_BITS], scrambler.out)),
            self.ready.eq(gearbox.ready),
            self.word.eq(gearbox.word),
        ]
        return m


class LaneReceiver(wiring.Component):
    """Finds the block boundary of one lane and descrambles its blocks.

    Parameters
    ----------
    width : int
        Line bits per cycle, one of :data:`~isa.link.SERDES_WIDTHS`.

    Members
    -------
    word : In(width)
        The received line bits of this cycle, bit 0 first.
    block : Out(66)
        A received block with its payload descrambled (registered). Meaningful while
        ``locked``; the descrambler resynchronises within the block after a slip, long before
        the lane locks.
    valid : Out(1)
        ``block`` is a new block in this cycle.
    locked : Out(1)
        The lane has block lock.
    lock_lost : Out(1)
        A one-cycle pulse when ``locked`` falls.
    """

    def __init__(self, width):
        self.width = check_width(width)
        super().__init__({
            "word":      In(width),
            "block":     Out(BLOCK_BITS),
            "valid":     Out(1),
            "locked":    Out(1),
            "lock_lost": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.gearbox = gearbox = RxGearbox(self.width)
        m.submodules.lock = lock = BlockLock()
        m.submodules.descrambler = descrambler = Descrambler()
        header = gearbox.block[:HEADER_BITS]
        m.d.comb += [
            gearbox.word.eq(self.word),
            gearbox.slip.eq(lock.slip),
            lock.header.eq(header),
            lock.valid.eq(gearbox.valid),
            descrambler.data.eq(gearbox.block[HEADER_BITS:]),
            descrambler.valid.eq(gearbox.valid),
            self.locked.eq(lock.locked),
        ]
        m.d.sync += [
            self.block.eq(Cat(header, descrambler.out)),
            self.valid.eq(gearbox.valid),
        ]
        was_locked = Signal()
        m.d.sync += was_locked.eq(lock.locked)
        m.d.comb += self.lock_lost.eq(was_locked & ~lock.locked)
        return m

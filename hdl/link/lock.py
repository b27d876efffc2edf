"""Block lock of one serial lane: IEEE 802.3 Clause 49, Figure 49-14.

The state machine watches the sync header of each block the receive gearbox delivers. Unlocked,
any invalid header (``00`` or ``11``) slips the gearbox one bit; after
:data:`~isa.link.LOCK_GOOD_HEADERS` valid headers in a row the lane is locked. Locked,
:data:`~isa.link.LOCK_BAD_HEADERS` invalid headers within a window of
:data:`~isa.link.LOCK_WINDOW` headers lose lock and slip. A window with no invalid header keeps
the lock; one with a few starts the count again.

Pipeline: a header in cycle ``t`` is judged in cycle ``t``; the ``slip`` pulse it causes is
registered (cycle ``t + 1``). Blocks reflect a slip from ``slip_latency`` cycles after it on
(:data:`~isa.link.RX_SLIP_LATENCY`), so headers arriving before then, still cut at the
old boundary, are ignored.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.link import (BLOCK_BITS, LOCK_BAD_HEADERS, LOCK_GOOD_HEADERS, LOCK_WINDOW,
                      PAYLOAD_BITS, RX_SLIP_LATENCY, SYNC_CONTROL, SYNC_DATA)
from ..parameters import check_integer

__all__ = ["HEADER_BITS", "BlockLock"]

#: Bits of a block's sync header.
HEADER_BITS = BLOCK_BITS - PAYLOAD_BITS
# Unlocked, the run of good headers that locks is counted in the same counter as the window.
assert LOCK_GOOD_HEADERS == LOCK_WINDOW


class BlockLock(wiring.Component):
    """The block lock state machine of one lane (Figure 49-14).

    Parameters
    ----------
    slip_latency : int
        Cycles from a ``slip`` pulse to the first block cut at the new boundary (the receive
        gearbox's :data:`~isa.link.RX_SLIP_LATENCY`); headers before then are ignored.

    Members
    -------
    header : In(2)
        The sync header of the block delivered in this cycle.
    valid : In(1)
        ``header`` belongs to a new block in this cycle.
    slip : Out(1)
        A one-cycle pulse: move the gearbox's block boundary one bit later.
    locked : Out(1)
        Block lock (``block_lock`` of the standard); falls in the cycle of the slip that loses
        it.
    """

    def __init__(self, slip_latency=RX_SLIP_LATENCY):
        self.slip_latency = check_integer("Block lock slip_latency", slip_latency, 0)
        super().__init__({
            "header": In(HEADER_BITS),
            "valid":  In(1),
            "slip":   Out(1),
            "locked": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        # sh_cnt and sh_invld_cnt of the standard: headers and invalid headers in this window.
        headers = Signal(range(LOCK_WINDOW))
        invalid = Signal(range(LOCK_BAD_HEADERS))
        # Cycles left in which headers are still cut at the boundary before the last slip.
        holdoff = Signal(range(self.slip_latency + 1))

        good = (self.header == SYNC_DATA) | (self.header == SYNC_CONTROL)
        test = self.valid & (holdoff == 0)
        window_end = headers == LOCK_WINDOW - 1

        m.d.sync += self.slip.eq(0)
        with m.If(holdoff != 0):
            m.d.sync += holdoff.eq(holdoff - 1)
        with m.If(test):
            with m.If(good):
                # VALID_SH: a full window without an invalid header locks (64_GOOD); a window
                # with some keeps the lock and counts again (RESET_CNT).
                with m.If(window_end):
                    m.d.sync += [headers.eq(0), invalid.eq(0)]
                    with m.If(invalid == 0):
                        m.d.sync += self.locked.eq(1)
                with m.Else():
                    m.d.sync += headers.eq(headers + 1)
            with m.Elif(~self.locked | (invalid == LOCK_BAD_HEADERS - 1)):
                # INVALID_SH -> SLIP: unlocked, or the window's last allowed invalid header.
                m.d.sync += [self.locked.eq(0), self.slip.eq(1), headers.eq(0), invalid.eq(0),
                             holdoff.eq(self.slip_latency)]
            with m.Elif(window_end):
                m.d.sync += [headers.eq(0), invalid.eq(0)]
            with m.Else():
                m.d.sync += [headers.eq(headers + 1), invalid.eq(invalid + 1)]
        return m

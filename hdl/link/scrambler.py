"""The self-synchronising scrambler of IEEE 802.3 Clause 49 (``1 + x^39 + x^58``), 64 bits per
cycle.

Scrambled bit ``n`` = payload bit ``n`` XOR scrambled bits ``n - 39`` and ``n - 58``
(:data:`~isa.link.SCRAMBLER_TAPS`), bit 0 of a payload first. The state is the last
:data:`~isa.link.SCRAMBLER_STATE_BITS` scrambled bits, oldest in bit 0: state bit ``j`` is the
scrambled bit sent ``SCRAMBLER_STATE_BITS - j`` bits before the current payload's bit 0. A
payload is wider than the state, so the next state is the current output's last bits.
"""

from amaranth import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.link import PAYLOAD_BITS, SCRAMBLER_STATE_BITS, SCRAMBLER_TAPS
from ..parameters import check_integer

__all__ = ["SEED_ALL_ONES", "Scrambler", "Descrambler"]

#: The default state: all ones.
SEED_ALL_ONES = (1 << SCRAMBLER_STATE_BITS) - 1


def _check_seed(seed):
    return check_integer("Scrambler seed", seed, 0, SEED_ALL_ONES)


def _line_bits(state, line, data):
    """The scrambler relation solved for one unknown per bit: bit ``n`` of the result is
    ``data[n]`` XOR the line bits ``n - tap`` for each tap, where ``line`` gives line bit ``n``
    (``None``: the result's own bit ``n``, known by the time it is needed because every tap is
    at least 1) and negative positions read ``state``."""
    result = []
    for n in range(PAYLOAD_BITS):
        bit = data[n]
        for tap in SCRAMBLER_TAPS:
            position = n - tap
            if position < 0:
                bit = bit ^ state[SCRAMBLER_STATE_BITS + position]
            elif line is None:
                bit = bit ^ result[position]
            else:
                bit = bit ^ line[position]
        result.append(bit)
    return Cat(*result)


class _SelfSynchronising(wiring.Component):
    """What the scrambler and the descrambler share: the members, the seed and the state, the
    last :data:`~isa.link.SCRAMBLER_STATE_BITS` line (scrambled) bits, which advances over
    each payload sent or received."""

    def __init__(self, seed=SEED_ALL_ONES):
        self.seed = _check_seed(seed)
        super().__init__({
            "data":  In(PAYLOAD_BITS),
            "valid": In(1),
            "out":   Out(PAYLOAD_BITS),
        })

    #: Whether ``out`` is the line (scrambler) or ``data`` is (descrambler).
    sends = True

    def elaborate(self, platform):
        m = Module()
        state = Signal(SCRAMBLER_STATE_BITS, init=self.seed)
        line = self.out if self.sends else self.data
        m.d.comb += self.out.eq(_line_bits(state, None if self.sends else self.data, self.data))
        with m.If(self.valid):
            m.d.sync += state.eq(Value.cast(line)[-SCRAMBLER_STATE_BITS:])
        return m


class Scrambler(_SelfSynchronising):
    """Scrambles one 64-bit payload per cycle.

    Parameters
    ----------
    seed : int
        The state after reset (the previous 58 line bits, oldest in bit 0); all ones by
        default.

    Members
    -------
    data : In(64)
        The payload; bit 0 goes first on the line.
    valid : In(1)
        ``out`` is sent: the state advances over it at the end of the cycle.
    out : Out(64)
        ``data`` scrambled with the current state (combinational).
    """

    sends = True


class Descrambler(_SelfSynchronising):
    """Descrambles one 64-bit payload per cycle. Self-synchronising: its output is right from
    the 59th received bit on, whatever its state was.

    Parameters
    ----------
    seed : int
        The state after reset (the previous 58 received bits, oldest in bit 0); all ones by
        default.

    Members
    -------
    data : In(64)
        A received (scrambled) payload, bit 0 first.
    valid : In(1)
        ``data`` was received: the state advances over it at the end of the cycle.
    out : Out(64)
        ``data`` descrambled with the current state (combinational).
    """

    sends = False

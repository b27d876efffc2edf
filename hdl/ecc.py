"""SECDED encoder and decoder of the SRAM words: the Hsiao (72,64) code of :mod:`isa.ecc`.

Both are combinational and built from :data:`isa.ecc.CHECK_COLUMNS` alone: check bit ``j`` is
the XOR tree of the data bits whose column has bit ``j`` set (:data:`isa.ecc.ROW_WEIGHT` of
them), and the decoder compares the syndrome with each of the 72 columns of the parity-check
matrix. The vector versions cover a MEM word of ``lanes`` bytes as ``lanes / 8`` independent
code words (word ``k`` is bits ``64k .. 64k + 63`` of the vector, that is its bytes
``8k .. 8k + 7``; its check bits are bits ``8k .. 8k + 7`` of the check vector).
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.ecc import CHECK_BITS, CHECK_COLUMNS, DATA_BITS
from .parameters import check_integer

__all__ = ["SecdedEncoder", "SecdedDecoder", "VectorSecdedEncoder", "VectorSecdedDecoder"]


def _check_bits(data):
    """The check bits of the 64-bit value ``data``, one XOR tree per row of the matrix."""
    return Cat(Cat(data[i] for i, column in enumerate(CHECK_COLUMNS) if column >> j & 1).xor()
               for j in range(CHECK_BITS))


class SecdedEncoder(wiring.Component):
    """Check bits of one 64-bit word (:func:`isa.ecc.encode`), combinationally.

    Members
    -------
    data : In(64)
    check : Out(8)
        The 8 check bits to store with ``data``.
    """

    def __init__(self):
        super().__init__({
            "data":  In(DATA_BITS),
            "check": Out(CHECK_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.check.eq(_check_bits(self.data))
        return m


class SecdedDecoder(wiring.Component):
    """Correction and detection for one stored 72-bit code word (:func:`isa.ecc.decode`),
    combinationally.

    Members
    -------
    data : In(64)
    check : In(8)
        The word and check bits as read from storage.
    corrected : Out(64)
        ``data`` with the flipped bit corrected when ``single``; ``data`` unchanged otherwise.
    single : Out(1)
        One bit of the code word, data or check bit, was flipped and has been corrected.
    uncorrectable : Out(1)
        The syndrome is nonzero and no column of the matrix. Every double error raises it, as
        do most errors of three or more bits; ``corrected`` is then ``data``. (Not named
        ``double``: a C++ keyword, which Verilator's lint flags as a port name.)
    """

    def __init__(self):
        super().__init__({
            "data":          In(DATA_BITS),
            "check":         In(CHECK_BITS),
            "corrected":     Out(DATA_BITS),
            "single":        Out(1),
            "uncorrectable": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        syndrome = Signal(CHECK_BITS)
        m.d.comb += syndrome.eq(self.check ^ _check_bits(self.data))
        # A single error's syndrome is its bit's column; the columns are distinct, so at most
        # one comparator fires. Raising `single` on a whole-column match only, rather than on
        # any odd-weight syndrome, reports the many triple errors whose syndrome is no column
        # as uncorrectable instead of as corrected.
        #
        # Each comparator is the AND of two one-hot decodes of the syndrome's halves, shared by
        # every column (on FPGAs one 3-input LUT per data bit, with its XOR, instead of an
        # 8-input comparator each).
        half = CHECK_BITS // 2
        lows, highs = 1 << half, 1 << (CHECK_BITS - half)
        low_hot = Signal(lows)
        high_hot = Signal(highs)
        m.d.comb += [
            low_hot.eq(1 << syndrome[:half]),
            high_hot.eq(1 << syndrome[half:]),
        ]

        def matches(column):
            return low_hot[column % lows] & high_hot[column >> half]

        # Whether the syndrome is a column at all: for each value of its high half, the set of
        # low halves that make a column.
        low_masks = [0] * highs
        for column in (*CHECK_COLUMNS, *(1 << j for j in range(CHECK_BITS))):
            low_masks[column >> half] |= 1 << (column % lows)
        data_flip = Signal(DATA_BITS)
        m.d.comb += [
            data_flip.eq(Cat(matches(column) for column in CHECK_COLUMNS)),
            self.corrected.eq(self.data ^ data_flip),
            self.single.eq(Cat(high_hot[h] & (low_hot & low_masks[h]).any()
                               for h in range(highs)).any()),
            self.uncorrectable.eq(syndrome.any() & ~self.single),
        ]
        return m


class VectorSecdedEncoder(wiring.Component):
    """Check bits of a vector of ``words`` 64-bit words, one :class:`SecdedEncoder` each.

    Parameters
    ----------
    words : int
        64-bit words in the vector (``lanes / 8`` for a MEM word); at least 1.

    Members
    -------
    data : In(64 * words)
    check : Out(8 * words)
        Bits ``8k .. 8k + 7``: the check bits of word ``k`` (``data`` bits ``64k .. 64k + 63``).
    """

    def __init__(self, words):
        self.words = check_integer("ECC word count", words, 1)
        super().__init__({
            "data":  In(DATA_BITS * words),
            "check": Out(CHECK_BITS * words),
        })

    def elaborate(self, platform):
        m = Module()
        for k in range(self.words):
            m.submodules[f"word{k}"] = encoder = SecdedEncoder()
            m.d.comb += [
                encoder.data.eq(self.data.word_select(k, DATA_BITS)),
                self.check.word_select(k, CHECK_BITS).eq(encoder.check),
            ]
        return m


class VectorSecdedDecoder(wiring.Component):
    """Correction and detection for a vector of ``words`` 64-bit words, one
    :class:`SecdedDecoder` each.

    Parameters
    ----------
    words : int
        64-bit words in the vector (``lanes / 8`` for a MEM word); at least 1.

    Members
    -------
    data : In(64 * words)
    check : In(8 * words)
        As read from storage; bits ``8k .. 8k + 7`` of ``check`` protect bits
        ``64k .. 64k + 63`` of ``data``.
    corrected : Out(64 * words)
        ``data`` with every correctable word corrected.
    single : Out(1)
        At least one word had a single error, now corrected.
    uncorrectable : Out(1)
        At least one word is uncorrectable (``corrected`` holds it as read). Both flags are
        raised when some words were corrected and others are uncorrectable.
    """

    def __init__(self, words):
        self.words = check_integer("ECC word count", words, 1)
        super().__init__({
            "data":          In(DATA_BITS * words),
            "check":         In(CHECK_BITS * words),
            "corrected":     Out(DATA_BITS * words),
            "single":        Out(1),
            "uncorrectable": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        singles = []
        uncorrectables = []
        for k in range(self.words):
            m.submodules[f"word{k}"] = decoder = SecdedDecoder()
            m.d.comb += [
                decoder.data.eq(self.data.word_select(k, DATA_BITS)),
                decoder.check.eq(self.check.word_select(k, CHECK_BITS)),
                self.corrected.word_select(k, DATA_BITS).eq(decoder.corrected),
            ]
            singles.append(decoder.single)
            uncorrectables.append(decoder.uncorrectable)
        m.d.comb += [
            self.single.eq(Cat(singles).any()),
            self.uncorrectable.eq(Cat(uncorrectables).any()),
        ]
        return m

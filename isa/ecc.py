"""The SECDED code of the SRAM words: a Hsiao (72,64) code, one code word per 64 data bits.

One declaration of the code, read by the RTL encoder and decoder (:mod:`hdl.ecc`), the models
and the tests.

Why (72,64) Hsiao
    Eight check bits per 64 data bits (12.5 % overhead, the code of ECC DIMMs) correct any
    single-bit error and detect any double-bit error of the 72-bit code word (SECDED). Hsiao's
    variant of the extended Hamming code gives every column of the parity-check matrix ``H`` an
    odd weight: a single error then has an odd-weight syndrome (the flipped bit's column), a
    double error the XOR of two odd-weight columns, which has an even weight and is nonzero
    because the columns are distinct. So no overall parity bit is needed, and using the
    lightest columns (weight 3, then weight 5) with balanced rows makes the encoder's and the
    syndrome's XOR trees small and all of one depth.

Construction (:data:`CHECK_COLUMNS`, by :func:`_hsiao_columns`)
    The data bits' columns are chosen one at a time among the unused weight-3 8-bit values,
    then the weight-5 ones: each time the column whose rows carry the fewest ones so far
    (the smaller value on a tie). All 56 weight-3 columns are taken, in an order that keeps the
    rows level, then 8 of the 56 weight-5 columns. Every row of the data part of ``H`` then has
    :data:`ROW_WEIGHT` = (56 * 3 + 8 * 5) / 8 = 26 ones: each check bit is the XOR of 26 data
    bits. The check bits' own columns are the unit vectors (check bit ``j``: ``1 << j``), so a
    check bit is stored as computed and the code is systematic.

Bit numbering
    Code word bit ``p`` (0 to 71) is data bit ``p`` for ``p`` < 64 and check bit ``p - 64``
    for ``p`` >= 64; :data:`CODE_COLUMNS` lists ``H``'s columns in that order. Check bit ``j``
    is bit ``j`` of the value :func:`encode` returns, and row ``j`` of ``H``. The syndrome is
    the stored check bits XOR the check bits recomputed from the stored data: zero for a clean
    word, the flipped bit's column after a single error.

Vectors
    A vector of bytes (a MEM word of ``lanes`` bytes) is ``len / 8`` independent code words:
    64-bit word ``k`` is bytes ``8k .. 8k + 7``, little-endian (data bit ``i`` of word ``k`` is
    bit ``i % 8`` of byte ``8k + i // 8``, the bit order of a vector signal in the RTL), and
    its check bits are byte ``k`` of the vector's check bytes.
"""

import enum
from itertools import combinations
from typing import NamedTuple

__all__ = ["DATA_BITS", "CHECK_BITS", "CODE_BITS", "WORD_BYTES", "CHECK_COLUMNS", "CODE_COLUMNS",
           "ROW_WEIGHT", "EccStatus", "Decoded", "DecodedVector", "encode", "syndrome", "decode",
           "encode_vector", "decode_vector", "stored_bits", "code_word_bits"]

DATA_BITS = 64
CHECK_BITS = 8
CODE_BITS = DATA_BITS + CHECK_BITS
#: Bytes of a vector per code word.
WORD_BYTES = DATA_BITS // 8


def _hsiao_columns(data_bits, check_bits):
    """``data_bits`` distinct odd-weight ``check_bits``-bit columns, lightest weights first,
    each chosen to load the rows that carry the fewest ones so far."""
    columns = []
    row_weights = [0] * check_bits

    def load(column):
        return sum(row_weights[row] for row in range(check_bits) if column >> row & 1)

    for weight in range(3, check_bits + 1, 2):
        candidates = [sum(1 << row for row in rows)
                      for rows in combinations(range(check_bits), weight)]
        while candidates and len(columns) < data_bits:
            column = min(candidates, key=lambda c: (load(c), c))
            candidates.remove(column)
            columns.append(column)
            for row in range(check_bits):
                row_weights[row] += column >> row & 1
    return tuple(columns)


#: ``H``'s column of data bit ``i`` is ``CHECK_COLUMNS[i]``: the check bits data bit ``i``
#: feeds.
CHECK_COLUMNS = _hsiao_columns(DATA_BITS, CHECK_BITS)
#: ``H``'s 72 columns in code word bit order: the data bits', then the check bits' unit vectors.
CODE_COLUMNS = CHECK_COLUMNS + tuple(1 << j for j in range(CHECK_BITS))
#: Data bits covered by each check bit (ones in each row of ``H``'s data part).
ROW_WEIGHT = sum(column.bit_count() for column in CHECK_COLUMNS) // CHECK_BITS

#: Data bits covered by check bit ``j``, as a mask.
_ROW_MASKS = tuple(sum(1 << i for i, column in enumerate(CHECK_COLUMNS) if column >> j & 1)
                   for j in range(CHECK_BITS))
#: Code word bit position of each single-error syndrome.
_POSITIONS = {column: position for position, column in enumerate(CODE_COLUMNS)}


class EccStatus(enum.IntEnum):
    """What decoding found; ordered by severity."""
    #: Syndrome zero: no error (or an undetectable one of weight 4 or more).
    CLEAN = 0
    #: The syndrome is a column of ``H``: that one bit was flipped and has been corrected.
    CORRECTED = 1
    #: Nonzero syndrome that is no column (a double error, or worse): the word is returned as
    #: read.
    UNCORRECTABLE = 2


class Decoded(NamedTuple):
    """One decoded code word."""
    #: The data, corrected if ``status`` is CORRECTED.
    data: int
    #: The check bits, corrected if the flipped bit was one of them.
    check: int
    status: EccStatus
    #: The corrected code word bit (0 to 63: data bit, 64 to 71: check bit 0 to 7), or ``None``.
    position: int | None


class DecodedVector(NamedTuple):
    """A decoded vector: its corrected bytes and check bytes, and each word's result."""
    data: bytes
    checks: bytes
    words: tuple[Decoded, ...]

    @property
    def status(self):
        """The most severe status of the vector's words."""
        return max((word.status for word in self.words), default=EccStatus.CLEAN)


def _check_unsigned(what, value, bits):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, not {value!r}")
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{what} must be an unsigned integer of {bits} bits, not {value!r}")
    return value


def _encode(data):
    return sum(((data & mask).bit_count() & 1) << j for j, mask in enumerate(_ROW_MASKS))


def encode(data):
    """The 8 check bits of 64-bit ``data``."""
    return _encode(_check_unsigned("data", data, DATA_BITS))


def syndrome(data, check):
    """The syndrome of a stored word: ``check`` XOR the check bits of ``data``."""
    _check_unsigned("check", check, CHECK_BITS)
    return check ^ encode(data)


def decode(data, check):
    """Decode the stored word (``data``, ``check``): a :class:`Decoded`."""
    found = syndrome(data, check)
    if found == 0:
        return Decoded(data, check, EccStatus.CLEAN, None)
    position = _POSITIONS.get(found)
    if position is None:
        return Decoded(data, check, EccStatus.UNCORRECTABLE, None)
    if position < DATA_BITS:
        data ^= 1 << position
    else:
        check ^= 1 << (position - DATA_BITS)
    return Decoded(data, check, EccStatus.CORRECTED, position)


def _words(data):
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if len(data) % WORD_BYTES:
        raise ValueError(f"data must be a whole number of {DATA_BITS}-bit words (a multiple "
                         f"of {WORD_BYTES} bytes), not {len(data)} bytes")
    return [int.from_bytes(data[k:k + WORD_BYTES], "little")
            for k in range(0, len(data), WORD_BYTES)]


def encode_vector(data):
    """The check bytes of a vector: byte ``k`` holds the check bits of 64-bit word ``k``."""
    return bytes(_encode(word) for word in _words(data))


def decode_vector(data, checks):
    """Decode a vector and its check bytes (as :func:`encode_vector` made them), word by word:
    a :class:`DecodedVector`."""
    words = _words(data)
    if not isinstance(checks, (bytes, bytearray)):
        raise TypeError(f"checks must be bytes, not {type(checks).__name__}")
    if len(checks) != len(words):
        raise ValueError(f"checks must hold one byte per {DATA_BITS}-bit word of data "
                         f"({len(words)}), not {len(checks)} bytes")
    decoded = tuple(decode(word, check) for word, check in zip(words, checks))
    return DecodedVector(b"".join(word.data.to_bytes(WORD_BYTES, "little") for word in decoded),
                         bytes(word.check for word in decoded), decoded)


def stored_bits(data_bits):
    """Bits of a stored word of ``data_bits`` data bits (a whole number of code words): the
    data bits, then the check bits of each code word in turn."""
    return data_bits + data_bits // DATA_BITS * CHECK_BITS


def code_word_bits(data_bits, word):
    """The positions, in a stored word of ``data_bits`` data bits, of code word ``word``: its
    64 data bits, then its 8 check bits."""
    return ([DATA_BITS * word + b for b in range(DATA_BITS)] +
            [data_bits + CHECK_BITS * word + b for b in range(CHECK_BITS)])

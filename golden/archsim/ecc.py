"""The SECDED code of :mod:`isa.ecc` over arrays of SRAM words, vectorised with NumPy.

A word of ``lanes`` bytes is ``lanes / 8`` code words; its check bytes are ``[lanes / 8]``
uint8, byte ``k`` holding the check bits of bytes ``8k .. 8k + 7`` (:func:`isa.ecc.encode_vector`
and :func:`isa.ecc.decode_vector` define the same thing one word at a time; the tests compare
the two). The code is linear, so a code word's check bits are the XOR of one table entry per
data byte: ``_BYTE_CHECKS[i][b]`` holds the check bits of byte value ``b`` at byte ``i``.
"""

import numpy as np

from isa.ecc import CHECK_BITS, CHECK_COLUMNS, CODE_COLUMNS, DATA_BITS, WORD_BYTES, EccStatus

__all__ = ["check_bytes", "correct"]

_BYTE_CHECKS = np.zeros((WORD_BYTES, 256), dtype=np.uint8)
for _i in range(WORD_BYTES):
    for _b in range(256):
        _column = 0
        for _bit in range(8):
            if _b >> _bit & 1:
                _column ^= CHECK_COLUMNS[8 * _i + _bit]
        _BYTE_CHECKS[_i, _b] = _column

#: Syndrome -> corrected code word bit (0 .. 71), -1 for none (0: clean; else uncorrectable).
_POSITION = np.full(1 << CHECK_BITS, -1, dtype=np.int16)
for _position, _column in enumerate(CODE_COLUMNS):
    _POSITION[_column] = _position


def check_bytes(words):
    """The check bytes of ``words`` (``[..., lanes]`` uint8): ``[..., lanes / 8]`` uint8."""
    grouped = words.reshape(*words.shape[:-1], words.shape[-1] // WORD_BYTES, WORD_BYTES)
    return np.bitwise_xor.reduce(_BYTE_CHECKS[np.arange(WORD_BYTES), grouped], axis=-1)


def correct(word, checks):
    """Decode one stored word (``[lanes]`` uint8 and its ``[lanes / 8]`` check bytes): returns
    ``(data, status)``, the data with a single flipped bit of each code word corrected and the
    most severe :class:`~isa.ecc.EccStatus` of its code words. An uncorrectable code word's
    data is returned as read."""
    syndromes = checks ^ check_bytes(word)
    if not syndromes.any():
        return word, EccStatus.CLEAN
    positions = _POSITION[syndromes]
    if (positions < 0)[syndromes != 0].any():
        status = EccStatus.UNCORRECTABLE
    else:
        status = EccStatus.CORRECTED
    word = word.copy()
    for k in np.flatnonzero((positions >= 0) & (positions < DATA_BITS)):
        position = int(positions[k])
        word[WORD_BYTES * k + position // 8] ^= np.uint8(1 << position % 8)
    return word, status

"""One SRAM: ``words`` vectors of ``lanes`` bytes with their SECDED check bytes
(:mod:`isa.ecc`), and which words hold a value."""

import numpy as np

from isa.ecc import EccStatus, stored_bits
from .checks import ChipError, byte_words, is_int
from .ecc import check_bytes, correct

__all__ = ["Sram"]


class Sram:
    """The storage of one MEM slice.

    A word is *written* once the host loaded it or a program wrote it; strict mode refuses to
    read any other (:class:`~golden.archsim.mem.MemorySlice`).

    Every write stores the word's check bytes with it; every read (a program's or the host's)
    decodes: a single flipped bit of a code word is corrected in the data returned (the stored
    word keeps it), a double one is reported. :meth:`flip` is the fault-injection hook.

    Parameters
    ----------
    words, lanes : int
    name : str
        Named in error messages.
    """

    def __init__(self, words, lanes, name):
        self.name = name
        self.data = np.zeros((words, lanes), dtype=np.uint8)
        self.checks = np.zeros((words, lanes // 8), dtype=np.uint8)
        self.written = np.zeros(words, dtype=bool)

    @property
    def words(self):
        return len(self.data)

    @property
    def code_bits(self):
        """Bits of a stored word: the data bits, then the check bits."""
        return stored_bits(self.data.shape[1] * 8)

    def read(self, address):
        """``(word, written, status)``: word ``address`` decoded (a copy) and whether it holds
        a value, and the :class:`~isa.ecc.EccStatus` of its decoding."""
        word, status = correct(self.data[address], self.checks[address])
        return word.copy(), bool(self.written[address]), status

    def write(self, address, word):
        self.data[address] = word
        self.checks[address] = check_bytes(word)
        self.written[address] = True

    def flip(self, address, bit):
        """Fault injection: invert bit ``bit`` of stored word ``address`` (data bit ``bit``
        for ``bit < lanes * 8``, check bit ``bit - lanes * 8`` after that; check byte ``k``
        belongs to data bytes ``8k .. 8k + 7``), as a particle strike would, without a write."""
        if not is_int(address) or not 0 <= address < self.words:
            raise ChipError(f"SRAM address {address!r} out of range (0..{self.words - 1})")
        if not is_int(bit) or not 0 <= bit < self.code_bits:
            raise ChipError(f"SRAM bit {bit!r} out of range (0..{self.code_bits - 1})")
        data_bits = self.data.shape[1] * 8
        target, bit = (self.data, bit) if bit < data_bits else (self.checks, bit - data_bits)
        target[address, bit // 8] ^= np.uint8(1 << bit % 8)

    def load(self, address, words):
        """Host load of ``words`` (``[n, lanes]`` bytes: integers -128 .. 255, stored as
        uint8) from ``address``; raises :class:`ChipError` and changes nothing if they do not
        fit."""
        words = byte_words(words, self.data.shape[1])
        if not is_int(address) or not 0 <= address <= self.words - len(words):
            raise ChipError(f"{len(words)} words at address {address!r} do not fit "
                            f"{self.words} words of SRAM")
        self.data[address:address + len(words)] = words
        self.checks[address:address + len(words)] = check_bytes(words)
        self.written[address:address + len(words)] = True

    def unload(self, address, count):
        """Host read of ``count`` words from ``address``: ``(words, statuses)``, the words
        decoded (``[count, lanes]`` uint8) and each one's :class:`~isa.ecc.EccStatus`."""
        if not (is_int(address) and is_int(count)) or count < 0 or \
                not 0 <= address <= self.words - count:
            raise ChipError(f"{count!r} words at address {address!r} are outside "
                            f"{self.words} words of SRAM")
        words = self.data[address:address + count].copy()
        statuses = [EccStatus.CLEAN] * count
        stored = self.checks[address:address + count]
        for k in np.flatnonzero((check_bytes(words) != stored).any(axis=1)):
            words[k], statuses[k] = correct(words[k], stored[k])
        return words, statuses

"""One SRAM: ``words`` vectors of ``lanes`` bytes, and which words hold a value."""

import numpy as np

from .checks import ChipError, byte_words, is_int

__all__ = ["Sram"]


class Sram:
    """The storage of one MEM slice.

    A word is *written* once the host loaded it or a program wrote it; strict mode refuses to
    read any other (:class:`~golden.archsim.mem.MemorySlice`).

    Parameters
    ----------
    words, lanes : int
    name : str
        Named in error messages.
    """

    def __init__(self, words, lanes, name):
        self.name = name
        self.data = np.zeros((words, lanes), dtype=np.uint8)
        self.written = np.zeros(words, dtype=bool)

    @property
    def words(self):
        return len(self.data)

    def read(self, address):
        """``(word, written)``: a copy of word ``address`` and whether it holds a value."""
        return self.data[address].copy(), bool(self.written[address])

    def write(self, address, word):
        self.data[address] = word
        self.written[address] = True

    def load(self, address, words):
        """Host load of ``words`` (``[n, lanes]`` bytes: integers -128 .. 255, stored as
        uint8) from ``address``; raises :class:`ChipError` and changes nothing if they do not
        fit."""
        words = byte_words(words, self.data.shape[1])
        if not is_int(address) or not 0 <= address <= self.words - len(words):
            raise ChipError(f"{len(words)} words at address {address!r} do not fit "
                            f"{self.words} words of SRAM")
        self.data[address:address + len(words)] = words
        self.written[address:address + len(words)] = True

    def unload(self, address, count):
        """Host read of ``count`` words from ``address`` (``[count, lanes]`` uint8)."""
        if not (is_int(address) and is_int(count)) or count < 0 or \
                not 0 <= address <= self.words - count:
            raise ChipError(f"{count!r} words at address {address!r} are outside "
                            f"{self.words} words of SRAM")
        return self.data[address:address + count].copy()

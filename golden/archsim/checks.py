"""The simulator's two kinds of error, the strict-mode check every unit model shares, and what
every unit model knows."""

import numpy as np

from isa.formats import WORD_BITS

__all__ = ["ProgramError", "ChipError", "Checks", "UnitModel", "is_int", "byte_words",
           "instruction_words"]


class ProgramError(RuntimeError):
    """A program consumed a value that was never produced (strict mode), or never halted."""


class ChipError(ValueError):
    """A host-side request the chip refuses (bad slice, queue or address)."""


def is_int(value):
    """Whether ``value`` is an integer (Python or NumPy; not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def byte_words(words, lanes):
    """``words`` (``[n, lanes]`` integers -128 .. 255) as uint8 SRAM words; raises
    :class:`ChipError` naming the shape, the type or the first value that is not a byte."""
    words = np.asarray(words)
    if words.ndim != 2 or words.shape[1] != lanes:
        raise ChipError(f"SRAM words must have shape [n, {lanes}], not {list(words.shape)}")
    if words.size and not np.issubdtype(words.dtype, np.integer):
        raise ChipError(f"SRAM words must hold bytes, not {words.dtype} values")
    if words.size and (words.min() < -128 or words.max() > 255):
        bad = words[(words < -128) | (words > 255)][0]
        raise ChipError(f"SRAM words must hold bytes (-128 .. 255), not {bad}")
    return (words.astype(np.int64) & 0xFF).astype(np.uint8)


def instruction_words(queue, words, depth):
    """``words`` as a list of instruction words for queue number ``queue`` of ``depth``
    entries; raises :class:`ChipError` naming a sequence that is none, a count beyond the
    depth or the first word that is not a :data:`~isa.formats.WORD_BITS`-bit integer."""
    try:
        words = list(words)
    except TypeError:
        raise ChipError(f"queue {queue} must hold a sequence of words, not {words!r}") from None
    if len(words) > depth:
        raise ChipError(f"queue {queue} holds {len(words)} instructions, more than the queue "
                        f"depth {depth}")
    for pc, word in enumerate(words):
        if not is_int(word) or not 0 <= word < 1 << WORD_BITS:
            raise ChipError(f"instruction {pc} of queue {queue} is {word!r}, not a "
                            f"{WORD_BITS}-bit word")
    return words


class Checks:
    """Strict mode: a program that consumes a value nobody produced raises
    :class:`ProgramError`; with ``strict=False`` it runs as the RTL would (on stale data)."""

    def __init__(self, strict):
        self.strict = strict

    def require(self, condition, message):
        """Raise :class:`ProgramError` with ``message`` unless ``condition`` (strict mode)."""
        if self.strict and not condition:
            raise ProgramError(message)


class UnitModel:
    """The base of every unit model.

    Parameters
    ----------
    unit : isa.geometry.Unit
        The unit it models (its name and position).
    config : ChipConfig
    checks : Checks
    """

    def __init__(self, unit, config, checks):
        self.name = unit.name
        self.position = unit.position
        self.config = config
        self.checks = checks

    def reset(self):
        """Program start: no work in flight, state as after power-up."""
        raise NotImplementedError

    @property
    def busy(self):
        """Some work is in flight: the unit acts in a later cycle without a new issue."""
        raise NotImplementedError

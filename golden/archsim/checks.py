"""The simulator's two kinds of error, and the strict-mode check every unit model shares."""

__all__ = ["ProgramError", "ChipError", "Checks"]


class ProgramError(RuntimeError):
    """A program consumed a value that was never produced (strict mode), or never halted."""


class ChipError(ValueError):
    """A host-side request the chip refuses (bad slice, queue or address)."""


class Checks:
    """Strict mode: a program that consumes a value nobody produced raises
    :class:`ProgramError`; with ``strict=False`` it runs as the RTL would (on stale data)."""

    def __init__(self, strict):
        self.strict = strict

    def require(self, condition, message):
        """Raise :class:`ProgramError` with ``message`` unless ``condition`` (strict mode)."""
        if self.strict and not condition:
            raise ProgramError(message)

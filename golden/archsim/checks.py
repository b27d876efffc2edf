"""The simulator's two kinds of error, the strict-mode check every unit model shares, and what
every unit model knows."""

__all__ = ["ProgramError", "ChipError", "Checks", "UnitModel"]


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

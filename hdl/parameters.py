"""Checks of the components' constructor parameters. Every error names the parameter and echoes
the value, as :mod:`isa.config` does for the chip's geometry."""

from isa.config import ChipConfig

__all__ = ["check_config", "check_integer", "check_flag"]


def check_config(component, config):
    """``config`` must be a :class:`~isa.config.ChipConfig` (``component`` names the caller)."""
    if not isinstance(config, ChipConfig):
        raise TypeError(f"{component} needs a ChipConfig, not {config!r}")
    return config


def check_integer(what, value, minimum, maximum=None):
    """``value`` must be an integer from ``minimum`` to ``maximum`` (no upper bound if
    ``None``); ``what`` names it in the message."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, not {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = (f"at least {minimum}" if maximum is None
                  else f"between {minimum} and {maximum}")
        raise ValueError(f"{what} must be {bounds}, not {value!r}")
    return value


def check_flag(what, value):
    """``value`` must be ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be True or False, not {value!r}")
    return value

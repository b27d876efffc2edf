"""The single source of truth: configuration presets, geometry, opcodes, instruction formats,
latencies, the host register map and legality rules. Imports nothing else of this project."""

from .config import ConfigError, ChipConfig, DEFAULT, PRESETS, preset
from .geometry import floorplan

__all__ = ["ConfigError", "ChipConfig", "DEFAULT", "PRESETS", "preset", "floorplan"]

"""The chip-to-chip link's RTL (:mod:`isa.link` is its specification): :class:`SerialLink` and
its units, one per file."""

from .crc import CRC_BITS, crc32_matrix, crc32_step
from .deframer import Deframer
from .deskew import LaneDeskew, deskew_depth
from .framer import Framer
from .gearbox import PERIOD, RxGearbox, TxGearbox, check_width
from .lanes import LaneReceiver, LaneTransmitter
from .link import COUNTERS, SerialLink
from .lock import BlockLock
from .release import ReleaseBuffer, release_depth
from .scrambler import SEED_ALL_ONES, Descrambler, Scrambler

__all__ = ["CRC_BITS", "crc32_matrix", "crc32_step", "PERIOD", "check_width", "TxGearbox",
           "RxGearbox", "SEED_ALL_ONES", "Scrambler", "Descrambler", "BlockLock",
           "LaneTransmitter", "LaneReceiver", "LaneDeskew", "deskew_depth", "Framer", "Deframer",
           "ReleaseBuffer", "release_depth", "SerialLink", "COUNTERS"]

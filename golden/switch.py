"""The SXM's lane movements: the definition every other model of the switch unit must equal.

Data are byte planes (``[planes, lanes]`` uint8, one per stream, least significant first), as on
the streams. A lane movement moves all ``dtype.bytes`` planes of an element together; a lane
with no source receives the fill value (a signed 16-bit immediate, wrapped to the type).

Every movement is ``out[l] = in[index[l]]`` where ``index[l]`` is valid, ``fill`` elsewhere;
:func:`lane_sources` gives ``index`` and ``valid`` per operation.
"""

import numpy as np

from isa.config import SUPERLANE
from isa.opcodes import SwitchOp
from . import vector

__all__ = ["lane_sources", "move", "transpose", "map_indexes"]


def map_indexes(map_planes):
    """The uint16 lane indexes a PERM reads from its two map planes."""
    planes = np.asarray(map_planes, dtype=np.int64)
    return planes[0] | (planes[1] << 8)


def lane_sources(op, lanes, amount, indexes=None):
    """``(index, valid)`` arrays: output lane ``l`` takes input lane ``index[l]`` if
    ``valid[l]``."""
    lane = np.arange(lanes)
    if op is SwitchOp.SHUP:
        return lane - amount, lane >= amount
    if op is SwitchOp.SHDN:
        return lane + amount, lane + amount < lanes
    if op is SwitchOp.ROT:
        return (lane + amount) % lanes, np.ones(lanes, dtype=bool)
    if op is SwitchOp.BCAST:
        return np.full(lanes, amount), np.ones(lanes, dtype=bool)
    if op is SwitchOp.PERM:
        indexes = np.asarray(indexes, dtype=np.int64)
        return indexes, indexes < lanes
    raise ValueError(f"{op!r} is not a lane movement")


def move(op, planes, dtype, amount=0, fill=0, map_planes=None):
    """Apply lane movement ``op`` to the ``dtype.bytes`` byte planes of one element group."""
    planes = np.asarray(planes, dtype=np.uint8)
    lanes = planes.shape[1]
    indexes = map_indexes(map_planes) if op is SwitchOp.PERM else None
    index, valid = lane_sources(op, lanes, amount, indexes)
    fill_planes = vector.to_bytes(np.array([fill]), dtype)[:, 0]
    out = np.empty_like(planes)
    for b in range(dtype.bytes):
        out[b] = np.where(valid, planes[b][np.where(valid, index, 0)], fill_planes[b])
    return out


def transpose(planes):
    """TRANS: ``out[j][16 s + i] = in[i][16 s + j]`` for 16 int8 planes."""
    planes = np.asarray(planes, dtype=np.uint8)
    assert planes.shape[0] == SUPERLANE
    lanes = planes.shape[1]
    blocks = planes.reshape(SUPERLANE, lanes // SUPERLANE, SUPERLANE)   # [i, s, j]
    return blocks.transpose(2, 1, 0).reshape(SUPERLANE, lanes)          # [j, s, i]

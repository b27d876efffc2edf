"""The stream fabric of one chip: every eastward and westward stream register, and the values
that cross the chip's two edges.

Stream registers live in ring buffers indexed by a value's *phase* (``t - p`` for eastward
values, ``t + p`` for westward ones, modulo the number of positions), which stays constant while
the value moves (:mod:`isa.timing`), so the shift of every register every cycle costs nothing.
The slot that holds position 0's eastward registers in cycle ``t`` held, in cycle ``t - 1``,
the registers one position past the east edge: what left the chip there. :meth:`begin` hands
those values out as the edge outputs and refills the slot with the edge inputs (nothing, on a
chip whose edges are not connected); the same holds for the westward registers at the other
edge.

Each register carries, besides its bytes, whether a value was written into it this run (the
``ok`` flags): strict mode refuses to consume a register nobody wrote.
"""

import numpy as np

from isa.opcodes import Direction

__all__ = ["StreamFabric"]


class StreamFabric:
    """Stream registers of one chip.

    Parameters
    ----------
    positions, streams, lanes : int
        Slice positions of the row, stream registers per direction, bytes per vector.
    """

    def __init__(self, positions, streams, lanes):
        self.positions = positions
        self.streams = streams
        self.lanes = lanes
        P = positions
        self.east = np.zeros((P, streams, lanes), dtype=np.uint8)
        self.west = np.zeros((P, streams, lanes), dtype=np.uint8)
        self.east_ok = np.zeros((P, streams), dtype=bool)
        self.west_ok = np.zeros((P, streams), dtype=bool)
        self._sends = []

    def clear(self):
        """Program start: every register empty."""
        self.east[:], self.east_ok[:], self.west[:], self.west_ok[:] = 0, False, 0, False
        self._sends = []

    def registers(self, direction, position, cycle):
        """``(slot, registers, ok)``: the ring-buffer slot holding the ``direction`` registers
        at ``position`` in ``cycle``; ``registers[slot, s]`` is stream ``s``."""
        P = self.positions
        if direction is Direction.EAST:
            return (cycle - position) % P, self.east, self.east_ok
        return (cycle + position) % P, self.west, self.west_ok

    def read(self, direction, position, first, count, cycle):
        """``(planes, ok)``: streams ``first .. first + count - 1`` of ``direction`` at
        ``position`` in ``cycle`` (``[count, lanes]`` uint8, a view) and whether every one of
        them carries a value written this run."""
        slot, registers, ok = self.registers(direction, position, cycle)
        return registers[slot, first:first + count], bool(ok[slot, first:first + count].all())

    def send(self, position, direction, stream, data, ok=True):
        """A unit at ``position`` sends ``data`` on ``stream`` of ``direction`` in this cycle:
        it is at the neighbouring position in the next cycle (applied by :meth:`commit`)."""
        self._sends.append((position, direction, stream, data, ok))

    def commit(self, cycle):
        """End of ``cycle``: this cycle's sends enter their registers. A value sent from ``p``
        in cycle ``t`` is at ``p + 1`` (east) in cycle ``t + 1``: the slot of ``p`` in ``t``.
        One sent past an edge is in the slot :meth:`begin` hands out next cycle."""
        P = self.positions
        for position, direction, stream, data, ok in self._sends:
            if direction is Direction.EAST:
                slot = (cycle - position) % P
                self.east[slot, stream], self.east_ok[slot, stream] = data, ok
            else:
                slot = (cycle + position) % P
                self.west[slot, stream], self.west_ok[slot, stream] = data, ok
        self._sends = []

    @property
    def sending(self):
        """Whether some send of this cycle is not committed yet."""
        return bool(self._sends)

    def begin(self, cycle, east_in=None, west_in=None, *, edges=False):
        """Start ``cycle``: fill the edge registers (position 0's eastward registers with
        ``east_in``, the last position's westward ones with ``west_in``: ``{stream: [lanes]
        uint8}``, or nothing). With ``edges``, returns ``(east_out, west_out)``: the values that
        left the chip past the east and the west edge into this cycle (``{stream: [lanes]
        uint8}`` of the registers that carried a value); otherwise ``None``."""
        P = self.positions
        east_slot, west_slot = cycle % P, (cycle + P - 1) % P
        out = None
        if edges:
            out = ({s: self.east[east_slot, s].copy() for s in np.flatnonzero(
                        self.east_ok[east_slot])},
                   {s: self.west[west_slot, s].copy() for s in np.flatnonzero(
                        self.west_ok[west_slot])})
        self.east[east_slot], self.east_ok[east_slot] = 0, False
        self.west[west_slot], self.west_ok[west_slot] = 0, False
        for stream, data in (east_in or {}).items():
            self.east[east_slot, stream], self.east_ok[east_slot, stream] = data, True
        for stream, data in (west_in or {}).items():
            self.west[west_slot, stream], self.west_ok[west_slot, stream] = data, True
        return out

    def skip(self, cycle, target):
        """Jump from ``cycle`` to ``target`` with nothing sent and nothing entering: values in
        flight move on (their phase is constant), and those reaching an edge leave."""
        P = self.positions
        if target - cycle >= P:
            self.clear()
            return
        for t in range(cycle, target):
            self.east[t % P], self.east_ok[t % P] = 0, False
            self.west[(t + P - 1) % P], self.west_ok[(t + P - 1) % P] = 0, False

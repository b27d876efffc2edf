"""MEM slice model: an :class:`~golden.archsim.sram.Sram` with one read and one write port.

``READ`` in cycle ``t`` reads the word in ``t`` and sends it in ``t + 1`` (it is at the
neighbouring position in ``t + 2``: :data:`~isa.timing.MEM_READ_LATENCY`); ``WRITE`` samples its
stream in ``t`` and stores the word at the end of ``t``, so a read from ``t + 1`` on returns it.
The word's SECDED decoding is reported in ``t + 1``, as it leaves
(:data:`~isa.timing.ECC_READ_LATENCY`).
"""

from isa.timing import MEM_READ_LATENCY, MEM_WRITE_TO_READ
from .checks import UnitModel
from .sram import Sram

__all__ = ["MemorySlice"]

assert MEM_READ_LATENCY == 2 and MEM_WRITE_TO_READ == 1, \
    "MemorySlice models a read sent one cycle after its issue and a write stored at its end"


class MemorySlice(UnitModel):
    """One MEM slice (parameters: :class:`~golden.archsim.checks.UnitModel`)."""

    def __init__(self, unit, config, checks):
        super().__init__(unit, config, checks)
        self.sram = Sram(config.words, config.lanes, unit.name)
        self._read = None           # (stream, direction, word, written, status, address)
        self._write = None          # (address, word): issued this cycle

    def reset(self):
        self._read = self._write = None

    @property
    def busy(self):
        """A read is on its way to the stream."""
        return self._read is not None

    def advance(self, cycle, fabric):
        """Start of ``cycle``: the word read last cycle goes onto its stream. Returns
        ``(status, address)``, its :class:`~isa.ecc.EccStatus` and address, or ``None`` when
        no word leaves."""
        if self._read is None:
            return None
        stream, direction, word, written, status, address = self._read
        fabric.send(self.position, direction, stream, word, written)
        self._read = None
        return status, address

    def read(self, instr, offset, cycle, queue):
        """``READ`` issued in ``cycle`` by ``queue`` (its name)."""
        address = instr.addr + offset
        word, written, status = self.sram.read(address)
        self.checks.require(written, f"{queue} reads SRAM word {address} at cycle {cycle}, "
                                     f"which was never loaded or written")
        self._read = (instr.stream, instr.dir, word, written, status, address)

    def write(self, instr, offset, cycle, queue, fabric):
        """``WRITE`` issued in ``cycle``: samples its stream now, stores at :meth:`commit`."""
        planes, ok = fabric.read(instr.dir, self.position, instr.stream, 1, cycle)
        self.checks.require(ok, f"{queue} writes stream {instr.dir.name.lower()}"
                                f"{instr.stream} at cycle {cycle}, which carries no value")
        self._write = (instr.addr + offset, planes[0].copy())

    def commit(self):
        """End of the cycle: the write issued in it reaches the SRAM."""
        if self._write is not None:
            self.sram.write(*self._write)
            self._write = None

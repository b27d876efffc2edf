"""SRAM accesses a kernel plans before it knows the words' addresses.

A kernel reserves a READ's or a WRITE's queue slot and stream registers while it plans a step
(a GEMM tile, a reduction row); only when the whole step fits does it allocate the words, in the
order the step reads or writes them (so that consecutive words form REPEAT runs), and put the
instructions into the slots it holds."""

from typing import NamedTuple

from isa.formats import encode
from isa.geometry import QueueKind
from isa.opcodes import Direction, MemReadOp, MemWriteOp
from .tensors import Tensor

__all__ = ["Read", "Write", "place_read", "place_write"]


class _Access(NamedTuple):
    """Plane ``plane`` of vector ``vector`` of ``tensor``, accessed in ``cycle`` by MEM slice
    ``slice`` on ``stream`` of ``direction``."""
    tensor: Tensor
    vector: int
    plane: int
    cycle: int
    slice: int
    stream: int
    direction: Direction


class Read(_Access):
    """A planned READ of a word the host loads (allocated among words never used)."""


class Write(_Access):
    """A planned WRITE (its word allocated among words free by its cycle)."""


def place_read(calendar, read, *, reuse=False):
    """Allocate ``read``'s word, record it and put the READ into the slot held for it; returns
    the word's address. With ``reuse``, a word the tensor already stores in the same slice is
    read again instead (otherwise every read gets a copy of its own)."""
    tensor = read.tensor
    if reuse and tensor.has(read.vector, read.plane) and \
            tensor.location(read.vector, read.plane)[0] == read.slice:
        address = tensor.location(read.vector, read.plane)[1]
    else:
        address = calendar.sram.allocate(read.slice)
        tensor.place(read.vector, read.plane, read.slice, address)
    tensor.read(read.cycle)
    unit = calendar.plan.mem_units[read.slice]
    calendar.place(f"{unit.name}.rd", read.cycle, encode(
        QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=read.stream,
        dir=read.direction))
    return address


def place_write(calendar, write, address=None):
    """Allocate ``write``'s word (unless its ``address`` is given: a word of a block the kernel
    allocated), record it (written in its cycle) and put the WRITE into the slot held for it;
    returns the word's address."""
    if address is None:
        address = calendar.sram.allocate(write.slice, after=write.cycle)
    write.tensor.place(write.vector, write.plane, write.slice, address, written=write.cycle)
    unit = calendar.plan.mem_units[write.slice]
    calendar.place(f"{unit.name}.wr", write.cycle, encode(
        QueueKind.MEM_WRITE, MemWriteOp.WRITE, addr=address, stream=write.stream,
        dir=write.direction))
    return address

"""An instruction's predecoded bits: what an instruction queue needs to know of a word to
decide whether to advance, worked out when the host writes the word.

A queue's next read address waits for its decision to advance, which waits for the word the
memory reads: so the queue's memory keeps these bits beside each word (a 72-bit block-RAM word
has room beside a 64-bit instruction), and the decision compares nothing wide. The host
interface works them out in the cycle it registers a transfer's word and passes them with it
(:class:`~hdl.host.TransferRequestSignature`), so a write reaches every queue's memory through
wires only (:class:`~hdl.icu.InstructionControl`).
"""

from amaranth import *
from amaranth.lib import data, enum

from isa.formats import FORMATS, WORD_BITS
from isa.opcodes import ControlOp, FIRST_UNIT_OPCODE, OPCODE_BITS

__all__ = ["Kind", "PREDECODED", "STORED_BITS", "predecode"]


class Kind(enum.Enum, shape=3):
    """What a queue does with an instruction (one kind per :class:`~isa.opcodes.ControlOp`,
    by name, and two more)."""
    HALT = 0
    NOP = 1
    REPEAT = 2
    SYNC = 3
    NOTIFY = 4
    ILLEGAL = 5         # a control opcode no instruction has
    UNIT = 6            # handed to the unit


#: The predecoded bits of one instruction word.
PREDECODED = data.StructLayout({
    "kind": Kind,
    "count_zero": 1,    # NOP's or REPEAT's count is 0, 1 or 2
    "count_one": 1,
    "count_two": 1,
    "gap_zero": 1,      # REPEAT's gap is 0
})

#: Bits of an instruction memory's word: the instruction, then its :data:`PREDECODED` bits.
STORED_BITS = WORD_BITS + PREDECODED.size


def predecode(m, word, *, name="predecoded"):
    """The :data:`PREDECODED` bits (a view, driven in ``m``'s comb domain) of the instruction
    in the low :data:`~isa.formats.WORD_BITS` bits of ``word``."""
    op = word[:OPCODE_BITS]
    nop = data.View(FORMATS["count"].layout, word[:WORD_BITS])
    rep = data.View(FORMATS["repeat"].layout, word[:WORD_BITS])
    bits = Signal(PREDECODED, name=name)
    count = Mux(op == ControlOp.NOP.value, nop.count, rep.count)
    kind = Kind.ILLEGAL
    for control in ControlOp:
        kind = Mux(op == control.value, Kind[control.name], kind)
    m.d.comb += [
        bits.kind.eq(Mux(op >= FIRST_UNIT_OPCODE, Kind.UNIT, kind)),
        bits.count_zero.eq(count == 0),
        bits.count_one.eq(count == 1),
        bits.count_two.eq(count == 2),
        bits.gap_zero.eq(rep.gap == 0),
    ]
    return bits

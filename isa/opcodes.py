"""Opcodes and small field enumerations, as typed Amaranth enums (usable in plain Python too).

Every instruction word starts with a 6-bit opcode. Opcodes below :data:`FIRST_UNIT_OPCODE` are
control instructions that every queue's :class:`~hdl.icu.InstructionControl` executes itself;
opcodes from :data:`FIRST_UNIT_OPCODE` up mean different things to different queue kinds
(:class:`~isa.geometry.QueueKind`), and each kind has its own enumeration below. An opcode a
queue kind does not define is illegal on that queue.
"""

from amaranth.lib import enum

__all__ = [
    "OPCODE_BITS", "OPCODE_MASK", "FIRST_UNIT_OPCODE", "opcode_of", "ControlOp", "MemReadOp",
    "MemWriteOp", "VectorOp", "MatrixLoadOp", "MatrixOp", "SwitchOp", "LinkOp", "UNIT_OPCODES",
    "DType", "Direction", "OperandKind", "IMMEDIATE_INDEX",
]

OPCODE_BITS = 6
#: The opcode field of an instruction word (bits 5:0).
OPCODE_MASK = (1 << OPCODE_BITS) - 1
#: Opcodes from this one up are unit instructions; below it, control instructions.
FIRST_UNIT_OPCODE = 8


def opcode_of(word):
    """The opcode of the 64-bit instruction ``word``."""
    return word & OPCODE_MASK


class ControlOp(enum.Enum, shape=OPCODE_BITS):
    """Executed by the instruction queue itself, on every queue kind."""
    HALT = 0    #: stop this queue; opcode 0 so that an empty instruction memory halts at once
    NOP = 1     #: idle for ``count`` cycles (``count`` >= 1)
    REPEAT = 2  #: re-issue the last unit instruction ``count`` times, offset += ``stride`` each,
                #: each re-issue after ``gap`` idle cycles
    SYNC = 3    #: wait for a NOTIFY (see :mod:`isa.timing`)
    NOTIFY = 4  #: release every queue waiting in SYNC


class MemReadOp(enum.Enum, shape=OPCODE_BITS):
    READ = 8    #: SRAM[addr] -> stream


class MemWriteOp(enum.Enum, shape=OPCODE_BITS):
    WRITE = 8   #: stream -> SRAM[addr]


class VectorOp(enum.Enum, shape=OPCODE_BITS):
    """VXM ALU operations; their arithmetic is defined in :mod:`golden.vector`."""
    MOV = 8     #: a, converted to the destination type by wrapping (widen / truncate)
    MOVS = 9    #: a, converted to the destination type with saturation
    ADD = 10
    ADDS = 11
    SUB = 12
    SUBS = 13
    MUL = 14
    MULS = 15
    MIN = 16
    MAX = 17
    AND = 18
    OR = 19
    XOR = 20
    SHL = 21    #: a << (b mod 32), wrapping
    SHR = 22    #: a >> (b mod 32), arithmetic
    RSHR = 23   #: a / 2**(b mod 32), rounded half away from zero (gemmlowp RoundingDivideByPOT)
    MULQ = 24   #: gemmlowp SaturatingRoundingDoublingHighMul(a, b)
    REQ = 25    #: TFLite MultiplyByQuantizedMultiplier(a, b, c), saturated to the dtype
    EQ = 26     #: 1 if a == b else 0
    LT = 27     #: 1 if a < b else 0
    LE = 28     #: 1 if a <= b else 0
    SEL = 29    #: a if c != 0 else b
    CLZ = 30    #: leading zeros of a as a 32-bit word (32 for 0)
    LUT = 31    #: table[a mod 256]
    LUTW = 32   #: table[imm + lane] = a, for every lane with imm + lane < 256
    LDC = 33    #: constant register [imm] = a


class MatrixLoadOp(enum.Enum, shape=OPCODE_BITS):
    """The matrix unit's weight loader (arithmetic: :mod:`golden.matrix`)."""
    LW = 8      #: shadow weight rows row .. row+count-1 <- streams stream .. stream+count-1
    LB = 9      #: byte planes row .. row+count-1 (of 0..3) of the shadow int32 bias <- streams


class MatrixOp(enum.Enum, shape=OPCODE_BITS):
    """The matrix unit's multiply/accumulate pipeline."""
    MM = 8      #: acc[acc] = (acc[acc] if accumulate else bias) + activation @ weights


class SwitchOp(enum.Enum, shape=OPCODE_BITS):
    """The switch unit: lane movement within a vector, and 16 x 16 transposes across streams
    (semantics: :mod:`golden.switch`)."""
    SHUP = 8    #: out[l] = in[l - amount], fill below
    SHDN = 9    #: out[l] = in[l + amount], fill above
    ROT = 10    #: out[l] = in[(l + amount) mod lanes]
    BCAST = 11  #: out[l] = in[amount]
    PERM = 12   #: out[l] = in[map[l]] (fill where map[l] >= lanes); map: uint16 on 2 streams
    TRANS = 13  #: 16 x 16 transpose of int8 blocks: out[dst + j][16 s + i] = in[src + i][16 s + j]


class LinkOp(enum.Enum, shape=OPCODE_BITS):
    """A chip-to-chip link port (timing: :mod:`isa.timing`, the link: :mod:`isa.link`)."""
    SEND = 8     #: the stream flowing towards this edge -> the link
    RECEIVE = 9  #: the vector the link delivers in this cycle -> a stream towards the centre


class DType(enum.Enum, shape=2):
    """Lane element types. A value of ``n`` bytes occupies ``n`` adjacent streams."""
    I8 = 0
    I16 = 1
    I32 = 2

    @property
    def bytes(self):
        return 1 << self.value

    @property
    def bits(self):
        return 8 << self.value

    @classmethod
    def of_bytes(cls, count):
        """The type of ``count`` bytes (1, 2 or 4)."""
        for dtype in cls:
            if dtype.bytes == count:
                return dtype
        raise ValueError(f"no element type is {count} bytes wide")


class Direction(enum.Enum, shape=1):
    EAST = 0    #: towards higher positions
    WEST = 1

    @property
    def opposite(self):
        return Direction.WEST if self is Direction.EAST else Direction.EAST

    @classmethod
    def between(cls, source, target):
        """The direction a value travels from position ``source`` to position ``target``."""
        if source == target:
            raise ValueError(f"positions {source} and {target} are the same: no direction")
        return cls.EAST if target > source else cls.WEST


class OperandKind(enum.Enum, shape=2):
    """Where a VXM operand comes from; the operand's 5-bit index says which one."""
    EAST = 0    #: eastward stream (base) index at the VXM's position
    WEST = 1    #: westward stream (base) index at the VXM's position
    ALU = 2     #: the result register of ALU ``index``
    CONST = 3   #: constant register ``index``, or the instruction's immediate if
                #: ``index == IMMEDIATE_INDEX``

    @classmethod
    def stream(cls, direction):
        """The operand kind of a stream of ``direction``."""
        return cls.EAST if direction is Direction.EAST else cls.WEST

    @property
    def direction(self):
        """The direction of a stream operand kind."""
        if self not in (OperandKind.EAST, OperandKind.WEST):
            raise ValueError(f"{self.name} operands are not streams")
        return Direction.EAST if self is OperandKind.EAST else Direction.WEST


IMMEDIATE_INDEX = 31

#: Every queue kind's unit-opcode enumeration.
UNIT_OPCODES = (MemReadOp, MemWriteOp, VectorOp, MatrixLoadOp, MatrixOp, SwitchOp, LinkOp)

assert max(op.value for op in ControlOp) < FIRST_UNIT_OPCODE
assert all(op.value >= FIRST_UNIT_OPCODE for ops in UNIT_OPCODES for op in ops)

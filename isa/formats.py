"""Instruction formats and the instruction table: one declaration, read by the RTL decoders,
the assembler, the golden simulator's decoder and the documentation.

Every instruction is one 64-bit word. Bits 5:0 hold the opcode (:mod:`isa.opcodes`); the
format's fields follow from bit 6 upwards in the order declared here.
"""

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
import enum as py_enum

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from .opcodes import (OPCODE_BITS, ControlOp, MemReadOp, MemWriteOp, VectorOp, MatrixLoadOp,
                      MatrixOp, SwitchOp, LinkOp, DType, Direction, OperandKind, IMMEDIATE_INDEX,
                      opcode_of)
from .config import OPERAND_INDEX_BITS
from .geometry import QueueKind

__all__ = [
    "WORD_BITS", "Operand", "Field", "Format", "FORMATS", "InstructionSpec", "INSTRUCTIONS",
    "spec_for", "Instruction", "decode", "encode", "OPERAND_LAYOUT",
    "EncodingError", "IMMEDIATE_BITS", "fits_immediate",
]

WORD_BITS = 64


class EncodingError(ValueError):
    """A field value that does not fit its field (named by ``field``)."""

    def __init__(self, message, field):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Operand:
    """A VXM operand selector: a stream base, an ALU result, a constant register or the
    immediate."""
    kind: OperandKind
    index: int

    def __str__(self):
        if self.kind is OperandKind.EAST:
            return f"e{self.index}"
        if self.kind is OperandKind.WEST:
            return f"w{self.index}"
        if self.kind is OperandKind.ALU:
            return f"alu{self.index}"
        if self.index == IMMEDIATE_INDEX:
            return "imm"
        return f"c{self.index}"

    @classmethod
    def immediate(cls):
        return cls(OperandKind.CONST, IMMEDIATE_INDEX)

    @classmethod
    def stream(cls, direction, index):
        """The stream (group) at ``index`` of ``direction``, at the VXM's position."""
        return cls(OperandKind.stream(direction), index)

    @classmethod
    def alu(cls, index):
        """The result register of ALU ``index``."""
        return cls(OperandKind.ALU, index)

    @classmethod
    def const(cls, index):
        """Constant register ``index``."""
        return cls(OperandKind.CONST, index)


#: Amaranth layout of an :class:`Operand` (7 bits).
OPERAND_LAYOUT = data.StructLayout({"index": OPERAND_INDEX_BITS, "kind": OperandKind})


@dataclass(frozen=True)
class Field:
    """One instruction field.

    ``shape`` is a width for unsigned fields, ``-width`` for two's-complement signed fields, an
    enum class, or :class:`Operand`.
    """
    name: str
    shape: object
    doc: str = ""

    @property
    def width(self):
        if self.shape is Operand:
            return OPERAND_LAYOUT.size
        if isinstance(self.shape, int):
            return abs(self.shape)
        return self.shape.as_shape().width

    @property
    def signed(self):
        return isinstance(self.shape, int) and self.shape < 0

    @property
    def amaranth_shape(self):
        if self.shape is Operand:
            return OPERAND_LAYOUT
        if isinstance(self.shape, int):
            return signed(self.width) if self.signed else unsigned(self.width)
        return self.shape

    def encode(self, value):
        """``value`` as the field's raw bits; raises :class:`EncodingError` if it does not fit."""
        if self.shape is Operand:
            if not isinstance(value, Operand):
                raise EncodingError(f"field {self.name} needs an operand, not {value!r}",
                                    self.name)
            if not 0 <= value.index < 32:
                raise EncodingError(f"operand index {value.index} does not fit field {self.name}",
                                    self.name)
            return value.kind.value << 5 | value.index
        if isinstance(self.shape, type) and issubclass(self.shape, py_enum.Enum):
            if not isinstance(value, self.shape):
                raise EncodingError(f"field {self.name} needs a {self.shape.__name__}, "
                                    f"not {value!r}", self.name)
            return value.value
        if not isinstance(value, int) or isinstance(value, bool):
            raise EncodingError(f"field {self.name} needs an integer, not {value!r}", self.name)
        lo, hi = ((-(1 << (self.width - 1)), (1 << (self.width - 1)) - 1) if self.signed
                  else (0, (1 << self.width) - 1))
        if not lo <= value <= hi:
            raise EncodingError(f"value {value} does not fit the {self.width}-bit "
                                f"{'signed' if self.signed else 'unsigned'} field {self.name} "
                                f"({lo}..{hi})", self.name)
        return value & ((1 << self.width) - 1)

    def decode(self, raw):
        """The field's value from its raw bits. Enum codes with no member decode to the raw int."""
        if self.shape is Operand:
            return Operand(OperandKind(raw >> 5), raw & 31)
        if isinstance(self.shape, type) and issubclass(self.shape, py_enum.Enum):
            try:
                return self.shape(raw)
            except ValueError:
                return raw
        if self.signed and raw >> (self.width - 1):
            return raw - (1 << self.width)
        return raw


@dataclass(frozen=True)
class Format:
    """A field list after the opcode. ``offset`` names the field REPEAT's stride adds to."""
    name: str
    fields: tuple
    offset: str = None

    def __post_init__(self):
        used = OPCODE_BITS + sum(f.width for f in self.fields)
        assert used <= WORD_BITS, f"format {self.name} needs {used} bits"
        assert self.offset is None or self.offset in {f.name for f in self.fields}

    @cached_property
    def positions(self):
        """``{field name: (lsb, Field)}``."""
        result, lsb = {}, OPCODE_BITS
        for f in self.fields:
            result[f.name] = (lsb, f)
            lsb += f.width
        return result

    @cached_property
    def layout(self):
        """An Amaranth layout of the whole 64-bit word (``op`` plus this format's fields)."""
        members = {"op": data.Field(OPCODE_BITS, 0)}
        for name, (lsb, f) in self.positions.items():
            members[name] = data.Field(f.amaranth_shape, lsb)
        return data.FlexibleLayout(WORD_BITS, members)

    def pack(self, opcode, values):
        word = opcode
        for name, (lsb, f) in self.positions.items():
            word |= f.encode(values[name]) << lsb
        return word

    def unpack(self, word):
        return {name: f.decode((word >> lsb) & ((1 << f.width) - 1))
                for name, (lsb, f) in self.positions.items()}


_STREAM = Field("stream", 5, "stream index (base index for multi-byte types)")
_DIR = Field("dir", Direction, "stream direction")

FORMATS = {f.name: f for f in [
    Format("none", ()),
    Format("count", (Field("count", 32, "cycles to idle, >= 1"),)),
    Format("repeat", (Field("count", 24, "re-issues, >= 1"),
                      Field("stride", -24, "added to the offset field at each re-issue"),
                      Field("gap", 10, "idle cycles before each re-issue"))),
    Format("mem", (Field("addr", 16, "SRAM word address"), _STREAM, _DIR), offset="addr"),
    Format("vector", (
        Field("stype", DType, "type the operands are read as"),
        Field("dtype", DType, "type of the result"),
        Field("a", Operand, "first operand"),
        Field("b", Operand, "second operand"),
        Field("c", Operand, "third operand"),
        Field("dst_en", 1, "also write the result to a stream"),
        Field("dst_dir", Direction, "direction of the result stream"),
        Field("dst_stream", 5, "result stream (base) index"),
        Field("imm", -26, "immediate operand; table base for LUTW; register for LDC"),
    ), offset="imm"),
    Format("load", (
        Field("row", 12, "first shadow weight row (LB: the first bias byte plane, 0..3)"),
        _STREAM,
        Field("count", 6, "rows (streams) loaded, 1 .. streams"),
        _DIR,
    ), offset="row"),
    Format("matmul", (
        Field("act_stream", 5, "activation stream"),
        Field("act_dir", Direction, "activation stream direction"),
        Field("acc", 12, "accumulator row"),
        Field("accumulate", 1, "add to the accumulator row (else start from the bias)"),
        Field("emit", 1, "send the new accumulator row (int32, four streams)"),
        Field("install", 1, "install the shadow weights and bias first"),
        Field("out_stream", 5, "result stream base (a multiple of 4)"),
        Field("out_dir", Direction, "result direction"),
    ), offset="acc"),
    Format("switch", (
        Field("src", 5, "source stream (base)"),
        Field("src_dir", Direction, "source direction"),
        Field("dst", 5, "destination stream (base)"),
        Field("dst_dir", Direction, "destination direction"),
        Field("dtype", DType, "element type: how many adjacent streams move together"),
        Field("amount", 12, "shift / rotation amount, or the lane BCAST copies"),
        Field("fill", -16, "value shifted in (sign-extended to dtype)"),
        Field("map", 5, "PERM: map stream base (uint16 lane indexes on map, map + 1)"),
        Field("map_dir", Direction, "PERM: map direction"),
    ), offset="amount"),
    Format("link", (Field("stream", 5, "stream index (its direction is the port's: towards "
                                       "the edge for SEND, towards the centre for RECEIVE)"),)),
]}


@dataclass(frozen=True)
class InstructionSpec:
    """One row of the instruction table.

    ``operands`` names the VXM operand fields the instruction reads; ``result`` says whether it
    writes the ALU result register (and may write a stream).
    """
    op: object
    format: Format
    queues: frozenset
    summary: str
    operands: tuple = ()
    result: bool = True

    @property
    def mnemonic(self):
        return self.op.name.lower()


_ALL_QUEUES = frozenset(QueueKind)
_VXM = frozenset({QueueKind.VXM_ALU})
_SXM = frozenset({QueueKind.SXM})
_LINK = frozenset({QueueKind.LINK})


def _vector(op, operands, summary, result=True):
    return InstructionSpec(op, FORMATS["vector"], _VXM, summary, operands, result)


INSTRUCTIONS = (
    InstructionSpec(ControlOp.HALT, FORMATS["none"], _ALL_QUEUES, "stop this queue"),
    InstructionSpec(ControlOp.NOP, FORMATS["count"], _ALL_QUEUES, "idle for count cycles"),
    InstructionSpec(ControlOp.REPEAT, FORMATS["repeat"], _ALL_QUEUES,
                    "re-issue the last unit instruction count times, adding stride to its "
                    "offset field each time, each re-issue after gap idle cycles"),
    InstructionSpec(ControlOp.SYNC, FORMATS["none"], _ALL_QUEUES, "wait for a NOTIFY"),
    InstructionSpec(ControlOp.NOTIFY, FORMATS["none"], _ALL_QUEUES,
                    "release the queues waiting in SYNC"),
    InstructionSpec(MemReadOp.READ, FORMATS["mem"], frozenset({QueueKind.MEM_READ}),
                    "SRAM[addr] -> stream"),
    InstructionSpec(MemWriteOp.WRITE, FORMATS["mem"], frozenset({QueueKind.MEM_WRITE}),
                    "stream -> SRAM[addr]"),
    _vector(VectorOp.MOV, "a", "a, wrapped to dtype"),
    _vector(VectorOp.MOVS, "a", "a, saturated to dtype"),
    _vector(VectorOp.ADD, "ab", "a + b, wrapping"),
    _vector(VectorOp.ADDS, "ab", "a + b, saturating"),
    _vector(VectorOp.SUB, "ab", "a - b, wrapping"),
    _vector(VectorOp.SUBS, "ab", "a - b, saturating"),
    _vector(VectorOp.MUL, "ab", "a * b, wrapping"),
    _vector(VectorOp.MULS, "ab", "a * b, saturating"),
    _vector(VectorOp.MIN, "ab", "min(a, b)"),
    _vector(VectorOp.MAX, "ab", "max(a, b)"),
    _vector(VectorOp.AND, "ab", "a & b"),
    _vector(VectorOp.OR, "ab", "a | b"),
    _vector(VectorOp.XOR, "ab", "a ^ b"),
    _vector(VectorOp.SHL, "ab", "a << (b mod 32), wrapping"),
    _vector(VectorOp.SHR, "ab", "a >> (b mod 32), arithmetic"),
    _vector(VectorOp.RSHR, "ab", "a / 2**(b mod 32), rounding half away from zero"),
    _vector(VectorOp.MULQ, "ab", "SaturatingRoundingDoublingHighMul(a, b), saturated"),
    _vector(VectorOp.REQ, "abc", "MultiplyByQuantizedMultiplier(a, b, c), saturated"),
    _vector(VectorOp.EQ, "ab", "1 if a == b else 0"),
    _vector(VectorOp.LT, "ab", "1 if a < b else 0"),
    _vector(VectorOp.LE, "ab", "1 if a <= b else 0"),
    _vector(VectorOp.SEL, "abc", "a if c != 0 else b"),
    _vector(VectorOp.CLZ, "a", "count leading zeros of a as a 32-bit word"),
    _vector(VectorOp.LUT, "a", "this ALU's table[a mod 256], wrapped to dtype"),
    _vector(VectorOp.LUTW, "a", "this ALU's table[imm + lane] = a (lanes with imm + lane < 256)",
            result=False),
    _vector(VectorOp.LDC, "a", "constant register [imm] = a", result=False),
    InstructionSpec(MatrixLoadOp.LW, FORMATS["load"], frozenset({QueueKind.MXM_LOAD}),
                    "shadow weight rows row .. row+count-1 <- streams stream .. stream+count-1"),
    InstructionSpec(MatrixLoadOp.LB, FORMATS["load"], frozenset({QueueKind.MXM_LOAD}),
                    "byte planes row .. row+count-1 of the shadow int32 bias <- streams stream "
                    ".. stream+count-1"),
    InstructionSpec(MatrixOp.MM, FORMATS["matmul"], frozenset({QueueKind.MXM_COMPUTE}),
                    "acc[acc] = (acc[acc] if accumulate else bias) + activation @ weights"),
    InstructionSpec(SwitchOp.SHUP, FORMATS["switch"], _SXM, "out[l] = in[l - amount] (fill)"),
    InstructionSpec(SwitchOp.SHDN, FORMATS["switch"], _SXM, "out[l] = in[l + amount] (fill)"),
    InstructionSpec(SwitchOp.ROT, FORMATS["switch"], _SXM, "out[l] = in[(l + amount) mod lanes]"),
    InstructionSpec(SwitchOp.BCAST, FORMATS["switch"], _SXM, "out[l] = in[amount]"),
    InstructionSpec(SwitchOp.PERM, FORMATS["switch"], _SXM, "out[l] = in[map[l]] (fill)"),
    InstructionSpec(SwitchOp.TRANS, FORMATS["switch"], _SXM,
                    "16 x 16 int8 transpose: out[dst + j][16 s + i] = in[src + i][16 s + j]"),
    InstructionSpec(LinkOp.SEND, FORMATS["link"], _LINK,
                    "stream (flowing towards this edge) -> the link"),
    InstructionSpec(LinkOp.RECEIVE, FORMATS["link"], _LINK,
                    "the vector the link delivers in this cycle -> stream (towards the centre)"),
)

_BY_KIND = {}
for _spec in INSTRUCTIONS:
    for _kind in _spec.queues:
        _BY_KIND.setdefault(_kind, {})[_spec.op.value] = _spec


def spec_for(queue_kind, opcode):
    """The :class:`InstructionSpec` for ``opcode`` on ``queue_kind``, or ``None`` if illegal."""
    return _BY_KIND.get(queue_kind, {}).get(opcode)


@dataclass(frozen=True)
class Instruction:
    """A decoded (or to-be-encoded) instruction: its table row and its field values."""
    spec: InstructionSpec
    fields: dict = field(default_factory=dict)

    @property
    def op(self):
        return self.spec.op

    def __getattr__(self, name):
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def encode(self):
        values = {name: 0 for name in self.spec.format.positions}
        for name, (lsb, f) in self.spec.format.positions.items():
            if f.shape is Operand:
                values[name] = Operand(OperandKind.EAST, 0)
            elif isinstance(f.shape, type):
                values[name] = f.shape(0)
        values.update(self.fields)
        return self.spec.format.pack(self.spec.op.value, values)


def decode(queue_kind, word):
    """Decode a 64-bit word for ``queue_kind``; ``None`` if its opcode is illegal there."""
    spec = spec_for(queue_kind, opcode_of(word))
    if spec is None:
        return None
    return Instruction(spec, spec.format.unpack(word))


def encode(queue_kind, op, **fields):
    """The 64-bit word of instruction ``op`` on a queue of ``queue_kind``; fields not given are
    zero (the first member of an enumerated field, operand ``e0``). Raises
    :class:`EncodingError` for a value that does not fit its field and :class:`ValueError` for
    an instruction the queue kind does not execute."""
    return _encode(queue_kind, op, tuple(sorted(fields.items())))


@lru_cache(maxsize=1 << 16)
def _encode(queue_kind, op, fields):
    spec = spec_for(queue_kind, op.value)
    if spec is None or spec.op is not op:
        raise ValueError(f"{op.name} is not an instruction of {queue_kind.name} queues")
    return Instruction(spec, dict(fields)).encode()


#: Width of the VXM's signed immediate (the ``imm`` field of the vector format).
IMMEDIATE_BITS = FORMATS["vector"].positions["imm"][1].width


def fits_immediate(value):
    """Whether ``value`` fits the VXM's signed immediate."""
    return -(1 << (IMMEDIATE_BITS - 1)) <= value < (1 << (IMMEDIATE_BITS - 1))

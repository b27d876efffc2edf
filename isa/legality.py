"""Which instructions are legal in a configuration, and which error flag an illegal one raises.

The RTL decoders implement these rules; the golden simulator and the assembler call
:func:`check` directly. An illegal instruction occupies its queue for one cycle, has no other
effect, and raises the flag returned here.
"""

from .config import LUT_ENTRIES
from .formats import decode
from .geometry import QueueKind
from .host import ErrorFlag
from .opcodes import (ControlOp, DType, OperandKind, IMMEDIATE_INDEX, MatrixLoadOp, SwitchOp,
                      VectorOp)
from .config import SUPERLANE

__all__ = ["check", "check_word", "stream_group_ok"]


def stream_group_ok(config, base, dtype):
    """Whether a value of ``dtype`` can occupy streams ``base`` .. ``base + bytes - 1``:
    naturally aligned and inside the configured stream count."""
    if not isinstance(dtype, DType):
        return False
    return base % dtype.bytes == 0 and base + dtype.bytes <= config.streams


def _operand_ok(config, operand, dtype):
    if operand.kind in (OperandKind.EAST, OperandKind.WEST):
        return stream_group_ok(config, operand.index, dtype)
    if operand.kind is OperandKind.ALU:
        return operand.index < config.vxm_alus
    return operand.index < config.vxm_consts or operand.index == IMMEDIATE_INDEX


def check(config, queue_kind, instr, offset=0, *, has_last=True):
    """The :class:`~isa.host.ErrorFlag` that ``instr`` raises, or ``ErrorFlag(0)`` if legal.

    ``instr`` is a decoded :class:`~isa.formats.Instruction` or ``None`` (an opcode the queue
    kind does not define). ``offset`` is what REPEAT has accumulated into the offset field.
    ``has_last`` says whether the queue has issued a unit instruction that REPEAT can re-issue.
    """
    ok = ErrorFlag(0)
    if instr is None:
        return ErrorFlag.ILLEGAL_OPCODE
    op = instr.op
    if isinstance(op, ControlOp):
        if op is ControlOp.NOP and instr.count == 0:
            return ErrorFlag.BAD_OPERAND
        if op is ControlOp.REPEAT and (instr.count == 0 or not has_last):
            return ErrorFlag.BAD_OPERAND
        return ok

    if queue_kind in (QueueKind.MEM_READ, QueueKind.MEM_WRITE):
        if instr.stream >= config.streams:
            return ErrorFlag.BAD_OPERAND
        if not 0 <= instr.addr + offset < config.words:
            return ErrorFlag.ADDRESS_RANGE
        return ok

    if queue_kind is QueueKind.VXM_ALU:
        if not isinstance(instr.stype, DType) or not isinstance(instr.dtype, DType):
            return ErrorFlag.BAD_OPERAND
        for name in instr.spec.operands:
            if not _operand_ok(config, getattr(instr, name), instr.stype):
                return ErrorFlag.BAD_OPERAND
        if instr.spec.result:
            if instr.dst_en and not stream_group_ok(config, instr.dst_stream, instr.dtype):
                return ErrorFlag.BAD_OPERAND
        elif instr.dst_en:
            return ErrorFlag.BAD_OPERAND
        imm = instr.imm + offset
        if op is VectorOp.LDC and not 0 <= imm < config.vxm_consts:
            return ErrorFlag.BAD_OPERAND
        if op is VectorOp.LUTW and not 0 <= imm < LUT_ENTRIES:
            return ErrorFlag.BAD_OPERAND
        return ok

    if queue_kind is QueueKind.MXM_LOAD:
        row = instr.row + offset
        rows = 4 if op is MatrixLoadOp.LB else config.lanes
        if not (1 <= instr.count and instr.stream + instr.count <= config.streams and
                0 <= row and row + instr.count <= rows):
            return ErrorFlag.BAD_OPERAND
        return ok

    if queue_kind is QueueKind.MXM_COMPUTE:
        if instr.act_stream >= config.streams:
            return ErrorFlag.BAD_OPERAND
        if instr.emit and not stream_group_ok(config, instr.out_stream, DType.I32):
            return ErrorFlag.BAD_OPERAND
        if not 0 <= instr.acc + offset < config.mxm_acc_depth:
            return ErrorFlag.ADDRESS_RANGE
        return ok

    if queue_kind is QueueKind.SXM:
        if not isinstance(instr.dtype, DType):
            return ErrorFlag.BAD_OPERAND
        if op is SwitchOp.TRANS:
            block_ok = (instr.dtype is DType.I8 and config.transposes and
                        instr.src % SUPERLANE == 0 and instr.dst % SUPERLANE == 0 and
                        instr.src + SUPERLANE <= config.streams and
                        instr.dst + SUPERLANE <= config.streams)
            return ok if block_ok else ErrorFlag.BAD_OPERAND
        if not (stream_group_ok(config, instr.src, instr.dtype) and
                stream_group_ok(config, instr.dst, instr.dtype)):
            return ErrorFlag.BAD_OPERAND
        if op is SwitchOp.PERM:
            return ok if stream_group_ok(config, instr.map, DType.I16) else \
                ErrorFlag.BAD_OPERAND
        if not 0 <= instr.amount + offset < config.lanes:
            return ErrorFlag.BAD_OPERAND
        return ok

    if queue_kind is QueueKind.LINK:
        return ok if instr.stream < config.streams else ErrorFlag.BAD_OPERAND

    raise NotImplementedError(f"no legality rules for {queue_kind}")


def check_word(config, queue_kind, word, offset=0, *, has_last=True):
    """:func:`check` on an encoded 64-bit word."""
    return check(config, queue_kind, decode(queue_kind, word), offset, has_last=has_last)

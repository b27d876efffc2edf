"""The constant prologue: a 32-bit constant built from immediates into a VXM constant register.

The VXM immediate is 26 bits (:data:`~isa.formats.IMMEDIATE_BITS`); a wider constant is made in
one ALU by four operations, each reading the result of the one before::

    MOV  #(value >> 16)          ; the high half, sign-extended
    SHL  alu, #16
    OR   alu, #(value & 0xFFFF)
    LDC  alu @ register          ; visible from two cycles later
"""

from isa.formats import Operand, encode
from isa.geometry import QueueKind
from isa.opcodes import DType, VectorOp
from isa.timing import VXM_LATENCY

__all__ = ["WIDE_CONSTANT_CYCLES", "wide_constant_words", "place_wide_constant"]

#: Cycles from the first operation to the register being readable.
WIDE_CONSTANT_CYCLES = 4 * VXM_LATENCY


def wide_constant_words(value, alu, register):
    """The four words that load ``value`` into constant register ``register`` on ALU ``alu``,
    to issue :data:`~isa.timing.VXM_LATENCY` cycles apart."""
    me, imm = Operand.alu(alu), Operand.immediate()
    i32 = {"stype": DType.I32, "dtype": DType.I32}
    return [encode(QueueKind.VXM_ALU, VectorOp.MOV, a=imm, imm=value >> 16, **i32),
            encode(QueueKind.VXM_ALU, VectorOp.SHL, a=me, b=imm, imm=16, **i32),
            encode(QueueKind.VXM_ALU, VectorOp.OR, a=me, b=imm, imm=value & 0xFFFF, **i32),
            encode(QueueKind.VXM_ALU, VectorOp.LDC, a=me, imm=register, **i32)]


def place_wide_constant(calendar, value, register, alu, earliest):
    """Load ``value`` into ``register`` on ALU ``alu`` at the first cycle from ``earliest`` at
    which its four slots are free; returns the cycle from which the register holds it."""
    queue = f"vxm.alu{alu}"
    words = wide_constant_words(value, alu, register)
    cycle = earliest
    while not all(calendar.queue_free(queue, cycle + k * VXM_LATENCY)
                  for k in range(len(words))):
        cycle += 1
    for k, word in enumerate(words):
        calendar.issue(queue, cycle + k * VXM_LATENCY, word)
    return cycle + WIDE_CONSTANT_CYCLES

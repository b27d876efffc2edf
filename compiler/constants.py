"""Constants in the VXM: a 32-bit scalar built from immediates into a constant register, a
vector loaded from SRAM into a constant register, and a lookup table loaded into an ALU.

The VXM immediate is 26 bits (:data:`~isa.formats.IMMEDIATE_BITS`); a wider constant is made in
one ALU by four operations, each reading the result of the one before::

    MOV  #(value >> 16)          ; the high half, sign-extended
    SHL  alu, #16
    OR   alu, #(value & 0xFFFF)
    LDC  alu @ register          ; visible from two cycles later

each :func:`~isa.timing.vxm_latency` cycles after the one before (2 unless the ALUs are folded).

A vector (a per-lane constant, a chunk of a table) comes from SRAM: its four int32 planes are
read from four slices so that they reach the VXM together, where an ``LDC`` or a ``LUTW``
takes them.
"""

from isa.formats import Operand, encode
from isa.geometry import QueueKind
from isa.opcodes import DType, MemReadOp, VectorOp
from isa.timing import VXM_LATENCY, vxm_latency

__all__ = ["wide_constant_cycles", "wide_constant_words", "place_wide_constant",
           "place_vector_load", "place_table"]


def wide_constant_cycles(config):
    """Cycles from the first operation of a wide constant to its register being readable:
    three operations :func:`~isa.timing.vxm_latency` apart, then the LDC (which acts in its
    first cycle, folded or not)."""
    return 3 * vxm_latency(config) + VXM_LATENCY


def wide_constant_words(value, alu, register):
    """The four words that load ``value`` into constant register ``register`` on ALU ``alu``,
    to issue :func:`~isa.timing.vxm_latency` cycles apart."""
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
    apart = vxm_latency(calendar.config)
    cycle = earliest
    while not all(calendar.queue_free(queue, cycle + k * apart) for k in range(len(words))):
        cycle += 1
    for k, word in enumerate(words):
        calendar.issue(queue, cycle + k * apart, word)
    return cycle + wide_constant_cycles(calendar.config)


def place_vector_load(calendar, tensor, vector, alu, word, earliest):
    """Bring vector ``vector`` of the int32 ``tensor`` (its four planes in four slices of one
    hemisphere) to the VXM and issue ``word(operand)`` on ALU ``alu`` in that cycle (an ``LDC``
    or a ``LUTW`` reading the vector as ``operand``), at the first cycle from ``earliest`` at
    which the ALU, the slices' read ports and a stream group are free. Returns that cycle."""
    plan = calendar.plan
    slices = [tensor.location(vector, plane)[0] for plane in range(DType.I32.bytes)]
    sides = {plan.mem_units[s].hemisphere for s in slices}
    if len(sides) != 1:
        raise ValueError(f"vector {vector} of {tensor.name!r} has planes in both hemispheres")
    direction = sides.pop().toward_centre
    queue = f"vxm.alu{alu}"
    when = max(earliest, 0)
    while True:
        if calendar.queue_free(queue, when):
            for base in range(0, calendar.config.streams - DType.I32.bytes + 1, DType.I32.bytes):
                mark = calendar.checkpoint()
                reads = _read_planes(calendar, tensor, vector, when, base, direction)
                if reads is not None:
                    calendar.issue(queue, when, word(Operand.stream(direction, base)))
                    tensor.read(max(reads))
                    return when
                calendar.rollback(mark)
        when += 1


def _read_planes(calendar, tensor, vector, when, base, direction):
    """Reserve the READs that put ``tensor``'s vector on streams ``base ..`` at the VXM in
    ``when``; returns their cycles, or ``None`` if one does not fit (the caller rolls back)."""
    vxm = calendar.plan.vxm_unit.position
    reads = []
    for plane in range(DType.I32.bytes):
        slice_index, address = tensor.location(vector, plane)
        planned = calendar.plan_read(slice_index, vxm, when, direction, base + plane)
        if planned is None:
            return None
        read, transfer = planned
        calendar.reserve(transfer)
        calendar.issue(f"{calendar.plan.mem_units[slice_index].name}.rd", read, encode(
            QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=base + plane,
            dir=direction))
        reads.append(read)
    return reads


def place_table(calendar, name, tensor, alu, earliest):
    """Load the ``LUT_ENTRIES``-entry int32 table ``tensor`` (``1 x LUT_ENTRIES``, host-loaded)
    into ALU ``alu``'s lookup table, one ``LUTW`` per vector, from cycle ``earliest`` and after
    the last read of the table it holds; returns the cycle from which a ``LUT`` sees it."""
    held = calendar.table(alu)
    cycle = max(earliest, held[2] + 1 if held else 0)
    last = cycle
    for v in range(tensor.vectors):
        last = place_vector_load(calendar, tensor, v, alu, lambda operand, v=v: encode(
            QueueKind.VXM_ALU, VectorOp.LUTW, stype=DType.I32, dtype=DType.I32, a=operand,
            imm=v * tensor.lanes), cycle)
        cycle = last + 1
    ready = last + VXM_LATENCY      # a LUTW acts in its first cycle, folded or not
    calendar.set_table(alu, name, ready)
    return ready

"""The assembler: syntax, checks against the configuration, errors, disassembly round trip."""

import pytest
from hypothesis import given, settings, strategies as st

from compiler.asm import AsmError, assemble, disassemble
from isa import preset
from isa.formats import INSTRUCTIONS, Instruction, Operand, decode, spec_for
from isa.geometry import QueueKind, floorplan
from isa.opcodes import ControlOp, DType, Direction, MemReadOp, OperandKind, VectorOp

CONFIG = preset("tiny")
PLAN = floorplan(CONFIG)


def words(text, queue):
    program = assemble(text, CONFIG)
    return program.queues[PLAN.queue(queue).number]


def test_memory_and_control_instructions():
    program = words("""
        .queue mem_w1.rd       ; a comment
            nop 4
            read 0x10 -> e3
            repeat 7, 1
            sync
            notify
            halt
    """, "mem_w1.rd")
    kind = QueueKind.MEM_READ
    decoded = [decode(kind, w) for w in program]
    assert [d.op for d in decoded] == [ControlOp.NOP, MemReadOp.READ, ControlOp.REPEAT,
                                       ControlOp.SYNC, ControlOp.NOTIFY, ControlOp.HALT]
    assert decoded[0].count == 4
    assert (decoded[1].addr, decoded[1].stream, decoded[1].dir) == (16, 3, Direction.EAST)
    assert (decoded[2].count, decoded[2].stride) == (7, 1)


def test_vector_instruction_fields():
    [word] = words(".queue vxm.alu1\n  req.i32.i8 w4, c2, #-3 -> e1\n", "vxm.alu1")
    instr = decode(QueueKind.VXM_ALU, word)
    assert instr.op is VectorOp.REQ
    assert (instr.stype, instr.dtype) == (DType.I32, DType.I8)
    assert instr.a == Operand(OperandKind.WEST, 4)
    assert instr.b == Operand(OperandKind.CONST, 2)
    assert instr.c == Operand.immediate() and instr.imm == -3
    assert (instr.dst_en, instr.dst_dir, instr.dst_stream) == (1, Direction.EAST, 1)
    [word] = words(".queue vxm.alu0\n  ldc.i32 alu3 @ 5\n", "vxm.alu0")
    instr = decode(QueueKind.VXM_ALU, word)
    assert instr.op is VectorOp.LDC and instr.imm == 5 and instr.dst_en == 0


@pytest.mark.parametrize("text, line, message, token", [
    ("read 0 -> e0", 1, "instruction outside a .queue section", "read"),
    (".queue mem_w9.rd", 1, "no such queue in configuration 'tiny':", "mem_w9.rd"),
    (".section foo", 1, "unknown directive", ".section"),
    (".queue mem_w0.rd\nfetch 3", 2, "unknown instruction", "fetch"),
    (".queue mem_w0.rd\nwrite e0 -> 3", 2, "instruction not available on queue mem_w0.rd",
     "write"),
    (".queue mem_w0.rd\nread 8192 -> e0", 2, "illegal in configuration 'tiny': ADDRESS_RANGE:",
     "read 8192 -> e0"),
    (".queue mem_w0.rd\nread 8190 -> e0\nrepeat 3, 1", 3,
     "illegal in configuration 'tiny': ADDRESS_RANGE (repeated with offset 2):", "repeat 3, 1"),
    (".queue mem_w0.rd\nread 0 -> e16", 2, "illegal in configuration 'tiny': BAD_OPERAND:",
     "read 0 -> e16"),
    (".queue mem_w0.rd\nread 0 -> x1", 2, "expected a stream (e<n> or w<n>), got", "x1"),
    (".queue mem_w0.rd\nrepeat 2, 1", 2, "REPEAT needs a count >= 1 and a unit instruction",
     "repeat 2, 1"),
    (".queue mem_w0.rd\nnop 0", 2, "NOP needs a count >= 1:", "nop 0"),
    (".queue mem_w0.rd\nnop x", 2, "expected a number, got", "x"),
    (".queue vxm.alu0\nadd e0, e1", 2, "expected a type suffix", "add"),
    (".queue vxm.alu0\nadd.i8 e0", 2, "add takes 2 operand(s), got", "e0"),
    (".queue vxm.alu0\nadd.i32 e2, e0", 2, "illegal in configuration 'tiny': BAD_OPERAND:",
     "add.i32 e2, e0"),
    (".queue vxm.alu0\nadd.i8 #1, #2", 2, "an instruction has one immediate; second value",
     "#2"),
    (".queue vxm.alu0\nldc.i32 e0", 2, "ldc needs '@ <index>' in", "e0"),
    (".queue vxm.alu0\nldc.i32 e0 @ 1 -> e4", 2, "ldc has no result to send:", "-> e4"),
    (".queue vxm.alu0\nadd.i8 e0, e1 @ 3", 2, "add takes no '@' field:", "@ 3"),
    (".queue vxm.alu0\nmov.i8 #99999999 -> e0", 2,
     "value 99999999 does not fit the 26-bit signed field imm (-33554432..33554431):",
     "#99999999"),
    (".queue mem_w0.rd\nread 70000 -> e0", 2,
     "value 70000 does not fit the 16-bit unsigned field addr (0..65535):", "70000"),
])
def test_errors_name_file_line_and_token(text, line, message, token):
    with pytest.raises(AsmError) as error:
        assemble(text, CONFIG, filename="prog.s")
    assert error.value.filename == "prog.s"
    assert error.value.line == line
    assert error.value.token == token
    assert str(error.value).startswith(f"prog.s:{line}: {message}")


def test_queue_depth_is_enforced():
    text = ".queue mem_w0.rd\n" + "nop 1\n" * (CONFIG.queue_depth + 1)
    with pytest.raises(AsmError, match=f"more than the queue depth {CONFIG.queue_depth}"):
        assemble(text, CONFIG)


_operands = st.builds(Operand, st.sampled_from([OperandKind.EAST, OperandKind.WEST]),
                      st.sampled_from([0, 4, 8]))


@settings(max_examples=200, deadline=None)
@given(op=st.sampled_from([s.op for s in INSTRUCTIONS if isinstance(s.op, VectorOp) and
                           s.op not in (VectorOp.LUTW, VectorOp.LDC)]),
       stype=st.sampled_from(list(DType)), dtype=st.sampled_from(list(DType)),
       a=_operands, b=_operands, c=_operands, dst=st.sampled_from([0, 4, 8, 12]),
       dst_dir=st.sampled_from(list(Direction)), send=st.booleans())
def test_disassembly_assembles_back_to_the_same_words(op, stype, dtype, a, b, c, dst,
                                                      dst_dir, send):
    spec = spec_for(QueueKind.VXM_ALU, op.value)
    fields = {"stype": stype, "dtype": dtype, "a": Operand(OperandKind.EAST, 0),
              "b": Operand(OperandKind.EAST, 0), "c": Operand(OperandKind.EAST, 0),
              "dst_en": int(send), "dst_dir": dst_dir if send else Direction.EAST,
              "dst_stream": dst if send else 0, "imm": 0}
    fields.update({name: operand for name, operand in zip("abc", (a, b, c))
                   if name in spec.operands})
    word = Instruction(spec, fields).encode()
    program = assemble(".queue vxm.alu0\n", CONFIG)
    program.queues[PLAN.queue("vxm.alu0").number] = [word]
    again = assemble(disassemble(program), CONFIG)
    assert again.queues == program.queues

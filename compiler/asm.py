"""Assembler and disassembler for the readable text form of per-queue programs.

Syntax (one instruction per line; ``;`` starts a comment)::

    .queue mem_w0.rd            ; following instructions go to this queue
        read 16 -> e3           ; SRAM[16] onto eastward stream 3
        repeat 7, 1             ; 7 more reads: SRAM[17] .. SRAM[23]
        halt
    .queue vxm.alu0
        nop 9
        add.i8 e3, e4 -> w2     ; stype = dtype = i8
        add.i8.i32 e3, #-5 -> w4 ; operands read as i8, result i32, immediate -5
        req.i32.i8 alu1, c0, c1 -> e0
        lutw.i32 e0 @ 16        ; table entries 16 .. 16+lanes-1
        ldc.i32 w4 @ 3          ; constant register 3
    .queue mem_e0.wr
        write w2 -> 32          ; westward stream 2 into SRAM[32]

Operands: ``e<n>``/``w<n>`` stream (base) index, ``alu<n>`` an ALU's result register, ``c<n>`` a
constant register, ``#<int>`` the immediate; ``@ <int>`` sets the immediate field directly
(LUTW's table base, LDC's register). Numbers are decimal or ``0x`` hex.

Every instruction is checked against the configuration (:func:`isa.legality.check`), REPEAT
included: the assembler follows each queue's REPEAT offsets, so an address that a repeat walks
out of SRAM is rejected. Errors name the file, the line and the offending token.
"""

import re

from isa.formats import INSTRUCTIONS, Instruction, Operand, EncodingError, decode, spec_for
from isa.geometry import QueueKind, floorplan
from isa.legality import check
from isa.opcodes import ControlOp, DType, Direction, IMMEDIATE_INDEX, OperandKind, VectorOp
from .program import Program

__all__ = ["AsmError", "assemble", "disassemble", "format_instruction"]


class AsmError(ValueError):
    """An assembly error; the message reads ``file:line: message 'token'``."""

    def __init__(self, filename, line, message, token):
        self.filename, self.line, self.token = filename, line, token
        super().__init__(f"{filename}:{line}: {message} {token!r}")


_DTYPES = {t.name.lower(): t for t in DType}
_MNEMONICS = {}
for _spec in INSTRUCTIONS:
    for _kind in _spec.queues:
        _MNEMONICS.setdefault(_kind, {})[_spec.mnemonic] = _spec

_NUMBER = re.compile(r"^[+-]?(0x[0-9a-fA-F]+|\d+)$")


def _number(text):
    return int(text, 0) if _NUMBER.match(text) else None


def _stream(token):
    match = re.fullmatch(r"([ew])(\d+)", token)
    if not match:
        return None
    return (Direction.EAST if match[1] == "e" else Direction.WEST), int(match[2])


def _operand(token):
    """``(Operand, immediate or None)`` for a VXM operand token, or ``None``."""
    stream = _stream(token)
    if stream:
        kind = OperandKind.EAST if stream[0] is Direction.EAST else OperandKind.WEST
        return Operand(kind, stream[1]), None
    match = re.fullmatch(r"(alu|c)(\d+)", token)
    if match:
        kind = OperandKind.ALU if match[1] == "alu" else OperandKind.CONST
        return Operand(kind, int(match[2])), None
    if token.startswith("#") and _number(token[1:]) is not None:
        return Operand.immediate(), _number(token[1:])
    return None


class _Assembler:
    def __init__(self, config, filename):
        self.config = config
        self.filename = filename
        self.plan = floorplan(config)
        self.queues = {}
        self.queue = None
        self.line = 0
        # Per queue: the last unit instruction and its accumulated REPEAT offset.
        self.last = {}
        self.tokens = {}        # field name -> source token, for error messages

    def fail(self, message, token):
        raise AsmError(self.filename, self.line, message, token)

    def run(self, text):
        for self.line, raw in enumerate(text.splitlines(), start=1):
            line = raw.split(";", 1)[0].strip()
            if not line:
                continue
            if line.startswith("."):
                self.directive(line)
            else:
                if self.queue is None:
                    self.fail("instruction outside a .queue section", line.split()[0])
                self.queues[self.queue.number].append(self.instruction(line))
        for number, words in self.queues.items():
            if len(words) > self.config.queue_depth:
                self.line = 0
                self.fail(f"queue holds {len(words)} instructions, more than the queue depth "
                          f"{self.config.queue_depth}:", self.plan.queues[number].name)
        return Program(self.config, queues=self.queues)

    def directive(self, line):
        parts = line.split()
        if parts[0] != ".queue":
            self.fail("unknown directive", parts[0])
        if len(parts) != 2:
            self.fail(".queue takes one queue name", line)
        if not self.plan.has_queue(parts[1]):
            self.fail(f"no such queue in configuration {self.config.name!r}:", parts[1])
        self.queue = self.plan.queue(parts[1])
        self.queues.setdefault(self.queue.number, [])

    def instruction(self, line):
        head, _, rest = line.partition(" ")
        mnemonic, *types = head.split(".")
        spec = _MNEMONICS.get(self.queue.kind, {}).get(mnemonic.lower())
        if spec is None:
            if any(mnemonic.lower() in table for table in _MNEMONICS.values()):
                self.fail(f"instruction not available on queue {self.queue.name}", mnemonic)
            self.fail("unknown instruction", mnemonic)
        self.tokens = {}
        fields = self.fields(spec, types, rest.strip(), head)
        instr = Instruction(spec, fields)
        try:
            word = instr.encode()
        except EncodingError as error:
            self.fail(str(error) + ":", self.tokens.get(error.field, rest.strip() or head))
        self.validate(decode(self.queue.kind, word), line)
        return word

    def fields(self, spec, types, rest, head):
        op = spec.op
        if isinstance(op, ControlOp):
            args = [a.strip() for a in rest.split(",")] if rest else []
            if types:
                self.fail("control instructions take no type", head)
            self.tokens.update(zip(("count", "stride"), args))
            if op is ControlOp.NOP:
                return {"count": self.count(args, 1, head)[0]}
            if op is ControlOp.REPEAT:
                values = self.count(args, 2, head, optional=1)
                return {"count": values[0], "stride": values[1] if len(values) > 1 else 0}
            if args:
                self.fail(f"{spec.mnemonic} takes no operands", rest)
            return {}
        if self.queue.kind in (QueueKind.MEM_READ, QueueKind.MEM_WRITE):
            if types:
                self.fail("memory instructions take no type", head)
            source, arrow, target = rest.partition("->")
            if not arrow:
                self.fail("expected '->' in", rest)
            source, target = source.strip(), target.strip()
            address, stream_token = ((source, target) if op.name == "READ" else (target, source))
            stream = _stream(stream_token)
            if stream is None:
                self.fail("expected a stream (e<n> or w<n>), got", stream_token)
            if _number(address) is None:
                self.fail("expected an address, got", address)
            self.tokens.update(addr=address, stream=stream_token)
            return {"addr": _number(address), "stream": stream[1], "dir": stream[0]}
        return self.vector_fields(spec, types, rest, head)

    def count(self, args, most, token, optional=0):
        if not most - optional <= len(args) <= most:
            self.fail(f"expected {most - optional}..{most} numbers", token)
        values = [_number(a) for a in args]
        for a, v in zip(args, values):
            if v is None:
                self.fail("expected a number, got", a)
        return values

    def vector_fields(self, spec, types, rest, head):
        if not 1 <= len(types) <= 2 or any(t.lower() not in _DTYPES for t in types):
            self.fail("expected a type suffix (.i8, .i16, .i32, or .stype.dtype) in", head)
        stype = _DTYPES[types[0].lower()]
        dtype = _DTYPES[types[-1].lower()]
        body, arrow, target = rest.partition("->")
        body, at, base = body.partition("@")
        tokens = [t.strip() for t in body.split(",")] if body.strip() else []
        fields = {"stype": stype, "dtype": dtype, "dst_en": 0, "dst_dir": Direction.EAST,
                  "dst_stream": 0, "imm": 0}
        if len(tokens) != len(spec.operands):
            self.fail(f"{spec.mnemonic} takes {len(spec.operands)} operand(s), got",
                      body.strip() or head)
        immediate = None
        for name, token in zip(spec.operands, tokens):
            parsed = _operand(token)
            if parsed is None:
                self.fail("expected an operand (e<n>, w<n>, alu<n>, c<n>, #<int>), got", token)
            operand, value = parsed
            self.tokens[name] = token
            if value is not None:
                if immediate is not None and value != immediate:
                    self.fail("an instruction has one immediate; second value", token)
                immediate = value
                self.tokens["imm"] = token
            fields[name] = operand
        if at:
            if spec.op not in (VectorOp.LUTW, VectorOp.LDC):
                self.fail(f"{spec.mnemonic} takes no '@' field:", "@" + base)
            if _number(base.strip()) is None:
                self.fail("expected a number after '@', got", base.strip())
            fields["imm"] = _number(base.strip())
            self.tokens["imm"] = base.strip()
        elif spec.op in (VectorOp.LUTW, VectorOp.LDC):
            self.fail(f"{spec.mnemonic} needs '@ <index>' in", rest)
        if immediate is not None:
            fields["imm"] = immediate
        if arrow:
            if not spec.result:
                self.fail(f"{spec.mnemonic} has no result to send:", "->" + target)
            stream = _stream(target.strip())
            if stream is None:
                self.fail("expected a stream (e<n> or w<n>), got", target.strip())
            fields.update(dst_en=1, dst_dir=stream[0], dst_stream=stream[1])
            self.tokens["dst_stream"] = target.strip()
        return fields

    def validate(self, instr, line):
        kind = self.queue.kind
        number = self.queue.number
        if isinstance(instr.op, ControlOp):
            if instr.op is ControlOp.REPEAT:
                last = self.last.get(number)
                flag = check(self.config, kind, instr, has_last=last is not None)
                if flag:
                    self.fail(f"REPEAT needs a count >= 1 and a unit instruction to repeat "
                              f"({flag.name}):", line)
                word, offset = last
                for _ in range(instr.count):
                    offset += instr.stride
                    self.check_unit(decode(kind, word), offset, line, repeated=True)
                self.last[number] = (word, offset)
            elif check(self.config, kind, instr):
                self.fail("NOP needs a count >= 1:", line)
            return
        self.check_unit(instr, 0, line)
        self.last[number] = (instr.encode(), 0)

    def check_unit(self, instr, offset, line, repeated=False):
        flag = check(self.config, self.queue.kind, instr, offset)
        if flag:
            where = f" (repeated with offset {offset})" if repeated else ""
            self.fail(f"illegal in configuration {self.config.name!r}: {flag.name}{where}:",
                      line)


def assemble(text, config, filename="<string>"):
    """Assemble ``text`` for ``config``; returns a :class:`~compiler.program.Program`."""
    return _Assembler(config, filename).run(text)


def format_instruction(instr):
    """The text form of a decoded :class:`~isa.formats.Instruction`."""
    op = instr.op
    name = instr.spec.mnemonic
    if isinstance(op, ControlOp):
        if op is ControlOp.NOP:
            return f"nop {instr.count}"
        if op is ControlOp.REPEAT:
            return f"repeat {instr.count}, {instr.stride}"
        return name
    if op.name in ("READ", "WRITE"):
        stream = f"{'e' if instr.dir is Direction.EAST else 'w'}{instr.stream}"
        return (f"read {instr.addr} -> {stream}" if op.name == "READ"
                else f"write {stream} -> {instr.addr}")
    types = (f".{instr.stype.name.lower()}" if instr.stype == instr.dtype else
             f".{instr.stype.name.lower()}.{instr.dtype.name.lower()}")
    operands = []
    for operand_name in instr.spec.operands:
        operand = getattr(instr, operand_name)
        operands.append(f"#{instr.imm}" if (operand.kind is OperandKind.CONST and
                                            operand.index == IMMEDIATE_INDEX) else str(operand))
    text = f"{name}{types} {', '.join(operands)}"
    if op in (VectorOp.LUTW, VectorOp.LDC):
        text += f" @ {instr.imm}"
    if instr.spec.result and instr.dst_en:
        text += f" -> {'e' if instr.dst_dir is Direction.EAST else 'w'}{instr.dst_stream}"
    return text


def disassemble(program):
    """The text form of ``program``'s queues (assembles back to the same words)."""
    plan = floorplan(program.config)
    lines = []
    for number, words in sorted(program.queues.items()):
        queue = plan.queues[number]
        lines.append(f".queue {queue.name}")
        for word in words:
            instr = decode(queue.kind, word)
            if instr is None:
                lines.append(f"    ; illegal word 0x{word:016x}")
            else:
                lines.append(f"    {format_instruction(instr)}")
    return "\n".join(lines) + "\n"

"""Assembler and disassembler for the readable text form of per-queue programs.

Syntax (one instruction per line; ``;`` starts a comment)::

    .queue mem_w0.rd            ; following instructions go to this queue
        read 16 -> e3           ; SRAM[16] onto eastward stream 3
        repeat 7, 1             ; 7 more reads: SRAM[17] .. SRAM[23]
        read 40 -> e3
        repeat 3, 1, 15         ; SRAM[41] .. SRAM[43], one every 16 cycles (15 idle between)
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
    .queue mxm_w0.load
        lw 0, w0, 8             ; shadow weight rows 0..7 from westward streams 0..7
        lb 0, w8, 4             ; shadow int32 bias, byte planes 0..3 from westward streams 8..11
    .queue mxm_w0.mm
        mm w1 -> 5 install accumulate emit e4   ; acc row 5 += w1 @ weights; send it on e4..e7
    .queue sxm_e0.sxm
        rot.i32 w0 -> e4, 3     ; rotate int32 lanes by 3
        shup.i8 w0 -> e0, 1 fill -1
        perm.i8 w0 -> e1, map w2
        trans w0 -> e16         ; 16 x 16 int8 transpose
    .queue link_e0.port
        send 3                  ; the stream 3 flowing towards this edge -> the link
        receive 5               ; the vector the link delivers now -> stream 5 towards the centre

Two more directives make a file a program that runs (``lpu run``)::

    .data mem_w0 0 -64..63      ; SRAM words from mem_w0[0]: bytes in lane order, lanes a word
    .data mem_e3 16 table.npy   ; an integer array [words, lanes] (or flat), beside the file
    .output y mem_w1 4 4        ; read mem_w1[4..7] back after the run as region y

A ``.data`` value is a byte (-128 .. 255; ``a..b`` counts from ``a`` to ``b``); the values fill
whole words (a multiple of the lane count).

Operands: ``e<n>``/``w<n>`` stream (base) index, ``alu<n>`` an ALU's result register, ``c<n>`` a
constant register, ``#<int>`` the immediate; ``@ <int>`` sets the immediate field directly
(LUTW's table base, LDC's register). Numbers are decimal (ASCII digits, no leading zero) or
``0x`` hex. A switch instruction's type suffix is the element type moved together (TRANS takes
none: it moves int8).

Every instruction is checked against the configuration (:func:`isa.legality.check`), REPEAT
included: the assembler follows each queue's REPEAT offsets, so an address that a repeat walks
out of SRAM is rejected. Errors name the file, the line and the offending token.
"""

import re
from pathlib import Path

import numpy as np

from isa.formats import INSTRUCTIONS, Instruction, Operand, EncodingError, decode
from isa.geometry import QueueKind, floorplan
from isa.legality import check
from isa.opcodes import (ControlOp, DType, Direction, IMMEDIATE_INDEX, LinkOp, MatrixLoadOp,
                         MatrixOp, OperandKind, SwitchOp, VectorOp)
from .program import Program, Region

__all__ = ["AsmError", "UNSIGNED_NUMBER", "assemble", "disassemble", "format_instruction"]


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

#: The number syntax, without a sign (a pattern): ASCII digits only, no leading zero (``010``
#: would read as octal in C), so ``0``, a decimal without leading zeros or ``0x`` hex.
UNSIGNED_NUMBER = r"0x[0-9a-fA-F]+|0|[1-9][0-9]*"
_NUMBER = re.compile(rf"[+-]?({UNSIGNED_NUMBER})")


def _number(text):
    return int(text, 0) if _NUMBER.fullmatch(text) else None


def _stream(token):
    match = re.fullmatch(r"([ew])([0-9]+)", token)
    if not match:
        return None
    return (Direction.EAST if match[1] == "e" else Direction.WEST), int(match[2])


def _operand(token):
    """``(Operand, immediate or None)`` for a VXM operand token, or ``None``."""
    stream = _stream(token)
    if stream:
        kind = OperandKind.EAST if stream[0] is Direction.EAST else OperandKind.WEST
        return Operand(kind, stream[1]), None
    match = re.fullmatch(r"(alu|c)([0-9]+)", token)
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
        self.sram = []          # .data images: (slice, address, [n, lanes] uint8)
        self.outputs = []       # .output regions

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
        return Program(self.config, queues=self.queues, sram=self.sram, outputs=self.outputs)

    def directive(self, line):
        parts = line.split()
        handler = {".queue": self.queue_directive, ".data": self.data_directive,
                   ".output": self.output_directive}.get(parts[0])
        if handler is None:
            self.fail("unknown directive", parts[0])
        handler(line, parts)

    def slice_number(self, name):
        for number, unit in enumerate(self.plan.mem_units):
            if unit.name == name:
                return number
        self.fail(f"no such MEM slice in configuration {self.config.name!r}:", name)

    def words_at(self, address_token, count, what):
        """Check that ``count`` words from ``address_token`` lie in a slice; the address."""
        address = _number(address_token)
        if address is None or address < 0:
            self.fail(f"{what} address must be a non-negative number, not", address_token)
        if address + count > self.config.words:
            self.fail(f"{what} of {count} words from address {address} runs past the "
                      f"{self.config.words} words of a slice:", address_token)
        return address

    def data_directive(self, line, parts):
        if len(parts) < 4:
            self.fail(".data takes a slice, an address and values or a .npy file", line)
        number = self.slice_number(parts[1])
        lanes = self.config.lanes
        if len(parts) == 4 and parts[3].endswith(".npy"):
            values = self.npy(parts[3])
        else:
            values = []
            for token in parts[3:]:
                first, dots, last = token.partition("..")
                low, high = _number(first), _number(last) if dots else _number(first)
                if low is None or high is None or high < low:
                    self.fail("a .data value must be a number or a range a..b, not", token)
                if low < -128 or high > 255:
                    self.fail(".data values must be bytes (-128 .. 255), not", token)
                values.extend(range(low, high + 1))
            values = np.array(values, dtype=np.int64)
        if values.size == 0 or values.size % lanes:
            self.fail(f".data values must fill whole words of {lanes} lanes, not "
                      f"{values.size} values:", line)
        if values.min() < -128 or values.max() > 255:
            self.fail(".data values must be bytes (-128 .. 255):", line)
        words = (values.reshape(-1, lanes) & 0xFF).astype(np.uint8)
        address = self.words_at(parts[2], len(words), ".data")
        self.sram.append((number, address, words))

    def npy(self, token):
        path = Path(token)
        if not path.is_absolute() and self.filename != "<string>":
            path = Path(self.filename).parent / path
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            reason = "no such file" if not path.exists() else f"not a .npy array ({error})"
            self.fail(f".data file {path}: {reason}:", token)
        if not np.issubdtype(values.dtype, np.integer):
            self.fail(f".data file {path} holds {values.dtype} values, not integers:", token)
        if values.ndim == 2 and values.shape[1] != self.config.lanes:
            self.fail(f".data file {path} has rows of {values.shape[1]} values, not "
                      f"{self.config.lanes} (a word):", token)
        return values.astype(np.int64).reshape(-1)

    def output_directive(self, line, parts):
        if len(parts) != 5:
            self.fail(".output takes a name, a slice, an address and a word count", line)
        name = parts[1]
        if any(region.name == name for region in self.outputs):
            self.fail("output named twice:", name)
        number = self.slice_number(parts[2])
        count = _number(parts[4])
        if count is None or count < 1:
            self.fail(".output word count must be a positive number, not", parts[4])
        address = self.words_at(parts[3], count, ".output")
        self.outputs.append(Region(name, number, address, count))

    def queue_directive(self, line, parts):
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
            self.tokens.update(zip(("count", "stride", "gap"), args))
            if op is ControlOp.NOP:
                return {"count": self.count(args, 1, head)[0]}
            if op is ControlOp.REPEAT:
                values = self.count(args, 3, head, optional=2) + [0, 0]
                return {"count": values[0], "stride": values[1], "gap": values[2]}
            if args:
                self.fail(f"{spec.mnemonic} takes no operands", rest)
            return {}
        if self.queue.kind is QueueKind.MXM_LOAD:
            return self.load_fields(spec, types, rest, head)
        if self.queue.kind is QueueKind.MXM_COMPUTE:
            return self.matmul_fields(types, rest, head)
        if self.queue.kind is QueueKind.SXM:
            return self.switch_fields(spec, types, rest, head)
        if self.queue.kind is QueueKind.LINK:
            if types:
                self.fail("link instructions take no type", head)
            if not rest:
                self.fail(f"{spec.mnemonic} takes a stream number", head)
            return {"stream": self.number_arg(rest, "stream")}
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

    def stream_arg(self, token, field):
        stream = _stream(token)
        if stream is None:
            self.fail("expected a stream (e<n> or w<n>), got", token)
        self.tokens[field] = token
        return stream

    def number_arg(self, token, field):
        value = _number(token)
        if value is None:
            self.fail("expected a number, got", token)
        self.tokens[field] = token
        return value

    def load_fields(self, spec, types, rest, head):
        if types:
            self.fail("matrix instructions take no type", head)
        args = [a.strip() for a in rest.split(",")] if rest else []
        if not 2 <= len(args) <= 3:
            what = "a bias byte plane (0..3)" if spec.op.name == "LB" else "a row"
            self.fail(f"{spec.mnemonic} takes {what}, a stream and optionally a count",
                      rest or head)
        row = self.number_arg(args[0], "row")
        direction, stream = self.stream_arg(args[1], "stream")
        count = self.number_arg(args[2], "count") if len(args) == 3 else 1
        return {"row": row, "stream": stream, "count": count, "dir": direction}

    def matmul_fields(self, types, rest, head):
        if types:
            self.fail("matrix instructions take no type", head)
        source, arrow, target = rest.partition("->")
        if not arrow:
            self.fail("expected '->' in", rest or head)
        act_dir, act_stream = self.stream_arg(source.strip(), "act_stream")
        words = target.split()
        if not words:
            self.fail("expected an accumulator row after '->' in", rest)
        fields = {"act_stream": act_stream, "act_dir": act_dir,
                  "acc": self.number_arg(words[0], "acc"), "accumulate": 0, "emit": 0,
                  "install": 0, "out_stream": 0, "out_dir": Direction.EAST}
        words = words[1:]
        while words:
            word = words.pop(0)
            if word in ("install", "accumulate"):
                fields[word] = 1
            elif word == "emit":
                if not words:
                    self.fail("emit needs a stream", word)
                out_dir, out_stream = self.stream_arg(words.pop(0), "out_stream")
                fields.update(emit=1, out_dir=out_dir, out_stream=out_stream)
            else:
                self.fail("expected install, accumulate or emit <stream>, got", word)
        return fields

    def switch_fields(self, spec, types, rest, head):
        trans = spec.op.name == "TRANS"
        if trans:
            if types not in ([], ["i8"]):
                self.fail("trans moves int8 only", head)
            dtype = DType.I8
        else:
            if len(types) != 1 or types[0].lower() not in _DTYPES:
                self.fail("expected one type suffix (.i8, .i16, .i32) in", head)
            dtype = _DTYPES[types[0].lower()]
        source, arrow, target = rest.partition("->")
        if not arrow:
            self.fail("expected '->' in", rest or head)
        src_dir, src = self.stream_arg(source.strip(), "src")
        args = [a.strip() for a in target.split(",")]
        dst_dir, dst = self.stream_arg(args[0], "dst")
        fields = {"src": src, "src_dir": src_dir, "dst": dst, "dst_dir": dst_dir,
                  "dtype": dtype, "amount": 0, "fill": 0, "map": 0, "map_dir": Direction.EAST}
        rest_args = args[1:]
        if trans:
            if rest_args:
                self.fail("trans takes no further operands", ", ".join(rest_args))
            return fields
        if spec.op.name == "PERM":
            if len(rest_args) != 1 or not rest_args[0].startswith("map "):
                self.fail("perm needs 'map <stream>' after the destination", rest)
            fields["map_dir"], fields["map"] = self.stream_arg(rest_args[0][4:].strip(), "map")
            return fields
        if len(rest_args) != 1:
            self.fail(f"{spec.mnemonic} needs ', <amount>' after the destination", rest)
        amount, _, fill = rest_args[0].partition(" fill ")
        fields["amount"] = self.number_arg(amount.strip(), "amount")
        if fill:
            fields["fill"] = self.number_arg(fill.strip(), "fill")
        return fields

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
            gap = f", {instr.gap}" if instr.gap else ""
            return f"repeat {instr.count}, {instr.stride}{gap}"
        return name
    def stream(direction, index):
        return f"{'e' if direction is Direction.EAST else 'w'}{index}"

    if op is MatrixLoadOp.LW:
        return f"lw {instr.row}, {stream(instr.dir, instr.stream)}, {instr.count}"
    if op is MatrixLoadOp.LB:
        return f"lb {instr.row}, {stream(instr.dir, instr.stream)}, {instr.count}"
    if op is MatrixOp.MM:
        text = f"mm {stream(instr.act_dir, instr.act_stream)} -> {instr.acc}"
        for flag in ("install", "accumulate"):
            if getattr(instr, flag):
                text += f" {flag}"
        if instr.emit:
            text += f" emit {stream(instr.out_dir, instr.out_stream)}"
        return text
    if isinstance(op, SwitchOp):
        move = f"{stream(instr.src_dir, instr.src)} -> {stream(instr.dst_dir, instr.dst)}"
        if op is SwitchOp.TRANS:
            return f"trans {move}"
        text = f"{name}.{instr.dtype.name.lower()} {move}"
        if op is SwitchOp.PERM:
            return text + f", map {stream(instr.map_dir, instr.map)}"
        text += f", {instr.amount}"
        return text + (f" fill {instr.fill}" if instr.fill else "")
    if isinstance(op, LinkOp):
        return f"{name} {instr.stream}"
    if op.name in ("READ", "WRITE"):
        where = stream(instr.dir, instr.stream)
        return (f"read {instr.addr} -> {where}" if op.name == "READ"
                else f"write {where} -> {instr.addr}")
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
        text += f" -> {stream(instr.dst_dir, instr.dst_stream)}"
    return text


def disassemble(program):
    """The text form of ``program``'s queues and output regions (assembles back to the same
    words and regions; the SRAM images are not listed). A program that does not load raises
    :class:`~golden.archsim.checks.ChipError` (:meth:`~compiler.program.Program.check`)."""
    program.check()
    plan = floorplan(program.config)
    lines = [f".output {region.name} {plan.mem_units[region.slice].name} {region.address} "
             f"{region.count}" for region in program.outputs]
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


if __name__ == "__main__":
    raise SystemExit("compiler.asm is a library; to assemble a file: "
                     "python -m commands.asm PROGRAM.s [--preset NAME]")

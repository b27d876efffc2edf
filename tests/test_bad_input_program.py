"""Malformed programs at every entry point that takes one: assembly text (:mod:`compiler.asm`),
:class:`~compiler.program.Program` objects and queue words, and the golden simulator's SRAM and
instruction loads. Each is refused with the documented error class, whose message names the
offending value, and whatever was loaded before is left as it was."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from compiler.asm import AsmError, assemble, disassemble
from compiler.program import Program, Region
from golden.archsim import ArchSim, ChipError
from isa import preset
from isa.config import OPERAND_INDEX_BITS
from isa.formats import FORMATS, INSTRUCTIONS, WORD_BITS, Operand
from isa.geometry import floorplan
from isa.host import ErrorFlag

FAST = settings(max_examples=40, deadline=None, derandomize=True)
CONFIG = preset("tiny").derive(links=1)    # a link port: every format has a queue
PLAN = floorplan(CONFIG)
SLICES, QUEUES = len(PLAN.mem_units), len(PLAN.queues)

GOOD = """\
.data mem_w0 0 -8..7
.output y mem_w1 0 1
.queue mem_w0.rd
    read 0 -> e0
.queue vxm.alu0
    nop 2
    add.i8 e0, #1 -> e4
.queue mem_w1.wr
    nop 5
    write e4 -> 0
"""


def field_range(f):
    """The values the table says field ``f`` holds: ``(lo, hi)``."""
    if f.shape is Operand:
        return 0, (1 << OPERAND_INDEX_BITS) - 1
    if f.signed:
        return -(1 << (f.width - 1)), (1 << (f.width - 1)) - 1
    return 0, (1 << f.width) - 1


# -- assembly text ---------------------------------------------------------------------------

#: For every numeric field of every format, a line that puts the number ``{v}`` in it (after
#: the ``.queue`` line and the setup that the line needs).
FIELD_LINES = {
    ("count", "count"): ("mem_w0.rd", "nop {v}"),
    ("repeat", "count"): ("mem_w0.rd", "read 0 -> e0\nrepeat {v}, 0"),
    ("repeat", "stride"): ("mem_w0.rd", "read 0 -> e0\nrepeat 1, {v}"),
    ("repeat", "gap"): ("mem_w0.rd", "read 0 -> e0\nrepeat 1, 0, {v}"),
    ("mem", "addr"): ("mem_w0.rd", "read {v} -> e0"),
    ("mem", "stream"): ("mem_w0.wr", "write e{v} -> 0"),
    ("vector", "a"): ("vxm.alu0", "mov.i8 alu{v} -> e0"),
    ("vector", "b"): ("vxm.alu0", "add.i8 e0, c{v}"),
    ("vector", "c"): ("vxm.alu0", "sel.i8 e0, e0, alu{v}"),
    ("vector", "dst_en"): None,         # set by '->', never a number in the text
    ("vector", "dst_stream"): ("vxm.alu0", "mov.i8 e0 -> w{v}"),
    ("vector", "imm"): ("vxm.alu0", "add.i8 e0, #{v}"),
    ("load", "row"): ("mxm_w0.load", "lw {v}, e0, 1"),
    ("load", "stream"): ("mxm_w0.load", "lb 0, w{v}"),
    ("load", "count"): ("mxm_w0.load", "lw 0, e0, {v}"),
    ("matmul", "act_stream"): ("mxm_w0.mm", "mm e{v} -> 0"),
    ("matmul", "acc"): ("mxm_w0.mm", "mm e0 -> {v}"),
    ("matmul", "accumulate"): None,     # flags: words, not numbers
    ("matmul", "emit"): None,
    ("matmul", "install"): None,
    ("matmul", "out_stream"): ("mxm_w0.mm", "mm e0 -> 0 emit w{v}"),
    ("switch", "src"): ("sxm_e0.sxm", "rot.i8 w{v} -> e0, 1"),
    ("switch", "dst"): ("sxm_e0.sxm", "trans e0 -> e{v}"),
    ("switch", "amount"): ("sxm_e0.sxm", "shdn.i16 e0 -> e0, {v}"),
    ("switch", "fill"): ("sxm_e0.sxm", "shup.i8 e0 -> e0, 1 fill {v}"),
    ("switch", "map"): ("sxm_e0.sxm", "perm.i8 e0 -> e0, map e{v}"),
    ("link", "stream"): ("link_e0.port", "send {v}"),
}
NUMERIC = [(fmt.name, f) for fmt in FORMATS.values() for f in fmt.fields
           if not (isinstance(f.shape, type) and f.shape is not Operand)]


def test_every_numeric_field_has_a_line():
    assert {(name, f.name) for name, f in NUMERIC} == set(FIELD_LINES)


def field_line(name, f, value):
    queue, line = FIELD_LINES[name, f.name]
    return f".queue {queue}\n{line.format(v=value)}\n"


@st.composite
def out_of_range(draw):
    """A numeric field that the text can name and a value the table says it cannot hold."""
    name, f = draw(st.sampled_from([(n, f) for n, f in NUMERIC if FIELD_LINES[n, f.name]]))
    lo, hi = field_range(f)
    return name, f, draw(st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi + 1)))


@FAST
@given(out_of_range())
def test_a_number_out_of_its_field_is_named(case):
    name, f, value = case
    with pytest.raises(AsmError) as error:
        assemble(field_line(name, f, value), CONFIG)
    assert str(value) in str(error.value)


@pytest.mark.parametrize("name, f", [(n, f) for n, f in NUMERIC if FIELD_LINES[n, f.name]],
                         ids=lambda x: getattr(x, "name", x))
def test_each_field_just_past_its_range(name, f):
    """The first value past the top of every field (and the bottom, where the text can write a
    negative number) is refused, the last one inside encodes."""
    lo, hi = field_range(f)
    with pytest.raises(AsmError, match=str(hi + 1)):
        assemble(field_line(name, f, hi + 1), CONFIG)
    if f.signed:
        with pytest.raises(AsmError, match=str(lo - 1)):
            assemble(field_line(name, f, lo - 1), CONFIG)


@pytest.mark.parametrize("text, message", [
    ("", None),                                             # empty: an empty program
    ("hello world", "instruction outside a .queue section 'hello'"),
    (".queue vxm.alu0\nfrobnicate e0", "unknown instruction 'frobnicate'"),
    (".queue vxm.alu0\nread 0 -> e0", "instruction not available on queue vxm.alu0 'read'"),
    (".queue vxm.alu0\nadd.i8 e0", "add takes 2 operand(s), got 'e0'"),
    (".queue vxm.alu0\nadd.i8 e0, e0, e0", "add takes 2 operand(s), got 'e0, e0, e0'"),
    (".queue mem_w0.rd\nnop", "expected 1..1 numbers 'nop'"),
    (".queue mem_w0.rd\nread 0 -> e0\nrepeat 1, 2, 3, 4", "expected 1..3 numbers 'repeat'"),
    (".queue mem_w0.rd\nhalt 3", "halt takes no operands '3'"),
    (".queue mxm_w0.load\nlw 0", "lw takes a row, a stream and optionally a count '0'"),
    (".queue mem_w0.rd\nread 99999999999999999999999999 -> e0", "99999999999999999999999999"),
    (".queue mem_w0.rd\nread 010 -> e0", "expected an address, got '010'"),
    (".queue mem_w0.rd\nread \u0661\u0662 -> e0", "expected an address, got '\u0661\u0662'"),
    (".queue mem_w0.rd\nread 1 -> e\u0661", "expected a stream (e<n> or w<n>), got 'e\u0661'"),
    (".queue mem_w0.rd\nréad 1 -> e0", "unknown instruction 'réad'"),
    (".queue mem_w0.rd\nread 1 -> e0\x00", "got 'e0\\x00'"),
    (".queue mem_w0.rd\nread 8192 -> e0", "ADDRESS_RANGE"),
    (".queue mem_w0.rd\nread 8191 -> e0\nrepeat 1, 1", "ADDRESS_RANGE (repeated with offset 1)"),
    (".queue mem_w0.rd\nread 0 -> e16", "BAD_OPERAND"),
    (".queue nowhere.rd", "no such queue in configuration 'tiny': 'nowhere.rd'"),
    (".queue", ".queue takes one queue name '.queue'"),
    (".include x", "unknown directive '.include'"),
    (".data mem_w0 0", ".data takes a slice, an address and values or a .npy file"),
    (".data mem_w9 0 " + " 0" * 16, "no such MEM slice in configuration 'tiny': 'mem_w9'"),
    (".data mem_w0 0 1 2 3", ".data values must fill whole words of 16 lanes, not 3 values"),
    (".data mem_w0 0 0..15 256", "not '256'"),
    (".data mem_w0 0 -129..-114", "not '-129..-114'"),
    (".data mem_w0 0 7..0", "not '7..0'"),
    (".data mem_w0 0 0..99999999999999", "not '0..99999999999999'"),
    (".data mem_w0 -1 0..15", ".data address must be a non-negative number, not '-1'"),
    (".data mem_w0 x 0..15", ".data address must be a non-negative number, not 'x'"),
    (".data mem_w0 8192 0..15", "runs past the 8192 words of a slice: '8192'"),
    (".data mem_w0 8191 0..31", ".data of 2 words from address 8191 runs past"),
    (".data mem_w0 0 missing.npy", ".data file missing.npy: no such file: 'missing.npy'"),
    (".output y mem_w0 0", ".output takes a name, a slice, an address and a word count"),
    (".output y mem_w0 0 0", ".output word count must be a positive number, not '0'"),
    (".output y mem_w0 8190 4", ".output of 4 words from address 8190 runs past"),
    (".output y mem_w0 0 1\n.output y mem_w0 1 1", "output named twice: 'y'"),
])
def test_hand_written_bad_text(text, message):
    if message is None:
        program = assemble(text, CONFIG)
        assert program.queues == {} and program.sram == [] and program.outputs == []
        return
    with pytest.raises(AsmError) as error:
        assemble(text, CONFIG)
    assert message in str(error.value)


def test_too_many_instructions_for_the_queue_depth():
    config = CONFIG.derive(queue_depth=4)
    with pytest.raises(AsmError, match="queue holds 5 instructions, more than the queue "
                                       "depth 4: 'vxm.alu0'"):
        assemble(".queue vxm.alu0\n" + "nop 1\n" * 5, config)


VOCABULARY = ["read", "write", "add.i8", "lw", "mm", "rot.i8", "perm.i8", "trans", "nop",
              "repeat", "halt", "lutw.i32", "e0", "w31", "e99", "alu1", "c7", "#-5", "@", "->",
              ",", "0", "0x10", "-1", "99999999999", "map", "fill", "emit", "install", ".data",
              ".output", ".queue", "mem_w0", "vxm.alu0", "..", ";", "\u00e9", "\u0663"]


@FAST
@given(st.lists(st.lists(st.sampled_from(VOCABULARY), max_size=8), max_size=6),
       st.sampled_from([q.name for q in PLAN.queues]))
def test_token_soup_is_assembled_or_refused(lines, queue):
    """Random lines of plausible tokens either assemble or raise :class:`AsmError`, and the
    failure leaves nothing behind: the good program assembles the same afterwards."""
    before = assemble(GOOD, CONFIG)
    text = f".queue {queue}\n" + "\n".join(" ".join(line) for line in lines)
    try:
        assemble(text, CONFIG)
    except AsmError as error:
        assert error.line >= 0 and error.token is not None
    after = assemble(GOOD, CONFIG)
    assert after.queues == before.queues and after.outputs == before.outputs


@FAST
@given(st.text(max_size=80))
def test_random_text_is_assembled_or_refused(text):
    try:
        assemble(text, CONFIG)
    except AsmError as error:
        assert repr(error.token) in str(error)


# -- Program objects and queue words ----------------------------------------------------------

def loaded_sim():
    """A simulator with the good program loaded, and a snapshot of its state."""
    sim = ArchSim(CONFIG)
    assemble(GOOD, CONFIG).load_into(sim)
    return sim, snapshot(sim)


def snapshot(sim):
    return ([list(q.program) for q in sim.chip.queues.queues],
            [(m.sram.data.copy(), m.sram.checks.copy(), m.sram.written.copy())
             for m in sim.chip.mems])


def assert_unchanged(sim, state):
    programs, memories = snapshot(sim)
    assert programs == state[0]
    for now, before in zip(memories, state[1]):
        assert all(np.array_equal(a, b) for a, b in zip(now, before))


def bad_program(case):
    """A program for CONFIG with one malformed part (``case``: what and the value)."""
    what, value = case
    good = assemble(GOOD, CONFIG)
    if what == "queue":
        return Program(CONFIG, queues={**good.queues, value: [0]}, sram=good.sram)
    if what == "word":
        return Program(CONFIG, queues={**good.queues, 20: [1, value]}, sram=good.sram)
    if what == "slice":
        return Program(CONFIG, queues=good.queues,
                       sram=good.sram + [(value, 0, np.zeros((1, 16), np.uint8))])
    if what == "address":
        return Program(CONFIG, queues=good.queues,
                       sram=good.sram + [(1, value, np.zeros((2, 16), np.uint8))])
    if what == "byte":
        return Program(CONFIG, queues=good.queues,
                       sram=good.sram + [(1, 0, np.full((1, 16), value))])
    return Program(CONFIG, queues=good.queues, sram=good.sram,
                   outputs=[Region("z", 0, value, 1)])


BAD_VALUES = st.one_of(
    st.tuples(st.just("queue"), st.one_of(st.integers(max_value=-1),
                                          st.integers(min_value=QUEUES))),
    st.tuples(st.just("word"), st.one_of(st.integers(max_value=-1),
                                         st.integers(min_value=1 << WORD_BITS))),
    st.tuples(st.just("slice"), st.one_of(st.integers(max_value=-1),
                                          st.integers(min_value=SLICES))),
    st.tuples(st.just("address"), st.one_of(st.integers(max_value=-1),
                                            st.integers(min_value=CONFIG.words - 1))),
    st.tuples(st.just("byte"), st.one_of(st.integers(-(1 << 40), -129),
                                         st.integers(256, 1 << 40))),
    st.tuples(st.just("output"), st.one_of(st.integers(max_value=-1),
                                           st.integers(min_value=CONFIG.words))),
)


@FAST
@given(BAD_VALUES)
def test_a_bad_program_loads_nothing(case):
    sim, state = loaded_sim()
    with pytest.raises(ChipError) as error:
        bad_program(case).load_into(sim)
    assert str(case[1]) in str(error.value)
    assert_unchanged(sim, state)


@pytest.mark.parametrize("case, message", [
    (("queue", QUEUES), f"queue {QUEUES} out of range (0..{QUEUES - 1})"),
    (("queue", "0"), "queue '0' out of range"),
    (("word", 1 << WORD_BITS), f"instruction 1 of queue 20 is {1 << WORD_BITS}, not a 64-bit"),
    (("word", -1), "instruction 1 of queue 20 is -1, not a 64-bit word"),
    (("word", 1.5), "instruction 1 of queue 20 is 1.5"),
    (("word", "nop"), "instruction 1 of queue 20 is 'nop'"),
    (("word", True), "instruction 1 of queue 20 is True"),
    (("slice", SLICES), f"SRAM index {SLICES} out of range (0..{SLICES - 1})"),
    (("address", CONFIG.words - 1), "2 words at address 8191 do not fit 8192 words of SRAM"),
    (("address", 0.5), "2 words at address 0.5 do not fit"),
    (("byte", 256), "SRAM words must hold bytes (-128 .. 255), not 256"),
    (("byte", 1.0), "SRAM words must hold bytes, not float64 values"),
    (("output", CONFIG.words), "output 'z': 1 words at address 8192 do not fit"),
])
def test_hand_written_bad_programs(case, message):
    sim, state = loaded_sim()
    with pytest.raises(ChipError) as error:
        bad_program(case).load_into(sim)
    assert message in str(error.value)
    assert_unchanged(sim, state)
    with pytest.raises(ChipError, match=message.split(" (")[0].replace("(", r"\(")):
        disassemble(bad_program(case))


def test_malformed_program_structure():
    sim, state = loaded_sim()
    for program, message in [
        (Program(CONFIG, queues="read"), "the program's queues must be a dict, not 'read'"),
        (Program(CONFIG, queues={0: 5}), "queue 0 must hold a list of words, not 5"),
        (Program(CONFIG, queues={0: [0] * (CONFIG.queue_depth + 1)}),
         "queue 0 holds 8193 instructions, more than the queue depth 8192"),
        (Program(CONFIG, sram=[(0, 0)]), "an SRAM image must be (slice, address, words), not "
                                         "(0, 0)"),
        (Program(CONFIG, sram=[(0, 0, np.zeros((1, 8), np.uint8))]),
         "SRAM words must have shape [n, 16], not [1, 8]"),
    ]:
        with pytest.raises(ChipError) as error:
            program.load_into(sim)
        assert message in str(error.value)
        assert_unchanged(sim, state)


@pytest.mark.parametrize("other", ["groq", "fpga", "default"])
def test_a_program_for_another_preset_loads_nothing(other):
    """Another preset's program (more queues, other SRAM sizes) is refused as a whole."""
    config = preset(other)
    program = Program(config, queues={len(floorplan(config).queues) - 1: [0]})
    sim, state = loaded_sim()
    with pytest.raises(ChipError, match=f"the program is for configuration '{other}'"):
        program.load_into(sim)
    assert_unchanged(sim, state)


def test_an_illegal_opcode_loads_and_raises_its_flag():
    """An opcode a queue does not define is legal to load: it raises ILLEGAL_OPCODE when it
    issues, in that queue (docs/isa.md)."""
    queue = PLAN.queue("mem_w0.rd").number
    illegal = max(op.value for spec in INSTRUCTIONS for op in [spec.op]) + 1
    sim = ArchSim(CONFIG, strict=False)
    outcome = sim.execute(Program(CONFIG, queues={queue: [illegal]}))
    assert outcome.errors == ErrorFlag.ILLEGAL_OPCODE and outcome.error_queue == queue


# -- the golden simulator's loads -------------------------------------------------------------

@FAST
@given(st.integers(-3, SLICES + 3), st.integers(-(1 << 20), 1 << 20), st.integers(0, 4))
def test_sram_loads_fit_or_change_nothing(index, address, count):
    sim, state = loaded_sim()
    words = np.full((count, CONFIG.lanes), 7, np.uint8)
    fits = 0 <= index < SLICES and 0 <= address <= CONFIG.words - count
    if fits:
        sim.load_sram(index, address, words)
        assert np.array_equal(sim.read_sram(index, address, count), words)
        return
    with pytest.raises(ChipError) as error:
        sim.load_sram(index, address, words)
    assert str(index if not 0 <= index < SLICES else address) in str(error.value)
    assert_unchanged(sim, state)


@FAST
@given(st.one_of(
    st.integers(1, 3 * CONFIG.lanes).filter(lambda n: n != CONFIG.lanes).map(
        lambda n: np.zeros((1, n), np.uint8)),
    st.integers(-(1 << 62), -129).map(lambda v: np.full((2, CONFIG.lanes), v)),
    st.integers(256, 1 << 62).map(lambda v: np.full((2, CONFIG.lanes), v)),
    st.floats(allow_nan=True).map(lambda v: np.full((1, CONFIG.lanes), v)),
    st.integers(1, 3).map(lambda n: np.zeros((CONFIG.lanes,) * n, np.uint8)).filter(
        lambda a: a.ndim != 2),
))
def test_sram_loads_of_anything_but_byte_words_change_nothing(words):
    sim, state = loaded_sim()
    with pytest.raises(ChipError) as error:
        sim.load_sram(0, 0, words)
    message = str(error.value)
    assert (str(list(words.shape)) in message or str(words.dtype) in message or
            str(words.flat[0]) in message)
    assert_unchanged(sim, state)


@pytest.mark.parametrize("index, address, words, message", [
    (SLICES, 0, np.zeros((1, 16), np.uint8), f"SRAM index {SLICES} out of range"),
    (-1, 0, np.zeros((1, 16), np.uint8), "SRAM index -1 out of range"),
    ("0", 0, np.zeros((1, 16), np.uint8), "SRAM index '0' out of range"),
    (0, CONFIG.words, np.zeros((1, 16), np.uint8), "1 words at address 8192 do not fit"),
    (0, CONFIG.words - 1, np.zeros((2, 16), np.uint8), "2 words at address 8191 do not fit"),
    (0, -1, np.zeros((1, 16), np.uint8), "1 words at address -1 do not fit"),
    (0, "0", np.zeros((1, 16), np.uint8), "1 words at address '0' do not fit"),
    (0, 0, np.zeros((1, 32), np.uint8), "SRAM words must have shape [n, 16], not [1, 32]"),
    (0, 0, np.zeros(16, np.uint8), "SRAM words must have shape [n, 16], not [16]"),
    (0, 0, [[300] * 16], "SRAM words must hold bytes (-128 .. 255), not 300"),
    (0, 0, [["a"] * 16], "SRAM words must hold bytes, not <U1 values"),
])
def test_hand_written_bad_sram_loads(index, address, words, message):
    sim, state = loaded_sim()
    with pytest.raises(ChipError) as error:
        sim.load_sram(index, address, words)
    assert message in str(error.value)
    assert_unchanged(sim, state)


def test_sram_reads_out_of_range_are_named():
    sim, state = loaded_sim()
    for address, count, message in [(CONFIG.words, 1, "1 words at address 8192 are outside"),
                                    (0, -1, "-1 words at address 0 are outside"),
                                    (0.5, 1, "1 words at address 0.5 are outside")]:
        with pytest.raises(ChipError, match=message):
            sim.read_sram(0, address, count)
    assert_unchanged(sim, state)


@FAST
@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=QUEUES)),
       st.lists(st.integers(0, 1 << WORD_BITS), max_size=3))
def test_instruction_loads_into_no_such_queue_change_nothing(queue, words):
    sim, state = loaded_sim()
    with pytest.raises(ChipError, match=f"queue {queue} out of range"):
        sim.load_program(queue, words)
    assert_unchanged(sim, state)


@FAST
@given(st.integers(0, QUEUES - 1), st.lists(st.integers(0, (1 << WORD_BITS) - 1), max_size=4),
       st.one_of(st.integers(max_value=-1), st.integers(min_value=1 << WORD_BITS),
                 st.floats(), st.text(max_size=3), st.none()))
def test_instruction_loads_of_bad_words_change_nothing(queue, words, bad):
    sim, state = loaded_sim()
    with pytest.raises(ChipError) as error:
        sim.load_program(queue, words + [bad])
    assert f"instruction {len(words)} of queue {queue} is {bad!r}" in str(error.value)
    assert_unchanged(sim, state)


@pytest.mark.parametrize("queue, words, message", [
    (0, [0] * (CONFIG.queue_depth + 1),
     "queue 0 holds 8193 instructions, more than the queue depth 8192"),
    (0, 5, "queue 0 must hold a sequence of words, not 5"),
    (QUEUES, [0], f"queue {QUEUES} out of range (0..{QUEUES - 1})"),
    (1.0, [0], "queue 1.0 out of range"),
    (0, [1 << WORD_BITS], f"instruction 0 of queue 0 is {1 << WORD_BITS}, not a 64-bit word"),
    (0, [0, -1], "instruction 1 of queue 0 is -1, not a 64-bit word"),
    (0, ["12"], "instruction 0 of queue 0 is '12', not a 64-bit word"),
])
def test_hand_written_bad_instruction_loads(queue, words, message):
    sim, state = loaded_sim()
    with pytest.raises(ChipError) as error:
        sim.load_program(queue, words)
    assert message in str(error.value)
    assert_unchanged(sim, state)

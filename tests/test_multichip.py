"""Programs for several chips joined by links: the compiler's multi-chip systems
(:mod:`compiler.multichip`, :mod:`compiler.encoder_system`) against NumPy, the golden
transformer and the golden simulator (every chip's predicted length asserted), and, on the
RTL, several chips in one Verilator simulation with the channel model between them
(:mod:`verification.multichip`): the GEMM and the chain are marked slow (``make test-link``),
all-MiniLM-L6-v2 over three chips is in ``make test-model``."""

import numpy as np
import pytest

from compiler.asm import assemble
from compiler.encoder_system import compile_encoder_system, layer_groups
from compiler.link_transfer import place_link_transfer
from compiler.multichip import compile_chain, compile_split_gemm
from compiler.schedule import Schedule
from compiler.tensors import planar_tensor
from golden.archsim.system import ChipSystem, chain
from isa import preset
from isa.host import ErrorFlag
from isa.opcodes import DType
from isa.timing import link_latency, link_send_interval
from golden.transformer.evaluation import EVALUATION_FILE
from verification.model_cases import small_integer_model
from verification.model_runs import minilm_model
from verification.multichip import run_system_on_rtl
from verification.reference import gemm_reference

CONFIG = preset("tiny").derive(links=1)
MULTIPLIER, SHIFT = 1 << 30, 6


def chain_reference(x, weights, shift):
    for w in weights:
        x = gemm_reference(x, w, None, MULTIPLIER, shift)
    return x


def run_golden(kernel, programs):
    outcomes = ChipSystem([kernel.config] * kernel.chips, chain(kernel.chips)).execute(programs)
    assert [o.errors for o in outcomes] == [ErrorFlag(0)] * kernel.chips
    assert [o.cycles for o in outcomes] == kernel.predicted_cycles
    return outcomes


@pytest.mark.parametrize("m, k, n", [(32, 64, 64), (16, 48, 80), (64, 128, 96)])
def test_split_gemm_is_exact_and_predicted(m, k, n):
    rng = np.random.default_rng(m + k + n)
    kernel = compile_split_gemm(CONFIG, m, k, n, multiplier=MULTIPLIER, shift=SHIFT)
    a, b = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
    outcomes = run_golden(kernel, kernel.program(a, b))
    np.testing.assert_array_equal(kernel.decode_outputs(outcomes),
                                  gemm_reference(a, b, None, MULTIPLIER, SHIFT))


def chain_case(seed, m, widths):
    """A chain of 4 chips on random data: ``(kernel, programs, expected result)``."""
    rng = np.random.default_rng(seed)
    kernel = compile_chain(CONFIG, 4, m, widths, multiplier=MULTIPLIER, shift=7)
    x = rng.integers(-128, 128, (m, widths[0]))
    weights = [rng.integers(-128, 128, (widths[i], widths[i + 1])) for i in range(4)]
    return kernel, kernel.program(x, weights), chain_reference(x, weights, 7)


def test_chain_of_four_is_exact_and_predicted():
    kernel, programs, expected = chain_case(4, 24, [64, 48, 64, 32, 48])
    outcomes = run_golden(kernel, programs)
    np.testing.assert_array_equal(kernel.decode_outputs(outcomes), expected)
    # Each chip starts its GEMM on what the one before sends: later chips finish later.
    assert kernel.predicted_cycles == sorted(kernel.predicted_cycles)


@pytest.mark.parametrize("tokens", [[7], [3, 14, 15, 9, 2, 6]])
def test_encoder_over_two_chips_gives_the_sentence_embedding(tokens):
    _, encoder = small_integer_model(0, width=64, heads=2, ffn=128)
    config = preset("default").derive(links=1)
    kernel = compile_encoder_system(config, encoder, len(tokens), 2)
    assert [k.layers for k in kernel.kernels] == [[0], [1]]
    tokens = encoder.check_tokens(tokens)
    outcomes = run_golden(kernel, kernel.program(encoder.word_embeddings[tokens]))
    np.testing.assert_array_equal(kernel.decode_outputs(outcomes),
                                  encoder.sentence_embedding(tokens)[None, :])


def test_layers_are_dealt_in_contiguous_groups():
    assert layer_groups(6, 3) == [[0, 1], [2, 3], [4, 5]]
    assert layer_groups(6, 4) == [[0, 1], [2, 3], [4], [5]]
    with pytest.raises(ValueError, match="splits over 2 to 6 chips, not 7"):
        layer_groups(6, 7)


def test_same_programs_other_data_same_cycles():
    kernel = compile_split_gemm(CONFIG, 32, 64, 64, multiplier=MULTIPLIER, shift=SHIFT)
    cycles = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        a, b = rng.integers(-128, 128, (32, 64)), rng.integers(-128, 128, (64, 64))
        cycles.append([o.cycles for o in run_golden(kernel, kernel.program(a, b))])
    assert cycles == [kernel.predicted_cycles] * 3


def test_a_transfer_keeps_the_link_schedule():
    """Every SEND is followed by its RECEIVE exactly link_latency cycles later, and SENDs are
    at least link_send_interval apart (read from the golden run's trace)."""
    sender, receiver = Schedule(CONFIG), Schedule(CONFIG)
    source = sender.input("x", _tensor(sender, "x", 8))
    sent = place_link_transfer(sender, "link_e0", receiver, "link_w0", source, name="y")
    receiver.output("y", sent)
    values = np.arange(8 * CONFIG.lanes).reshape(8, CONFIG.lanes) % 251 - 125
    programs = [sender.compile().bind({"x": values}), receiver.compile().bind({})]
    system = ChipSystem([CONFIG] * 2, chain(2))
    outcomes = system.execute(programs, trace=True)
    plan = system.sims[0].plan
    sends = [c for c, _, _ in outcomes[0].issues(plan.queue("link_e0.port").number)]
    receives = [c for c, _, _ in outcomes[1].issues(plan.queue("link_w0.port").number)]
    assert len(sends) == 8 and [r - s for s, r in zip(sends, receives)] == \
        [link_latency(CONFIG)] * 8
    assert min(b - a for a, b in zip(sends, sends[1:])) >= link_send_interval(CONFIG)
    np.testing.assert_array_equal(receiver.compile().unbind(outcomes[1].outputs)["y"], values)


def _tensor(schedule, name, rows):
    """An int8 ``rows x lanes`` host input in MEM slice 0."""
    return planar_tensor(schedule.calendar.sram, name, DType.I8, (rows, CONFIG.lanes),
                         CONFIG.lanes, [0])


@pytest.mark.parametrize("call, message", [
    (lambda: compile_split_gemm(preset("tiny"), 32, 64, 64, multiplier=1, shift=0),
     "links=0"),
    (lambda: compile_split_gemm(CONFIG, 32, 64, 16, multiplier=1, shift=0),
     "two column tiles"),
    (lambda: compile_split_gemm(CONFIG, 0, 64, 64, multiplier=1, shift=0), "m must be"),
    (lambda: compile_chain(CONFIG, 1, 16, [16, 16], multiplier=1, shift=0),
     "at least 2 chips"),
    (lambda: compile_chain(CONFIG, 3, 16, [16, 16, 16], multiplier=1, shift=0),
     "needs 4 widths"),
    (lambda: place_link_transfer(Schedule(CONFIG), "mem_e0", Schedule(CONFIG), "link_w0",
                                 None, name="y"), "not a link port"),
])
def test_bad_systems_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_operands_of_the_wrong_shape_are_named():
    kernel = compile_split_gemm(CONFIG, 16, 32, 32, multiplier=MULTIPLIER, shift=SHIFT)
    with pytest.raises(ValueError, match=r"shapes \(16, 32\) and \(32, 32\)"):
        kernel.program(np.zeros((16, 31)), np.zeros((32, 32)))


# ---- On the RTL. ----

def check_on_rtl(kernel, programs, expected, seed):
    golden = run_golden(kernel, programs)
    result = run_system_on_rtl(kernel.config, chain(kernel.chips), programs, seed=seed)
    rtl = result["outcomes"]
    assert [o.cycles for o in rtl] == kernel.predicted_cycles
    assert [o.errors for o in rtl] == [ErrorFlag(0)] * kernel.chips
    for chip, (got, want) in enumerate(zip(rtl, golden)):
        assert got.outputs.keys() == want.outputs.keys()
        for name in want.outputs:
            np.testing.assert_array_equal(got.outputs[name], want.outputs[name],
                                          err_msg=f"chip {chip} output {name}")
    np.testing.assert_array_equal(kernel.decode_outputs(rtl), expected)
    # Every frame crossed intact: received and counted, no link error.
    for registers in result["links"].values():
        assert registers["crc_errors"] == registers["late_frames"] == 0
        assert registers["deskew_failures"] == registers["send_overruns"] == 0
    return result


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.xdist_group("system2")
def test_split_gemm_on_two_chips_of_rtl():
    rng = np.random.default_rng(2)
    m, k, n = 32, 96, 64
    kernel = compile_split_gemm(CONFIG, m, k, n, multiplier=MULTIPLIER, shift=SHIFT)
    a, b = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
    result = check_on_rtl(kernel, kernel.program(a, b),
                          gemm_reference(a, b, None, MULTIPLIER, SHIFT), seed=5)
    gathered = (m * (n - kernel.shape["split"])) // CONFIG.lanes
    assert result["links"][(0, "link_e0")]["frames_received"] == gathered


#: Chip 0 SENDs in cycles 4, 8 (too soon: the interval is 5 on tiny) and 13; chip 1 RECEIVEs
#: in 82 (= 4 + 78, written to mem_w3 at 82 + 1 + 3 - 1 = 85), 86 (nothing: the SEND in 8 was
#: refused) and 92 (one cycle late for the delivery in 91, which is dropped).
LINK_ERRORS = ("""
.data mem_e3 0 0..47
.queue mem_e3.rd
    read 0 -> e2            ; cycle 0: at link_e0 (position 14) in 0 + 2 + 3 - 1 = 4
    nop 3
    read 1 -> e2            ; cycle 4: at the port in 8
    nop 4
    read 2 -> e2            ; cycle 9: at the port in 13
.queue link_e0.port
    nop 4
    send 2
    nop 3
    send 2
    nop 4
    send 2
""", """
.queue link_w0.port
    nop 82
    receive 7
    nop 3
    receive 7
    nop 5
    receive 7
.queue mem_w3.wr
    nop 85
    write e7 -> 5
.output y mem_w3 5 1
""")


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.xdist_group("system2")
def test_link_errors_on_two_chips_of_rtl():
    """The RTL raises LINK where the golden simulator does, at the hand-derived cycles."""
    programs = [assemble(text, CONFIG) for text in LINK_ERRORS]
    golden = ChipSystem([CONFIG] * 2, chain(2)).execute(programs)
    plan = ChipSystem([CONFIG], []).sims[0].plan
    expected = [(14, ErrorFlag.LINK, plan.queue("link_e0.port").number, 8),
                (93, ErrorFlag.LINK, plan.queue("link_w0.port").number, 86)]
    result = run_system_on_rtl(CONFIG, chain(2), programs, seed=4)
    for outcomes in (golden, result["outcomes"]):
        assert [(o.cycles, o.errors, o.error_queue, o.error_cycle) for o in outcomes] == \
            expected
        np.testing.assert_array_equal(outcomes[1].outputs["y"], np.arange(16)[None, :])
    # The link delivered both frames it carried; the port dropped the late one.
    assert result["links"][(1, "link_w0")]["frames_received"] == 2


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.xdist_group("system4")
def test_chain_of_four_chips_of_rtl():
    check_on_rtl(*chain_case(3, 16, [32, 48, 32, 64, 32]), seed=9)


@pytest.mark.model
@pytest.mark.verilator
def test_minilm_over_three_chips_on_the_rtl():
    """all-MiniLM-L6-v2 on a sentence of the evaluation file, two layers per chip, each chip
    holding its layers' weights in SRAM: the embedding read from the last chip is the golden
    model's, bit for bit."""
    config = preset("minilm").derive(links=1)
    encoder, tokenizer = minilm_model()
    tokens = encoder.check_tokens(tokenizer.encode(EVALUATION_FILE.read_text().splitlines()[0]))
    kernel = compile_encoder_system(config, encoder, len(tokens), 3)
    assert [k.layers for k in kernel.kernels] == [[0, 1], [2, 3], [4, 5]]
    check_on_rtl(kernel, kernel.program(encoder.word_embeddings[tokens]),
                 encoder.sentence_embedding(tokens)[None, :], seed=11)

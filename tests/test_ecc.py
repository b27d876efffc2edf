# amaranth: UnusedElaboratable=no
"""The SECDED code of the SRAM words (isa/ecc.py) and its RTL encoder and decoder (hdl/ecc.py).

The Python codec is proven by enumeration: every single-bit error of the 72-bit code word is
corrected and every double-bit error detected, for several data words, and the column
properties that make this hold for every data word (the code is linear) are asserted directly.
``encode`` is checked against the parity-check matrix applied bit by bit, and against a few
values worked out by hand from the construction rule. The RTL runs in Amaranth's simulator
against the Python codec, over every single and double error of two data words and random
errors of more bits, and its exported Verilog lints clean.
"""

import random
import re
from itertools import combinations

import pytest
from amaranth.sim import Simulator

from hdl.ecc import SecdedDecoder, SecdedEncoder, VectorSecdedDecoder, VectorSecdedEncoder
from isa.ecc import (CHECK_BITS, CHECK_COLUMNS, CODE_BITS, CODE_COLUMNS, DATA_BITS, ROW_WEIGHT,
                     WORD_BYTES, Decoded, EccStatus, code_word_bits, decode, decode_vector, encode,
                     encode_vector, stored_bits, syndrome)
from sim.lint import lint_file
from sim.verilog import export_component

ALL_ONES = (1 << DATA_BITS) - 1
#: Data words whose every single and double error the Python codec is run on.
DATA_WORDS = [0, ALL_ONES, 0x5555_5555_5555_5555] + \
    [random.Random(seed).getrandbits(DATA_BITS) for seed in range(4)]
SINGLES = [(position,) for position in range(CODE_BITS)]
DOUBLES = list(combinations(range(CODE_BITS), 2))


def flip(data, check, positions):
    """The stored word (``data``, ``check``) with code word bits ``positions`` inverted."""
    for position in positions:
        if position < DATA_BITS:
            data ^= 1 << position
        else:
            check ^= 1 << (position - DATA_BITS)
    return data, check


def secded_violations(columns):
    """Why the parity-check matrix with these 72 columns would not be SECDED (empty: it is).

    The syndrome of an error pattern is the XOR of its bits' columns (the code is linear), so
    a nonzero distinct column per bit makes every single error correctable, and a pair of
    columns whose XOR is neither zero nor a column makes that double error detected and never
    mistaken for a single one, whatever the data word."""
    problems = []
    if 0 in columns:
        problems.append("a zero column")
    if len(set(columns)) != len(columns):
        problems.append("repeated columns")
    for (i, a), (j, b) in combinations(enumerate(columns), 2):
        if a ^ b == 0 or a ^ b in columns:
            problems.append(f"bits {i} and {j}: syndrome {a ^ b:#04x}")
    return problems


# The table ------------------------------------------------------------------------------------

def test_table_is_a_balanced_hsiao_matrix():
    assert len(CHECK_COLUMNS) == DATA_BITS
    assert len(set(CHECK_COLUMNS)) == DATA_BITS
    assert all(0 <= column < 1 << CHECK_BITS for column in CHECK_COLUMNS)
    weights = [column.bit_count() for column in CHECK_COLUMNS]
    # Hsiao: the lightest odd weights, all 56 of weight 3 first, then 8 of weight 5.
    assert weights == [3] * 56 + [5] * 8
    units = {1 << j for j in range(CHECK_BITS)}
    assert not units & set(CHECK_COLUMNS)
    assert CODE_COLUMNS == CHECK_COLUMNS + tuple(1 << j for j in range(CHECK_BITS))
    # Every row of the data part has (56 * 3 + 8 * 5) / 8 = 26 ones.
    rows = [sum(column >> j & 1 for column in CHECK_COLUMNS) for j in range(CHECK_BITS)]
    assert rows == [26] * CHECK_BITS
    assert ROW_WEIGHT == 26


def test_table_follows_the_documented_rule():
    # Worked by hand: the first column is the smallest weight-3 value; the second avoids its
    # rows; the third takes the two rows left empty and the lowest loaded row. After the 56
    # weight-3 columns every row holds 21 ones, so the first weight-5 column is the smallest.
    assert CHECK_COLUMNS[:3] == (0b0000_0111, 0b0011_1000, 0b1100_0001)
    assert CHECK_COLUMNS[56] == 0b0001_1111


def test_columns_prove_single_correction_and_double_detection():
    assert secded_violations(CODE_COLUMNS) == []


@pytest.mark.parametrize("columns, problem", [
    (CODE_COLUMNS[:5] + CODE_COLUMNS[4:-1], "repeated columns"),
    # An even-weight column for data bit 0 is the syndrome of check bits 0 and 1 flipped.
    ((0b0000_0011,) + CODE_COLUMNS[1:], "bits 64 and 65: syndrome 0x03"),
    (CODE_COLUMNS[:-1] + (0,), "a zero column"),
])
def test_the_column_proof_can_fail(columns, problem):
    assert problem in secded_violations(columns)


# The Python codec -----------------------------------------------------------------------------

def test_encode_hand_computed_values():
    assert encode(0) == 0
    # Linearity: a single data bit's check bits are its column; two bits XOR theirs.
    assert [encode(1 << i) for i in range(DATA_BITS)] == list(CHECK_COLUMNS)
    assert encode(0b11) == 0b0011_1111
    # All ones: row j's parity is that of its 26 ones, even.
    assert encode(ALL_ONES) == 0


def test_code_words_satisfy_the_parity_check_matrix():
    rng = random.Random(1)
    for _ in range(200):
        data = rng.getrandbits(DATA_BITS)
        word = data | encode(data) << DATA_BITS
        for row in range(CHECK_BITS):
            parity = 0
            for position in range(CODE_BITS):
                parity ^= (word >> position) & (CODE_COLUMNS[position] >> row) & 1
            assert parity == 0, (hex(data), row)


def test_syndrome_is_the_xor_of_the_flipped_columns():
    rng = random.Random(2)
    for _ in range(200):
        data = rng.getrandbits(DATA_BITS)
        positions = rng.sample(range(CODE_BITS), rng.randint(1, 6))
        expected = 0
        for position in positions:
            expected ^= CODE_COLUMNS[position]
        assert syndrome(*flip(data, encode(data), positions)) == expected


@pytest.mark.parametrize("data", DATA_WORDS, ids=hex)
def test_every_single_error_is_corrected_and_every_double_detected(data):
    check = encode(data)
    assert decode(data, check) == Decoded(data, check, EccStatus.CLEAN, None)
    for (position,) in SINGLES:
        assert decode(*flip(data, check, [position])) == \
            Decoded(data, check, EccStatus.CORRECTED, position)
    assert len(DOUBLES) == 72 * 71 // 2
    for positions in DOUBLES:
        stored = flip(data, check, positions)
        assert decode(*stored) == Decoded(*stored, EccStatus.UNCORRECTABLE, None), positions


def test_vectors_are_independent_little_endian_words():
    rng = random.Random(3)
    for lanes in (16, 32, 320):
        vector = rng.randbytes(lanes)
        words = [int.from_bytes(vector[k:k + 8], "little") for k in range(0, lanes, 8)]
        checks = encode_vector(vector)
        assert checks == bytes(encode(word) for word in words)
        assert decode_vector(vector, checks) == \
            (vector, checks, tuple(Decoded(w, c, EccStatus.CLEAN, None)
                                   for w, c in zip(words, checks)))
    # Word 0: bit 5 of byte 3 (data bit 29); word 1: two bits; word 2: its check bit 7.
    vector = rng.randbytes(4 * WORD_BYTES)
    checks = encode_vector(vector)
    damaged = bytearray(vector)
    damaged[3] ^= 1 << 5
    damaged[8] ^= 1
    damaged[15] ^= 1 << 7
    damaged_checks = bytearray(checks)
    damaged_checks[2] ^= 1 << 7
    result = decode_vector(bytes(damaged), bytes(damaged_checks))
    assert [(word.status, word.position) for word in result.words] == [
        (EccStatus.CORRECTED, 29), (EccStatus.UNCORRECTABLE, None),
        (EccStatus.CORRECTED, DATA_BITS + 7), (EccStatus.CLEAN, None)]
    assert result.data == vector[:8] + bytes(damaged[8:16]) + vector[16:]
    assert result.checks == checks
    assert result.status is EccStatus.UNCORRECTABLE
    assert decode_vector(vector, checks).status is EccStatus.CLEAN


@pytest.mark.parametrize("call, error, message", [
    (lambda: encode(-1), ValueError, "data must be an unsigned integer of 64 bits, not -1"),
    (lambda: encode(1 << 64), ValueError,
     "data must be an unsigned integer of 64 bits, not 18446744073709551616"),
    (lambda: encode(1.0), TypeError, "data must be an integer, not 1.0"),
    (lambda: encode(True), TypeError, "data must be an integer, not True"),
    (lambda: decode(0, check=256), ValueError,
     "check must be an unsigned integer of 8 bits, not 256"),
    (lambda: syndrome(0, check=-3), ValueError,
     "check must be an unsigned integer of 8 bits, not -3"),
    (lambda: decode(1 << 64, 0), ValueError,
     "data must be an unsigned integer of 64 bits, not 18446744073709551616"),
    (lambda: encode_vector(bytes(12)), ValueError,
     "data must be a whole number of 64-bit words (a multiple of 8 bytes), not 12 bytes"),
    (lambda: decode_vector(bytes(17), bytes(2)), ValueError,
     "data must be a whole number of 64-bit words (a multiple of 8 bytes), not 17 bytes"),
    (lambda: decode_vector(bytes(16), bytes(3)), ValueError,
     "checks must hold one byte per 64-bit word of data (2), not 3 bytes"),
    (lambda: encode_vector([0] * 8), TypeError, "data must be bytes, not list"),
    (lambda: decode_vector(bytes(8), 0), TypeError, "checks must be bytes, not int"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call()


# The RTL --------------------------------------------------------------------------------------

def run_combinational(dut, inputs, outputs, cases):
    """Apply each tuple of ``cases`` to the ports ``inputs`` of ``dut``; the values of its
    ports ``outputs``, one tuple per case."""
    seen = []

    async def bench(ctx):
        for values in cases:
            for port, value in zip(inputs, values):
                ctx.set(getattr(dut, port), value)
            seen.append(tuple(ctx.get(getattr(dut, port)) for port in outputs))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return seen


def decoder_expectations(cases, model=decode):
    """What :class:`SecdedDecoder` must show for each stored word: (corrected, single,
    uncorrectable)."""
    expected = []
    for data, check in cases:
        result = model(data, check)
        expected.append((result.data, int(result.status == EccStatus.CORRECTED),
                         int(result.status == EccStatus.UNCORRECTABLE)))
    return expected


def decode_without_check_bit_correction(data, check):
    """A deliberately wrong model: it calls a check bit error uncorrectable."""
    result = decode(data, check)
    if result.position is not None and result.position >= DATA_BITS:
        return Decoded(data, check, EccStatus.UNCORRECTABLE, None)
    return result


def test_rtl_encoder_matches_encode():
    rng = random.Random(4)
    data = [0, ALL_ONES] + [1 << i for i in range(DATA_BITS)] + \
        [rng.getrandbits(DATA_BITS) for _ in range(300)]
    seen = run_combinational(SecdedEncoder(), ["data"], ["check"], [(d,) for d in data])
    assert seen == [(encode(d),) for d in data]


@pytest.mark.parametrize("data", [ALL_ONES, random.Random(5).getrandbits(DATA_BITS)], ids=hex)
def test_rtl_decoder_every_single_and_double_error(data):
    rng = random.Random(data)
    check = encode(data)
    patterns = [()] + SINGLES + DOUBLES
    # Errors of 3 to 8 bits: the RTL must do what the Python codec does (mostly detect, and
    # never differ).
    patterns += [tuple(rng.sample(range(CODE_BITS), rng.randint(3, 8))) for _ in range(300)]
    cases = [flip(data, check, positions) for positions in patterns]
    seen = run_combinational(SecdedDecoder(), ["data", "check"],
                             ["corrected", "single", "uncorrectable"], cases)
    expected = decoder_expectations(cases)
    assert seen == expected
    # Every outcome occurred, and the comparison catches a wrong model.
    assert {observed[1:] for observed in seen} == {(0, 0), (1, 0), (0, 1)}
    assert seen != decoder_expectations(cases, decode_without_check_bit_correction)


@pytest.mark.parametrize("words", [2, 4])
def test_rtl_vector_codec_matches_the_python_vectors(words):
    rng = random.Random(words)
    vectors = [rng.randbytes(words * WORD_BYTES) for _ in range(40)]
    seen = run_combinational(VectorSecdedEncoder(words), ["data"], ["check"],
                             [(int.from_bytes(v, "little"),) for v in vectors])
    assert seen == [(int.from_bytes(encode_vector(v), "little"),) for v in vectors]

    cases = []
    expected = []
    for vector in vectors:
        checks = encode_vector(vector)
        data = int.from_bytes(vector, "little")
        check = int.from_bytes(checks, "little")
        # Each word independently clean, with one flipped bit or with two.
        for k in range(words):
            count = rng.choice([0, 1, 2])
            for position in rng.sample(range(CODE_BITS), count):
                if position < DATA_BITS:
                    data ^= 1 << (DATA_BITS * k + position)
                else:
                    check ^= 1 << (CHECK_BITS * k + position - DATA_BITS)
        stored = data.to_bytes(len(vector), "little"), check.to_bytes(words, "little")
        result = decode_vector(*stored)
        statuses = {word.status for word in result.words}
        cases.append((data, check))
        expected.append((int.from_bytes(result.data, "little"),
                         int(EccStatus.CORRECTED in statuses),
                         int(EccStatus.UNCORRECTABLE in statuses)))
    seen = run_combinational(VectorSecdedDecoder(words), ["data", "check"],
                             ["corrected", "single", "uncorrectable"], cases)
    assert seen == expected
    assert {flags[1:] for flags in seen} == {(0, 0), (1, 0), (0, 1), (1, 1)}


@pytest.mark.parametrize("component", [VectorSecdedEncoder, VectorSecdedDecoder])
def test_rtl_vector_word_count_is_checked(component):
    with pytest.raises(ValueError, match=r"^ECC word count must be at least 1, not 0$"):
        component(0)
    with pytest.raises(TypeError, match=r"^ECC word count must be an integer, not 2\.0$"):
        component(2.0)


@pytest.mark.verilator
@pytest.mark.parametrize("name, build", [
    ("lpu_ecc_encoder", lambda: VectorSecdedEncoder(2)),
    ("lpu_ecc_decoder", lambda: VectorSecdedDecoder(2)),
])
def test_rtl_exports_lint_clean(name, build):
    result = lint_file(export_component(name, build), name)
    assert result.clean, result.summary() + "\n" + result.output[-3000:]


def test_stored_word_layout_hand_computed():
    # A 16-lane word: 128 data bits, then 2 check bytes; code word 1 is data bits 64..127 and
    # check bits 136..143.
    assert stored_bits(128) == 144
    assert code_word_bits(128, 1) == list(range(64, 128)) + list(range(136, 144))
    assert code_word_bits(128, 0) == list(range(64)) + list(range(128, 136))

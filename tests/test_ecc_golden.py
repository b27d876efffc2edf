"""ECC in the golden simulator: the vectorised codec against the word-by-word one of
:mod:`isa.ecc`, fault injection into its SRAMs, and what a run reports (counts, flags, first
error) for flips in words a program reads and in words the host unloads."""

import random

import numpy as np
import pytest

from golden.archsim import ArchSim, ChipError
from golden.archsim.ecc import check_bytes, correct
from isa import preset
from isa.ecc import (DATA_BITS, EccStatus, code_word_bits, decode_vector, encode_vector,
                     stored_bits)
from isa.formats import decode
from isa.geometry import QueueKind, floorplan
from isa.host import HOST_QUEUE, EccReport, ErrorFlag
from verification.programs import hand_written

CONFIG = preset("tiny")
PLAN = floorplan(CONFIG)
LANES = CONFIG.lanes
CODE_BITS = stored_bits(LANES * 8)


def stored(word):
    return word, check_bytes(word)


def flipped(word, checks, bits):
    """``(word, checks)`` with code word bits ``bits`` inverted (data bits, then check bits)."""
    word, checks = word.copy(), checks.copy()
    for bit in bits:
        if bit < LANES * 8:
            word[bit // 8] ^= 1 << bit % 8
        else:
            checks[(bit - LANES * 8) // 8] ^= 1 << (bit - LANES * 8) % 8
    return word, checks


def test_check_bytes_equal_the_word_by_word_code():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 256, (50, LANES), dtype=np.uint8)
    words[0] = 0
    words[1] = 255
    for word, checks in zip(words, check_bytes(words)):
        assert checks.tobytes() == encode_vector(word.tobytes())


def test_every_single_flip_corrected_and_every_double_in_a_code_word_detected():
    rng = np.random.default_rng(1)
    word, checks = stored(rng.integers(0, 256, LANES, dtype=np.uint8))
    for bit in range(CODE_BITS):
        data, status = correct(*flipped(word, checks, [bit]))
        assert status is EccStatus.CORRECTED and np.array_equal(data, word), bit
    # Every double flip within code word 1, and a sample across code words.
    code_word = code_word_bits(LANES * 8, 1)
    pairs = [(a, b) for i, a in enumerate(code_word) for b in code_word[i + 1:]]
    for a, b in pairs:
        read, checks_read = flipped(word, checks, [a, b])
        data, status = correct(read, checks_read)
        assert status is EccStatus.UNCORRECTABLE, (a, b)
        assert np.array_equal(data, read)                   # returned as read
        reference = decode_vector(read.tobytes(), checks_read.tobytes())
        assert reference.status is EccStatus.UNCORRECTABLE and reference.data == data.tobytes()
    assert len(pairs) == 72 * 71 // 2
    # One flip in each of two code words: both corrected.
    data, status = correct(*flipped(word, checks, [3, DATA_BITS + 9]))
    assert status is EccStatus.CORRECTED and np.array_equal(data, word)


def test_clean_words_are_clean():
    word, checks = stored(np.arange(LANES, dtype=np.uint8))
    data, status = correct(word, checks)
    assert status is EccStatus.CLEAN and np.array_equal(data, word)


def program_and_sim(seed=0):
    program, expected = hand_written(CONFIG, "add_requant", seed=seed)
    sim = ArchSim(CONFIG)
    program.load_into(sim)
    return program, expected, sim


def finish(program, sim):
    outcome = sim.run()
    outcome.outputs = program.read_outputs(sim)
    outcome.ecc = sim.chip.ecc
    return outcome


def test_single_flips_in_read_words_are_corrected_and_counted():
    program, expected, sim = program_and_sim()
    rng = random.Random(3)
    (first, _, words), (second, _, _) = program.sram
    for address in range(3):
        sim.flip_sram_bit(first, address, rng.randrange(CODE_BITS))
    sim.flip_sram_bit(second, len(words) - 1, CODE_BITS - 1)       # the last check bit
    outcome = finish(program, sim)
    assert outcome.errors == 0
    assert np.array_equal(outcome.outputs["out"], expected["out"])
    assert outcome.ecc == EccReport(corrected=4)


def test_a_double_flip_is_flagged_on_the_read_queue_with_its_place_and_cycle():
    program, expected, sim = program_and_sim()
    (index, address, _), _ = program.sram
    sim.flip_sram_bit(index, address + 5, 0)
    sim.flip_sram_bit(index, address + 5, LANES * 8)          # check bit 0 of code word 0
    traced = sim.run(trace=True)
    queue = {q.name: q.number for q in PLAN.queues}[f"{PLAN.mem_units[index].name}.rd"]
    # The word leaves the slice the cycle after its READ issued.
    (read_cycle,) = [cycle for cycle, word, offset in traced.issues(queue)
                     if decode(QueueKind.MEM_READ, word).addr + offset == address + 5]
    assert traced.errors == ErrorFlag.ECC_UNCORRECTABLE
    assert traced.error_queue == queue
    assert sim.chip.ecc.uncorrectable == 1
    assert (sim.chip.ecc.slice, sim.chip.ecc.address) == (index, address + 5)
    assert sim.chip.ecc.cycle == traced.error_cycle == read_cycle + 1


def test_flips_in_results_are_handled_on_unload():
    program, expected, sim = program_and_sim()
    sim.run()
    (region,) = program.outputs
    sim.flip_sram_bit(region.slice, region.address, 7)
    sim.flip_sram_bit(region.slice, region.address + 2, 1)
    sim.flip_sram_bit(region.slice, region.address + 2, 2)
    out = sim.read_sram(region.slice, region.address, region.count)
    assert np.array_equal(out[0], expected["out"][0])
    assert not np.array_equal(out[2], expected["out"][2])
    ecc = sim.chip.ecc
    assert (ecc.corrected, ecc.uncorrectable, ecc.slice, ecc.address) == \
        (1, 1, region.slice, region.address + 2)
    assert (sim.chip.errors, sim.chip.error_queue) == (ErrorFlag.ECC_UNCORRECTABLE, HOST_QUEUE)
    sim.clear()
    assert sim.chip.ecc == EccReport() and sim.chip.errors == 0


@pytest.mark.parametrize("args, message", [
    ((len(PLAN.mem_units), 0, 0), "SRAM index"),
    ((0, CONFIG.words, 0), f"SRAM address {CONFIG.words} out of range"),
    ((0, 0, CODE_BITS), f"SRAM bit {CODE_BITS} out of range (0..{CODE_BITS - 1})"),
    ((0, 0, -1), "SRAM bit -1 out of range"),
    ((0, "0", 0), "SRAM address '0' out of range"),
])
def test_bad_flips_are_refused_and_change_nothing(args, message):
    _, _, sim = program_and_sim()
    before = [(m.sram.data.copy(), m.sram.checks.copy()) for m in sim.chip.mems]
    with pytest.raises(ChipError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sim.flip_sram_bit(*args)
    for (data, checks), mem in zip(before, sim.chip.mems):
        assert np.array_equal(data, mem.sram.data) and np.array_equal(checks, mem.sram.checks)

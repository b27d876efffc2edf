"""cocotb testbench of the chip's SECDED ECC (preset ``tiny``): bits of stored SRAM words
flipped in the RTL (:mod:`verification.faults`) and the same bits in the golden simulator.

Oracles: the golden simulator with the same flips (every register, the ECC ones included,
and every output word must agree), NumPy's expected outputs (single flips must leave them
bit-exact), and the count of flipped words the program reads (hand-derived from the program).
"""

import random

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge

from golden.archsim import ArchSim
from isa import preset
from isa import ecc
from isa.geometry import floorplan
from isa.host import HOST_QUEUE, EccReport, ErrorFlag, Reg
from .compare import compare_runs
from .faults import code_bits, flip_golden, flip_rtl
from .host import HostDriver
from .programs import hand_written

CONFIG = preset("tiny")
TIMEOUT = {"timeout_time": 2, "timeout_unit": "ms"}
COUNT = 8                   # words of each input of the program
#: Cycles after the last fast-port write by which it is stored.
SETTLE = 3


def code_word_bits(word):
    """The bits of code word ``word`` of a stored vector: its 64 data bits and 8 check bits."""
    return ecc.code_word_bits(CONFIG.vector_bits, word)


async def run_with_flips(dut, flips, *, after=()):
    """Load the ``add_requant`` program (inputs: ``COUNT`` words at address 0 of two slices),
    flip ``flips`` (``[(slice, address, bits)]``) after loading and ``after`` once the run is
    over, before its outputs are read; the same on the golden simulator. Returns ``(program,
    expected, golden outcome, RTL outcome, after)``, ``after`` holding each engine's ERRORS and
    ERROR_QUEUE once the outputs are read."""
    host = HostDriver(dut, CONFIG)
    await host.reset()
    program, expected = hand_written(CONFIG, "add_requant", seed=len(flips), count=COUNT)
    await host.load(program)
    # The last words loaded are still on their way to the SRAMs (the fast port registers each
    # request): flip only once they are stored.
    await ClockCycles(dut.clk, SETTLE)
    for index, address, bits in flips:
        flip_rtl(dut, CONFIG, index, address, bits)
    await RisingEdge(dut.clk)
    outcome = await host.run(timeout_cycles=10_000)
    for index, address, bits in after:
        flip_rtl(dut, CONFIG, index, address, bits)
    await RisingEdge(dut.clk)
    outcome.outputs = {r.name: await host.read_sram(r.slice, r.address, r.count)
                       for r in program.outputs}
    outcome.ecc = await host.ecc_report()
    registers = {"rtl": (await host.read_reg(Reg.ERRORS), await host.read_reg(Reg.ERROR_QUEUE))}

    sim = ArchSim(CONFIG)
    program.load_into(sim)
    for index, address, bits in flips:
        flip_golden(sim, index, address, bits)
    golden = sim.run()
    for index, address, bits in after:
        flip_golden(sim, index, address, bits)
    golden.outputs = program.read_outputs(sim)
    golden.ecc = sim.chip.ecc
    registers["golden"] = (sim.chip.errors, sim.chip.error_queue)
    return program, expected, golden, outcome, registers


def input_words(program):
    """``[(slice, address)]`` of every word the program loads (and reads once)."""
    return [(index, address + k) for index, address, words in program.sram
            for k in range(len(words))]


@cocotb.test(**TIMEOUT)
async def single_flips_are_corrected(dut):
    """One bit flipped in each of six input words, data or check bits: the results stay
    bit-exact, six words are counted corrected, nothing is flagged."""
    program, _ = hand_written(CONFIG, "add_requant", seed=6, count=COUNT)
    rng = random.Random(1)
    targets = rng.sample(input_words(program), 6)
    flips = [(index, address, [rng.randrange(code_bits(CONFIG))])
             for index, address in targets]
    program, expected, golden, rtl, _ = await run_with_flips(dut, flips)
    comparison = compare_runs(program, {"golden": golden, "rtl": rtl}, expected=expected,
                              name="single flips")
    assert comparison.ok, comparison.report()
    assert rtl.ecc == EccReport(corrected=6), rtl.ecc


@cocotb.test(**TIMEOUT)
async def double_flips_are_flagged(dut):
    """Two bits of one code word of an input word: the read is counted uncorrectable and
    flags ECC_UNCORRECTABLE on the slice's read queue, with the slice, address and cycle of
    the word, as in the golden simulator; a single flip elsewhere is still corrected."""
    program, _ = hand_written(CONFIG, "add_requant", seed=2, count=COUNT)
    (index, address), (other, other_address) = input_words(program)[3], input_words(program)[-2]
    rng = random.Random(2)
    flips = [(index, address, rng.sample(code_word_bits(1), 2)),
             (other, other_address, [rng.randrange(code_bits(CONFIG))])]
    program, _, golden, rtl, _ = await run_with_flips(dut, flips)
    comparison = compare_runs(program, {"golden": golden, "rtl": rtl}, errors="equal",
                              name="double flip")
    assert comparison.ok, comparison.report()
    assert rtl.errors == ErrorFlag.ECC_UNCORRECTABLE
    assert rtl.ecc.uncorrectable == 1 and rtl.ecc.corrected == 1, rtl.ecc
    assert (rtl.ecc.slice, rtl.ecc.address) == (index, address), rtl.ecc
    plan = floorplan(CONFIG)
    queue = {q.name: q.number for q in plan.queues}
    assert rtl.error_queue == queue[f"{plan.mem_units[index].name}.rd"]


@cocotb.test(**TIMEOUT)
async def flips_in_results_are_corrected_or_flagged_on_unload(dut):
    """Bits flipped in the output words after the run: the host's unload returns a single
    flip corrected and counts it, and counts and flags a double one (ERROR_QUEUE: the host)."""
    program, _ = hand_written(CONFIG, "add_requant", seed=0, count=COUNT)
    (region,) = program.outputs
    after = [(region.slice, region.address + 1, [5]),
             (region.slice, region.address + 4, code_word_bits(0)[10:12])]
    program, expected, golden, rtl, registers = await run_with_flips(dut, [], after=after)
    comparison = compare_runs(program, {"golden": golden, "rtl": rtl}, errors="equal",
                              name="unload flips")
    assert comparison.ok, comparison.report()
    assert rtl.ecc.corrected == 1 and rtl.ecc.uncorrectable == 1, rtl.ecc
    assert (rtl.ecc.slice, rtl.ecc.address) == (region.slice, region.address + 4)
    out = rtl.outputs[region.name]
    assert np.array_equal(np.delete(out, 4, axis=0), np.delete(expected["out"], 4, axis=0))
    assert not np.array_equal(out[4], expected["out"][4])
    # The unload's error is the host's, raised after the run's registers were read.
    assert rtl.errors == 0
    assert registers["rtl"] == registers["golden"] == (ErrorFlag.ECC_UNCORRECTABLE, HOST_QUEUE)

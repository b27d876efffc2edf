"""The chip on Amaranth's own simulator (``make bench``'s second simulator): a program loaded
through its backdoor runs to its end in the cycles the compiler predicts."""

from hdl.predecode import PREDECODED, Kind
from isa import preset
from isa.formats import WORD_BITS
from isa.opcodes import ControlOp
from sim.amaranth_sim import run_on_amaranth, stored_words
from verification.regression import case_specs


def test_a_program_runs_its_predicted_cycles():
    # The switch case: every queue of the switch units and the MEM slices runs, for 140 cycles
    # on `fpga`; a queue whose start-cycle copy or predecoded bits were missing would halt at
    # once or run on.
    case = dict(case_specs(preset("fpga")))["switch"]()
    run = run_on_amaranth(case.program, max_cycles=10 * case.program.predicted_cycles)
    assert run.finished
    assert run.cycles == case.program.predicted_cycles > 0


def test_stored_words_carry_the_predecoded_bits():
    # HALT, all fields 0: kind HALT, its count (REPEAT's count field) 0, REPEAT's gap 0.
    assert ControlOp.HALT.value == 0 and Kind.HALT.value == 0
    flags = sum(1 << (WORD_BITS + PREDECODED[name].offset) for name in ("count_zero", "gap_zero"))
    assert stored_words([0, 0]) == [flags, flags]

"""The GEMM compiler on the golden simulator: results equal the NumPy definition (itself checked
against exact integers), simulated length equals the prediction, and utilisation is high."""

import numpy as np
import pytest

from compiler.gemm import compile_gemm
from compiler.queues import ScheduleError
from verification.reference import gemm_reference
from golden.archsim import ArchSim
from isa import preset
from isa.geometry import floorplan
from isa.opcodes import DType
from verification.gemm_cases import gemm_case, random_shapes


def run_golden(case):
    sim = ArchSim(case.config)
    case.program.load_into(sim)
    result = sim.run()
    return result, case.kernel.decode_outputs(case.program.read_outputs(sim))


def check(case):
    result, output = run_golden(case)
    assert result.errors == 0
    assert result.cycles == case.kernel.predicted_cycles
    np.testing.assert_array_equal(output, case.expected)
    return result


def test_reference_matches_exact_integers():
    rng = np.random.default_rng(0)
    a, b = rng.integers(-128, 128, (3, 70)), rng.integers(-128, 128, (70, 5))
    bias = rng.integers(-1000, 1000, 5)
    exact = np.array([[sum(int(a[i, k]) * int(b[k, j]) for k in range(70)) + int(bias[j])
                       for j in range(5)] for i in range(3)])
    np.testing.assert_array_equal(gemm_reference(a, b, bias), exact)
    # Requantisation by 0.5 (2**30 in Q31) rounds ties up: floor((x + 1) / 2); the shift of -1
    # then halves again, rounding ties away from zero. (Two roundings, as TFLite's reference.)
    half = (exact + 1) // 2
    quarter = np.sign(half) * ((np.abs(half) + 1) // 2)
    np.testing.assert_array_equal(gemm_reference(a, b, bias, 1 << 30, -1, DType.I32), quarter)


@pytest.mark.parametrize("preset_name", ["tiny", "default", "fpga"])
@pytest.mark.parametrize("shape", [(1, 16, 16), (5, 40, 24), (33, 17, 70), (64, 64, 64)])
def test_small_gemms(preset_name, shape):
    check(gemm_case(preset(preset_name), *shape, seed=sum(shape)))


@pytest.mark.parametrize("options", [
    {"bias": False}, {"per_channel": True}, {"requantise": False},
    {"per_channel": True, "out_dtype": DType.I16},
])
def test_gemm_variants(options):
    check(gemm_case(preset("tiny"), 20, 50, 40, seed=5, **options))


@pytest.mark.parametrize("preset_name", ["tiny", "default", "fpga"])
def test_random_shapes(preset_name):
    for m, k, n in random_shapes(3, seed=11, limit=96):
        check(gemm_case(preset(preset_name), m, k, n, seed=m + k + n, per_channel=True))


def test_rows_beyond_the_accumulators_are_blocked():
    config = preset("tiny")
    case = gemm_case(config, config.mxm_acc_depth + 9, 32, 16, seed=3)
    check(case)


def test_utilisation_of_a_tall_gemm():
    """M >= 64: the weight loads hide behind the multiplies (>= 90% of the array busy)."""
    case = gemm_case(preset("default"), 64, 192, 128, seed=1)
    check(case)
    assert case.kernel.utilisation() >= 0.9


def test_checker_fails_on_a_deliberately_wrong_result():
    case = gemm_case(preset("tiny"), 8, 20, 16, seed=2)
    case.expected = case.expected.copy()
    case.expected[3, 5] ^= 1
    with pytest.raises(AssertionError):
        check(case)


def test_bad_shapes_are_clear_errors():
    with pytest.raises(ValueError, match="GEMM dimension k must be a positive integer, not 0"):
        compile_gemm(preset("tiny"), 4, 0, 4, multiplier=1, shift=0)
    kernel = compile_gemm(preset("tiny"), 2, 3, 4, multiplier=1 << 30, shift=0)
    with pytest.raises(ValueError, match=r"operands must have shapes \(2, 3\) and \(3, 4\)"):
        kernel.program(np.zeros((3, 2)), np.zeros((3, 4)))


@pytest.mark.parametrize("fold", [2, 4, 16])
@pytest.mark.parametrize("shape", [(1, 16, 16), (5, 40, 24), (33, 17, 70), (64, 64, 64)])
def test_folded_matrix_units(fold, shape):
    # A folded unit takes an activation every `fold` cycles; the MMs are spaced to match (an MM
    # issued while the array is busy would raise BAD_OPERAND in the golden simulator).
    config = preset("tiny").derive(mxm_fold=fold)
    case = gemm_case(config, *shape, seed=sum(shape) + fold, per_channel=True)
    check(case)
    mm_cycles = _issue_cycles(case.program, "mxm_w0.mm")
    assert mm_cycles
    assert all(b - a >= fold for a, b in zip(mm_cycles, mm_cycles[1:]))


@pytest.mark.parametrize("vxm_fold, mxm_fold", [(2, 2), (4, 4), (4, 16)])
@pytest.mark.parametrize("shape", [(1, 16, 16), (33, 17, 70), (64, 64, 64)])
def test_folded_alus_requantise_at_the_units_pace(vxm_fold, mxm_fold, shape):
    # One ALU per matrix unit requantises its rows as they arrive, one every mxm_fold cycles:
    # a folded ALU keeps pace while vxm_fold <= mxm_fold.
    config = preset("tiny").derive(vxm_fold=vxm_fold, mxm_fold=mxm_fold)
    case = gemm_case(config, *shape, seed=sum(shape) + vxm_fold, per_channel=True)
    check(case)
    for alu in range(config.vxm_alus):
        cycles = _issue_cycles(case.program, f"vxm.alu{alu}")
        assert all(b - a >= vxm_fold for a, b in zip(cycles, cycles[1:])), alu


def test_an_alu_slower_than_the_unit_is_refused():
    with pytest.raises(ScheduleError, match=r"every 4 cycles \(vxm_fold\); the unit emits "
                                            r"one every 2 \(mxm_fold\)"):
        compile_gemm(preset("tiny").derive(vxm_fold=4, mxm_fold=2), 8, 16, 16, requantise=False)


def test_folded_tall_gemm_keeps_the_array_busy():
    case = gemm_case(preset("tiny").derive(mxm_fold=16), 64, 64, 64, seed=4)
    check(case)
    assert case.kernel.utilisation() >= 0.99


def _issue_cycles(program, queue):
    """Cycles in which ``queue`` (a matrix unit's MM queue, whose only unit instruction is MM,
    or a VXM ALU's) issues, from the golden simulator's trace."""
    sim = ArchSim(program.config)
    program.load_into(sim)
    number = floorplan(program.config).queue(queue).number
    return [cycle for cycle, _, _ in sim.run(trace=True).issues(number)]

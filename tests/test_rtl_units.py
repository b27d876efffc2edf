"""Unit-level cocotb testbenches on Verilator: the stream fabric, a MEM slice, the VXM, an
instruction queue, the host interface and the whole chip seen from its host port.

Each unit is built once (cached under ``build/sim/<unit>``) from the Verilog of its harness
(:mod:`verification.harness`); the chip shares the system tests' build of preset ``tiny``.
Every testbench checks the RTL against an oracle written independently of it; the
``test_checker_can_fail`` tests run a testbench with its model's deliberate error
(``LPU_FAULT=1``) and require it to fail. The last tests pin bugs these testbenches found.
"""

import pytest

from compiler.asm import assemble

from isa import preset
from sim.env import BUILD
from sim.runner import CocotbFailure, run_cocotb
from hdl.chip import CHIP_MODULE
from sim.verilog import export_chip
from verification.harness import UNITS, export_unit
from verification.system import chip_build_dir, run_programs_on_rtl

pytestmark = pytest.mark.verilator

#: ``{unit: testcase}``: a short test of each unit's testbench that exercises its model fully
#: enough for the deliberate model error to show.
FAULT_CASES = {
    "fabric": "random_traffic_matches_the_model",
    "mem": "random_program_matches_the_model",
    "vxm": "random_programs_match_the_model",
    "vxm_folded": "random_programs_match_the_model",
    "icu": "random_programs_match_the_model",
    "host": "fast_port_requests_and_read_data",
    "mxm": "random_programs_match_the_model",
    "mxm_folded": "random_programs_match_the_model",
    "sxm": "random_operations_match_the_model",
    "sxm_folded": "random_operations_match_the_model",
    "chip_host": "program_matches_the_golden_simulator",
}


def run_unit(unit, *, testcase=None, fault=False, extra_env=None, run_name="run"):
    """Run unit ``unit``'s cocotb module (all its tests, or ``testcase``)."""
    # Rewrite assertions only in the testbench modules: rewriting every module the simulator
    # imports (cocotb's default) costs about a second per run.
    env = {"COCOTB_REWRITE_ASSERTION_FILES": "tb_*.py", **(extra_env or {})}
    if fault:
        env["LPU_FAULT"] = "1"
    if unit in ("chip_host", "chip_axi", "chip_ecc"):
        config = preset("tiny")
        return run_cocotb(toplevel=CHIP_MODULE, sources=[export_chip(config)],
                          test_module=f"verification.tb_{unit}",
                          build_dir=chip_build_dir(config), testcase=testcase, extra_env=env,
                          run_name=f"{unit}-{run_name}")
    _, module = UNITS[unit]
    return run_cocotb(toplevel=f"lpu_{unit}", sources=[export_unit(unit)], test_module=module,
                      build_dir=BUILD / "sim" / unit, testcase=testcase, extra_env=env,
                      run_name=run_name)


def test_fabric():
    run_unit("fabric")


def test_mem():
    run_unit("mem")


def test_vxm():
    run_unit("vxm")


def test_vxm_folded():
    """The vector unit with ``vxm_fold = 4``: latency, issue interval, table and constant
    timing, and the unfolded ALU's results (verification/tb_vxm_folded.py)."""
    run_unit("vxm_folded")


def test_icu():
    run_unit("icu")


def test_host():
    run_unit("host")


def test_chip_host():
    run_unit("chip_host")


def test_chip_ecc():
    """Bits flipped in stored SRAM words on the RTL and the golden simulator: single flips
    corrected and counted, double flips flagged (verification/tb_chip_ecc.py)."""
    run_unit("chip_ecc")


def test_chip_axi_port():
    """The whole chip's AXI4-Lite port under a manager that starts right after reset, splits
    the write channels and holds its response channels (verification/tb_chip_axi.py)."""
    run_unit("chip_axi")


def test_mxm():
    run_unit("mxm")


def test_mxm_folded():
    """The matrix unit with ``mxm_fold = 4``: issue interval, latency and busy flags."""
    run_unit("mxm_folded")


def test_sxm():
    run_unit("sxm")


def test_sxm_folded():
    """The switch unit with ``sxm_fold = 4``: latency, issue interval, busy flags, clear, and
    every operation against the model (verification/tb_sxm.py)."""
    run_unit("sxm_folded")


@pytest.mark.parametrize("unit", sorted(FAULT_CASES))
def test_checker_can_fail(unit):
    with pytest.raises(CocotbFailure, match="cocotb tests of .* failed"):
        run_unit(unit, testcase=FAULT_CASES[unit], fault=True, run_name="fault")


# ---- Regressions of bugs these testbenches found. ----

def test_two_ldcs_in_one_cycle():
    run_unit("vxm", testcase="two_ldcs_to_different_registers", run_name="ldc")


def test_conflict_with_a_dropped_instruction():
    run_unit("chip_host", testcase="conflict_with_a_dropped_instruction", run_name="conflict")


def test_a_transfer_racing_a_start_at_is_refused():
    run_unit("chip_host", testcase="a_transfer_racing_a_start_at_is_refused", run_name="race")


def test_system_runner_runs_consecutive_programs():
    """A second run must not see the first run's DONE, and a shorter program must not run on
    into the previous program's instructions."""
    config = preset("tiny")
    programs = [assemble(".queue vxm.alu0\n nop 5\n nop 5\n nop 5\n", config),
                assemble(".queue vxm.alu0\n nop 5\n", config)]
    results = run_programs_on_rtl(config, programs, name="consecutive")
    assert [result.cycles for result in results] == [15, 5]

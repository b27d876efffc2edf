# amaranth: UnusedElaboratable=no
"""The chip's AXI4-Lite port, checked formally from reset on (SymbiYosys, z3): proved by
k-induction for runs of any length, the protocol rules alone by BMC, a planted bug caught, and
every response reachable. The bug this check guards against (a request during the reset
synchroniser's window, handshaked and never answered) is reproduced on the RTL by
``tests/test_rtl_units.py::test_chip_axi_port`` (``verification/tb_chip_axi.py``)."""

import inspect

import pytest

from isa.config import preset
from sim.formal import FormalError, run_sby
from verification import axi_properties
from verification.axi_properties import AxiLiteRules
from verification.chip_axi_formal import PLANTED_BUGS, check_chip_axi


def _line_of(module, text):
    """``file:line`` of the one line of ``module`` that contains ``text``."""
    lines = inspect.getsource(module).splitlines()
    found = [number for number, line in enumerate(lines, start=1) if text in line]
    assert len(found) == 1, (text, found)
    return f"{inspect.getsourcefile(module)}:{found[0]}"


def test_port_proved_by_induction():
    result = check_chip_axi(preset("default"), mode="prove", depth=8, contract=True)
    assert result.status == "PASS", result
    assert "k-induction" in result.proof


def test_protocol_rules_hold_to_depth_12():
    """The rules on their own, without the port's contract that makes them inductive."""
    result = check_chip_axi(preset("tiny"), mode="bmc", depth=12, contract=False)
    assert result.status == "PASS", result


@pytest.mark.parametrize("bug", sorted(PLANTED_BUGS))
def test_planted_bug_fails_the_rules(bug):
    result = check_chip_axi(preset("tiny"), mode="bmc", depth=8, contract=False, bug=bug)
    assert result.status == "FAIL", result
    unanswered = _line_of(axi_properties, "Assert(waited < self.response_bound)")
    assert any(failure.startswith(unanswered) for failure in result.failed), result.failed


def test_read_and_write_responses_reachable():
    """The assumptions leave room for real traffic: a read and a write each complete."""
    result = check_chip_axi(preset("tiny"), mode="cover", depth=10, contract=False)
    assert result.status == "PASS", result
    cover = _line_of(axi_properties, "Cover(r & ~rst), Cover(b & ~rst)")
    assert len([r for r in result.reached if r.startswith(cover)]) == 2, result.reached


def test_bad_arguments_named(tmp_path):
    with pytest.raises(ValueError, match="'nonsense'"):
        check_chip_axi(preset("tiny"), mode="bmc", depth=4, contract=False, bug="nonsense")
    with pytest.raises(ValueError, match="'liveness'"):
        run_sby(tmp_path, files={}, script=[], mode="liveness", depth=4)
    with pytest.raises(ValueError, match="0"):
        run_sby(tmp_path, files={}, script=[], mode="bmc", depth=0)
    with pytest.raises(ValueError, match="response_bound"):
        AxiLiteRules(None, None, domain="check", response_bound=0)
    with pytest.raises(ValueError, match="max_outstanding"):
        AxiLiteRules(None, None, domain="check", response_bound=1, max_outstanding=0)


def test_script_error_is_not_a_verdict(tmp_path):
    with pytest.raises(FormalError, match="no verdict"):
        run_sby(tmp_path / "job", files={"top.v": "module top(; endmodule\n"},
                script=["read_verilog top.v", "prep -top top"], mode="bmc", depth=2)

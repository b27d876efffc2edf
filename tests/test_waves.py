"""sim.waves.cut_vcd on a hand-written dump: the window is cut at the program cycles asked for,
a default signal the chip does not have is left out, and a signal the user names must exist."""

import pytest

from sim.waves import DEFAULT_SIGNALS, WavesError, cut_vcd, read_vcd_header

# A chip top with the clock, the run state, the cycle counter and one queue's program counter
# (no VXM result registers, as on a chip with one ALU). Clock period 10; the program runs
# from time 20, its cycle counter counting from 0 at each rising edge.
DUMP = """$timescale 1ns $end
$scope module TOP $end
$scope module lpu_chip $end
$var wire 1 ! clk $end
$var wire 1 " running $end
$var wire 8 # cycle $end
$scope module q0_mem_w0_rd $end
$var wire 4 $ pc $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
0!
0"
b0 #
b0 $
"""


def dump(tmp_path):
    lines = [DUMP]
    for period in range(8):
        time = 10 * period
        running = period >= 2
        cycle = period - 2 if running else 0
        lines += [f"#{time}", "1!", f"{int(running)}\"", f"b{cycle:b} #", f"b{cycle % 16:b} $",
                  f"#{time + 5}", "0!"]
    path = tmp_path / "raw.vcd"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_missing_default_signal_is_left_out(tmp_path):
    target = tmp_path / "cut.vcd"
    signals, periods = cut_vcd(dump(tmp_path), target, first=1, last=3)
    assert periods == 3
    with open(target) as handle:
        _, variables = read_vcd_header(handle)
    assert {v.path for v in variables} >= {"clk", "running", "cycle", "q0_mem_w0_rd.pc"}
    assert not any(v.path and v.path.startswith("vxm.") for v in variables)
    assert "vxm.unit.result_*" in DEFAULT_SIGNALS


def test_a_signal_the_user_names_must_exist(tmp_path):
    with pytest.raises(WavesError, match="no signal of the chip matches "
                                         "'mem_w0.east_hop.value_\\*'"):
        cut_vcd(dump(tmp_path), tmp_path / "cut.vcd", first=1, last=3,
                patterns=DEFAULT_SIGNALS + ("mem_w0.east_hop.value_*",))

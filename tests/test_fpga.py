"""Full ECP5 synthesis and place-and-route (``make fpga``; not in the default tier).

The ``fpga`` preset must fit the LFE5U-85F with its SRAMs in block RAM and multipliers on DSPs,
and the report must state an Fmax; the ULX3S bitstream must build. Each run takes tens of
minutes on two cores.
"""

import math

import pytest

from hdl.board import BoardTop
from isa.config import preset
from isa.formats import WORD_BITS
from sim.fpga import LFE5U_85F, build_board, probe, report_chip

pytestmark = pytest.mark.fpga

#: The preset ``make fpga`` reports on.
FPGA_PRESET = "fpga"


@pytest.fixture(scope="module")
def report():
    return report_chip(preset(FPGA_PRESET), device=LFE5U_85F)


def test_fpga_preset_fits(report):
    for kind, (used, available) in report.utilisation.items():
        assert used <= available, f"{kind}: {used} of {available}"


def test_srams_are_block_ram_and_multipliers_dsps(report):
    assert report.utilisation["DP16KD"][0] > 0
    assert report.utilisation["MULT18X18D"][0] > 0


def test_report_states_fmax_and_critical_path(report):
    assert report.fmax_mhz > 0
    assert report.critical_path, "no critical path in the report"
    # The path's delays, parsed step by step, add up to the period of the stated Fmax.
    assert report.fmax_mhz == pytest.approx(1000 / report.critical_path_ns, rel=0.01)


def test_board_bitstream_builds():
    result, bitstream = build_board(preset(FPGA_PRESET))
    assert bitstream.stat().st_size > 100_000
    # The board clocks the chip from its PLL: the placed design must reach that clock.
    assert result.fmax_mhz >= BoardTop.CLOCK_MHZ


def test_probe_separates_a_units_memories():
    # An instruction queue of `tiny`: in place, its instruction memory takes the block RAM
    # count of the best DP16KD aspect ratio (16K x 1 ... 512 x 36). Dropped, no RAM is left;
    # alone, it is RAM without the queue's program-counter arithmetic (carry chains). Alone,
    # its ports are independent, which may cost Yosys more blocks than in place.
    config = preset("tiny")
    modes = [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)]
    blocks = min(math.ceil(config.queue_depth / depth) * math.ceil(WORD_BITS / width)
                 for depth, width in modes)
    _, kept = probe(config, "lpu_icu")
    _, dropped = probe(config, "lpu_icu", memories="drop")
    _, only = probe(config, "lpu_icu", memories="only")
    assert kept.get("DP16KD") == blocks and kept.get("CCU2C", 0) > 0
    assert "DP16KD" not in dropped
    assert only.get("DP16KD", 0) >= blocks and "CCU2C" not in only

"""The soak (verification/soak.py, `make soak`): its program draw, and a short soak on the
RTL (slow tier; `make soak` runs the million cycles)."""

import pytest

from commands import soak as soak_command
from isa import preset
from verification.soak import KINDS, run_soak, soak_cases


def test_soak_draw_is_reproducible_and_long_enough():
    config = preset("tiny")
    first, refused = soak_cases(config, cycles=5_000, seed=5)
    again, _ = soak_cases(config, cycles=5_000, seed=5)
    other, _ = soak_cases(config, cycles=5_000, seed=6)
    signature = [(kind, case.name, case.program.predicted_cycles) for kind, case in first]
    assert signature == [(kind, case.name, case.program.predicted_cycles)
                         for kind, case in again]
    assert signature != [(kind, case.name, case.program.predicted_cycles)
                         for kind, case in other]
    total = sum(case.program.predicted_cycles for _, case in first)
    assert total >= 5_000
    # Stops as soon as the target is reached.
    assert total - first[-1][1].program.predicted_cycles < 5_000
    assert {kind for kind, _ in first} <= set(KINDS)
    assert len({kind for kind, _ in first}) >= 3
    assert refused >= 0


def test_soak_arguments_refused_with_their_value(capsys):
    with pytest.raises(ValueError, match="'many'"):
        soak_cases(preset("tiny"), cycles="many", seed=0)
    with pytest.raises(SystemExit) as exit:
        soak_command.main(["--cycles", "0"])
    assert exit.value.code == 2
    assert "--cycles must be at least 1, not 0" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.xdist_group("system-tiny")
def test_short_soak_on_the_rtl():
    report = run_soak(preset("tiny"), cycles=30_000, seed=1)
    assert report.ok, report.table()
    assert report.cycles >= 30_000
    assert report.programs == sum(report.kinds.values()) >= 10

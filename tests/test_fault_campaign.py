"""The ECC fault campaign (verification/fault_campaign.py, `make faults`): its plan, its
oracle (which must be able to call a run silent or wrong), and a campaign of 300 injections on
the RTL in the default tier (`make faults` runs 10,000)."""

import dataclasses

import pytest

from commands import faults as faults_command
from isa import preset
from isa.host import EccReport, ErrorFlag, RunOutcome
from verification.fault_campaign import classify, expectation, plan_campaign, run_campaign

CONFIG = preset("tiny")


@pytest.fixture(scope="module")
def plan():
    return plan_campaign(CONFIG, 40, seed=3)


def test_plan_is_reproducible_and_targets_read_words(plan):
    programs, injections = plan
    again = plan_campaign(CONFIG, 40, seed=3)[1]
    assert injections == again
    assert [i.kind for i in injections] == ["single", "double"] * 20
    assert len({i.program for i in injections}) == len(programs) >= 5
    for injection in injections:
        entry = programs[injection.program]
        assert entry.reads[(injection.slice, injection.address)]
        if injection.kind == "double":
            # Both bits in one 72-bit code word (data bits 64k.., check bits 8k.. above them).
            words = {bit // 64 if bit < CONFIG.vector_bits else
                     (bit - CONFIG.vector_bits) // 8 for bit in injection.bits}
            assert len(injection.bits) == 2 and len(words) == 1, injection


def clean_outcome(entry, injection):
    errors, queue, cycle, ecc = expectation(entry, injection)
    return RunOutcome(entry.cycles, errors, queue, cycle,
                      outputs={k: v.copy() for k, v in entry.outputs.items()}, ecc=ecc)


def test_the_oracle_tells_right_from_silent_and_wrong(plan):
    programs, injections = plan
    single, double = injections[0], injections[1]
    entry = programs[single.program]
    assert classify(entry, single, clean_outcome(entry, single))[0] == "corrected"
    assert classify(programs[double.program], double,
                    clean_outcome(programs[double.program], double))[0] == "flagged"
    # A changed output with nothing flagged is a silent corruption.
    silent = clean_outcome(entry, single)
    name = next(iter(silent.outputs))
    silent.outputs[name][0, 0] ^= 1
    assert classify(entry, single, silent)[0] == "silent"
    # A miscount, a missing flag or another cycle count is wrong.
    miscounted = dataclasses.replace(clean_outcome(entry, single), ecc=EccReport(corrected=0))
    assert classify(entry, single, miscounted)[0] == "wrong"
    entry = programs[double.program]
    unflagged = dataclasses.replace(clean_outcome(entry, double), errors=ErrorFlag(0))
    assert classify(entry, double, unflagged)[0] == "wrong"
    slower = dataclasses.replace(clean_outcome(entry, double), cycles=entry.cycles + 1)
    assert classify(entry, double, slower)[0] == "wrong"


def test_bad_counts_are_refused(capsys):
    with pytest.raises(ValueError, match="0"):
        plan_campaign(CONFIG, 0)
    with pytest.raises(SystemExit) as exit:
        faults_command.main(["--count", "-5"])
    assert exit.value.code == 2
    assert "--count must be at least 1, not -5" in capsys.readouterr().err


@pytest.mark.verilator
@pytest.mark.xdist_group("system-tiny")
def test_campaign_on_the_rtl():
    report = run_campaign(CONFIG, 300, seed=1)
    assert report.ok, report.table()
    assert report.verdicts[("single", "corrected")] == 150
    assert report.verdicts[("double", "flagged")] == 150

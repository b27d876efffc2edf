"""System regression on the RTL (Verilator): every program runs on the chip, on the golden
simulator and against its NumPy definition.

For each program: RTL memories == golden memories == NumPy results, bit for bit; RTL cycles ==
golden cycles == the compiler's prediction; no error flags. All programs of a preset run in one
simulator launch (the chip is rebuilt only when the RTL changes).
"""

import pytest

from golden.archsim import ArchSim
from isa import preset
from verification.compare import compare_runs
from verification.regression import case_specs
from verification.system import run_programs_on_rtl

PRESETS = ["tiny", "default", "fpga"]

_RUNS = {}


def run(preset_name):
    """Run every program of a preset on the golden simulator and on the RTL (once)."""
    if preset_name not in _RUNS:
        config = preset(preset_name)
        cases = [build() for _, build in case_specs(config)]
        golden = [ArchSim(config).execute(case.program) for case in cases]
        rtl = run_programs_on_rtl(config, [c.program for c in cases], name="system")
        names = [name for name, _ in case_specs(config)]
        _RUNS[preset_name] = dict(zip(names, zip(cases, golden, rtl)))
    return _RUNS[preset_name]


@pytest.mark.verilator
@pytest.mark.parametrize("preset_name, name", [
    pytest.param(p, name, marks=pytest.mark.xdist_group(f"system-{p}"))
    for p in PRESETS for name, _ in case_specs(preset(p))])
def test_rtl_matches_golden_and_numpy(preset_name, name, request):
    if request.config.getoption("loadgroup", False):
        # Under `--dist loadgroup` a preset's programs must stay on one worker, which
        # simulates them once (see the pytest pin in pyproject.toml).
        assert request.node.nodeid.endswith(f"@system-{preset_name}"), request.node.nodeid
    case, golden, rtl = run(preset_name)[name]
    # Cycle-exact: the RTL's cycle counter, the golden simulator and the prediction agree;
    # bit-exact: every output word of the RTL equals the golden simulator's, and both equal the
    # NumPy definition; no error flag.
    comparison = compare_runs(case.program, {"golden": golden, "rtl": rtl},
                              expected=case.expected, decode=case.decode, name=name)
    assert comparison.ok, comparison.report()
    assert comparison.cycles["rtl"] == comparison.cycles["golden"] == \
        case.program.predicted_cycles

"""System regression on the RTL (Verilator): every program runs on the chip, on the golden
simulator and against its NumPy definition.

For each program: RTL memories == golden memories == NumPy results, bit for bit; RTL cycles ==
golden cycles == the compiler's prediction; no error flags. All programs of a preset run in one
simulator launch (the chip is rebuilt only when the RTL changes).
"""

import pytest

from golden.archsim import ArchSim
from isa import preset
from verification.gemm_cases import ACCEPTANCE_SHAPES, gemm_case, random_shapes
from verification.programs import composed_case, graph_case, hand_written, reduction_case
from verification.switch_programs import switch_program
from verification.compare import compare_runs
from verification.system import run_programs_on_rtl

PRESETS = ["tiny", "default", "fpga"]

#: GEMM shapes beyond the random ones, per preset. ``fpga`` (256 KiB of SRAM, 512-instruction
#: queues, matrix units folded 16 times) holds smaller GEMMs than the acceptance shapes: one
#: with more rows than accumulators, a matrix-vector product, one whose sides are not lane
#: multiples and one of whole tiles.
GEMM_SHAPES = {"tiny": ACCEPTANCE_SHAPES, "default": ACCEPTANCE_SHAPES,
               "fpga": [(69, 3, 47), (1, 128, 128), (16, 48, 40), (64, 32, 32)]}


class Case:
    """A program with its expected regions (what NumPy says every output word must be)."""

    def __init__(self, name, program, expected, decode=None):
        self.name = name
        self.program = program
        self.expected = expected          # {region or output name: array}
        self.decode = decode              # regions -> {output name: values}, if not raw


def case_specs(config):
    """``[(name, build)]``: every program of the regression for ``config``, built on demand."""
    specs = []
    if config.vxm_alus >= 3:    # the hand-written program uses ALUs 0 to 2
        specs.append(("asm-add-requant",
                      lambda: Case("asm-add-requant", *hand_written(config, "add_requant"))))

    def graph(seed):
        case = graph_case(config, seed)
        return Case(f"graph-{seed}", case.program, case.expected, case.kernel.decode_outputs)

    specs += [(f"graph-{seed}", lambda seed=seed: graph(seed)) for seed in range(8)]
    specs.append(("switch", lambda: Case("switch", *switch_program(config, seed=1))))

    def composed(case):
        return Case(case.name, case.program, case.expected, case.kernel.unbind)

    specs += [(f"reduce-{kind}", lambda kind=kind: composed(reduction_case(config, kind, seed=2)))
              for kind in ("sum", "max")]
    specs.append(("composed", lambda: composed(composed_case(config, seed=3))))

    def gemm(index, shape):
        case = gemm_case(config, *shape, seed=index, per_channel=index % 2 == 1)
        return Case(case.name, case.program, {"C": case.expected},
                    lambda regions: {"C": case.kernel.decode_outputs(regions)})

    limit = 150 if config.mxm_fold == 1 else 72
    shapes = list(GEMM_SHAPES[config.name]) + random_shapes(3, seed=len(config.name), limit=limit)
    specs += [(f"gemm-{'x'.join(map(str, shape))}", lambda i=i, shape=shape: gemm(i, shape))
              for i, shape in enumerate(shapes)]
    return specs


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

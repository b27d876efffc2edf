"""The system regression's programs: every kind of program the compilers make, with what NumPy
says each output must be. ``tests/test_system.py`` runs the list of each preset on the RTL and
the golden simulator; the soak (:mod:`verification.soak`) draws random programs of the same
kinds.
"""

from .gemm_cases import ACCEPTANCE_SHAPES, gemm_case, random_shapes
from .programs import composed_case, graph_case, hand_written, reduction_case
from .switch_programs import switch_program

__all__ = ["Case", "GEMM_SHAPES", "case_specs", "graph", "switch", "reduction", "composed",
           "gemm", "gemm_limit", "assembly"]

#: GEMM shapes beyond the random ones, per preset. ``fpga`` (128 KiB of SRAM, 1024-instruction
#: queues, matrix units folded 8 times) holds smaller GEMMs than the acceptance shapes: one
#: with more rows than accumulators, a matrix-vector product, one whose sides are not lane
#: multiples and one of whole tiles.
GEMM_SHAPES = {"tiny": ACCEPTANCE_SHAPES, "default": ACCEPTANCE_SHAPES,
               "fpga": [(69, 3, 47), (1, 128, 128), (16, 52, 44), (64, 32, 32)]}


class Case:
    """A program with its expected regions (what NumPy says every output word must be)."""

    def __init__(self, name, program, expected, decode=None):
        self.name = name
        self.program = program
        self.expected = expected          # {region or output name: array}
        self.decode = decode              # regions -> {output name: values}, if not raw


def assembly(config, seed=0):
    """The hand-written assembly program (needs ``vxm_alus >= 3``)."""
    return Case("asm-add-requant", *hand_written(config, "add_requant", seed=seed))


def graph(config, seed):
    """A random elementwise graph."""
    case = graph_case(config, seed)
    return Case(f"graph-{seed}", case.program, case.expected, case.kernel.decode_outputs)


def switch(config, seed):
    """The SXM program (shifts, permutations, transposes)."""
    return Case("switch" if seed == 1 else f"switch-{seed}", *switch_program(config, seed=seed))


def _composed(case):
    return Case(case.name, case.program, case.expected, case.kernel.unbind)


def reduction(config, kind, seed):
    """A row reduction (``"sum"`` or ``"max"``)."""
    return _composed(reduction_case(config, kind, seed=seed))


def composed(config, seed):
    """GEMM, requantisation and row reduction in one program."""
    return _composed(composed_case(config, seed=seed))


def gemm(config, shape, seed):
    """A GEMM of ``shape`` ``(m, k, n)``; odd seeds requantise per channel."""
    case = gemm_case(config, *shape, seed=seed, per_channel=seed % 2 == 1)
    return Case(case.name, case.program, {"C": case.expected},
                lambda regions: {"C": case.kernel.decode_outputs(regions)})


def gemm_limit(config):
    """The largest side of a random GEMM for ``config``."""
    return 150 if config.mxm_fold == 1 else 72


def case_specs(config):
    """``[(name, build)]``: every program of the regression for ``config``, built on demand."""
    specs = []
    if config.vxm_alus >= 3:    # the hand-written program uses ALUs 0 to 2
        specs.append(("asm-add-requant", lambda: assembly(config)))
    specs += [(f"graph-{seed}", lambda seed=seed: graph(config, seed)) for seed in range(8)]
    specs.append(("switch", lambda: switch(config, 1)))
    specs += [(f"reduce-{kind}", lambda kind=kind: reduction(config, kind, 2))
              for kind in ("sum", "max")]
    specs.append(("composed", lambda: composed(config, 3)))
    shapes = list(GEMM_SHAPES[config.name]) + random_shapes(3, seed=len(config.name),
                                                            limit=gemm_limit(config))
    specs += [(f"gemm-{'x'.join(map(str, shape))}", lambda i=i, shape=shape: gemm(config, shape, i))
              for i, shape in enumerate(shapes)]
    return specs

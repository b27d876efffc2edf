"""The parts of ``make bench`` that depend on the chip being folded for an FPGA.

:func:`bench_cases` gives the GEMM table its cases: the acceptance shapes, each scaled down
(K and N halved, as often as needed) when its operands do not fit the preset's SRAM or its
program the preset's queues, as on ``fpga`` (256 KiB of SRAM, 512-instruction queues).

:func:`fpga_table` is table 7 for a chip with folded units: a MiniLM-sized GEMM compiled for the
preset's units (the same lanes, streams, slices, ALUs and folds) with SRAM and queues deep
enough to hold it, its predicted cycles and MXM utilisation at the folded rates, and the time
it takes at the clock of the board build and at the Fmax of the last ``make fpga`` report, if
there is one. Only the cycle count is measured here; an Fmax comes from place and route
(:mod:`sim.fpga`), never from this command.
"""

import json

from compiler.queues import QueueOverflow
from compiler.sram import SramFull
from hdl.board import BoardTop
from isa.config import MAX_QUEUE_DEPTH, MAX_WORDS
from sim.fpga import LFE5U_85F, report_directory
from verification.gemm_cases import ACCEPTANCE_SHAPES, gemm_case

__all__ = ["bench_cases", "is_folded", "fpga_table", "MINILM_SHAPE"]

#: A MiniLM-sized GEMM: the attention projections of all-MiniLM-L6-v2 (hidden size 384) at
#: 64 tokens, the first shape of the GEMM table on the unfolded presets.
MINILM_SHAPE = ACCEPTANCE_SHAPES[0]


def is_folded(config):
    """Whether the chip's units are folded over time (an FPGA configuration)."""
    return config.mxm_fold > 1 or config.vxm_fold > 1


def bench_cases(config, say):
    """The GEMM table's cases on ``config``: each acceptance shape, or the largest of its
    halvings (K and N) whose operands and program fit the preset."""
    cases = []
    for m, k, n in ACCEPTANCE_SHAPES:
        shape = (m, k, n)
        while True:
            try:
                cases.append(gemm_case(config, *shape, seed=7, per_channel=True))
                break
            except (SramFull, QueueOverflow) as error:
                if min(shape[1:]) <= config.lanes:
                    raise SystemExit(f"bench: no scaled {m}x{k}x{n} GEMM fits preset "
                                     f"{config.name!r}: {error}") from None
                smaller = (shape[0], shape[1] // 2, shape[2] // 2)
                say(f"  {'x'.join(map(str, shape))} does not fit preset {config.name!r} "
                    f"({error}); trying {'x'.join(map(str, smaller))}")
                shape = smaller
    return cases


def _placed_fmax(config):
    """The Fmax (MHz) of the last whole-chip place and route of ``config`` on the LFE5U-85F,
    or None."""
    report = report_directory(config, LFE5U_85F) / "report.json"
    if not report.exists():
        return None
    return json.loads(report.read_text())["fmax_mhz"]


def fpga_table(say, table, config):
    """Table 7: the MiniLM-sized GEMM on ``config``'s folded units."""
    m, k, n = MINILM_SHAPE
    deep = config.derive(words=MAX_WORDS, queue_depth=MAX_QUEUE_DEPTH)
    say(f"compiling a {m}x{k}x{n} GEMM for the folded units ...")
    kernel = gemm_case(deep, m, k, n, seed=7, per_channel=True).kernel
    cycles = kernel.predicted_cycles
    clocks = [(f"the board build's clock ({BoardTop.CLOCK_MHZ} MHz)", BoardTop.CLOCK_MHZ)]
    fmax = _placed_fmax(config)
    if fmax is not None:
        clocks.append((f"the Fmax of the last `make fpga` ({fmax:.1f} MHz)", fmax))
    rows = [(f"{m}x{k}x{n}", cycles, f"{100 * kernel.utilisation():.1f}%", clock,
             f"{cycles / mhz / 1000:.2f} ms") for clock, mhz in clocks]
    text = table(("GEMM", "cycles (predicted)", "MXM utilisation", "clock", "time"), rows)
    if fmax is None:
        text += (f"\n\n  no place-and-route report for preset {config.name!r} "
                 f"(make fpga PRESET={config.name}), so no time at its Fmax")
    return text

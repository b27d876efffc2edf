"""The soak: random programs of the regression's kinds, back to back on one simulated chip
that is reset once, until at least a given number of cycles has run; each program bit-exact
and cycle-exact against the golden simulator (run from a fresh state) and NumPy.

What it shows beyond the system regression: nothing a program leaves behind (SRAM contents,
accumulators, queue state, the fabric's registers, error flags cleared by START) changes the
next program's results or timing, over a long run.
"""

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from compiler.queues import ScheduleError
from golden.archsim import ArchSim
from .compare import compare_runs
from .gemm_cases import random_shapes
from .regression import assembly, composed, gemm, gemm_limit, graph, reduction, switch
from .system import chip_build_dir, progress_file, run_programs_on_rtl

__all__ = ["KINDS", "SoakReport", "soak_cases", "run_soak"]

#: Program kinds and how often the soak draws each.
KINDS = {"gemm": 4, "graph": 3, "reduce": 1, "switch": 1, "composed": 1, "assembly": 1}


def _draw(config, rng):
    """``(kind, case)``: one random program (a :class:`~verification.regression.Case`)."""
    kinds = [k for k in KINDS if k != "assembly" or config.vxm_alus >= 3]
    weights = np.array([KINDS[k] for k in kinds], dtype=float)
    kind = kinds[rng.choice(len(kinds), p=weights / weights.sum())]
    seed = int(rng.integers(1 << 31))
    if kind == "graph":
        return kind, graph(config, seed)
    if kind == "gemm":
        (shape,) = random_shapes(1, seed=seed, limit=gemm_limit(config))
        return kind, gemm(config, shape, seed)
    if kind == "reduce":
        return kind, reduction(config, ("sum", "max")[seed % 2], seed)
    if kind == "switch":
        return kind, switch(config, seed)
    if kind == "composed":
        return kind, composed(config, seed)
    return kind, assembly(config, seed)


def soak_cases(config, *, cycles, seed, progress=None):
    """``(cases, refused)``: random ``(kind, case)`` programs for ``config``, reproducible from
    ``seed``, whose predicted cycles add up to at least ``cycles``, and how many drawn programs
    the compiler refused (a random graph may need more MEM slices in one pass than the chip
    has). ``progress`` gets a line every 100 programs."""
    if not (isinstance(cycles, int) and cycles >= 1):
        raise ValueError(f"soak cycles must be a positive integer, not {cycles!r}")
    rng = np.random.default_rng(seed)
    cases = []
    refused = 0
    total = 0
    while total < cycles:
        try:
            kind, case = _draw(config, rng)
        except ScheduleError:
            refused += 1
            continue
        case.name = f"{len(cases)}:{case.name}"
        cases.append((kind, case))
        total += case.program.predicted_cycles
        if progress and len(cases) % 100 == 0:
            progress(f"  compiled {len(cases)} programs, {total:,} of {cycles:,} cycles")
    return cases, refused


@dataclass
class SoakReport:
    """What a soak ran and found."""
    preset: str
    seed: int
    programs: int = 0
    refused: int = 0                # drawn programs the compiler refused (not run)
    kinds: Counter = field(default_factory=Counter)
    cycles: int = 0                 # simulated on the RTL, all programs
    compile_seconds: float = 0.0    # drawing and compiling the programs
    golden_seconds: float = 0.0     # the golden simulator, alongside the RTL
    rtl_seconds: float = 0.0        # the one RTL simulator launch (loads, runs, unloads)
    run_seconds: float = 0.0        # of which the programs' run phases
    failures: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.failures

    def table(self):
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items()))
        rate = self.cycles / self.run_seconds if self.run_seconds else 0.0
        exact = ", each program's equal to the golden simulator's and the prediction"
        return "\n".join([
            f"soak, preset {self.preset}, seed {self.seed}: {'PASS' if self.ok else 'FAIL'}",
            f"  programs      {self.programs} ({kinds}), one reset; "
            f"{self.refused} drawn graphs refused by the compiler",
            f"  cycles (RTL)  {self.cycles:,}{exact if self.ok else ''}",
            f"  wall time     {self.rtl_seconds:.0f} s on the RTL, of which the runs "
            f"{self.run_seconds:.0f} s ({rate:,.0f} cycles/s; the rest: loads, unloads, any "
            f"model build); {self.golden_seconds:.0f} s on the golden simulator alongside; "
            f"{self.compile_seconds:.0f} s compiling",
            *(f"  FAILED {failure}" for failure in self.failures),
        ])


def run_soak(config, *, cycles, seed=0, progress=None):
    """Run a soak of at least ``cycles`` cycles on the RTL of ``config``; return a
    :class:`SoakReport` (``ok`` when every program matched). The golden simulator runs
    alongside the RTL simulation (a separate process)."""
    progress = progress or (lambda message: None)
    report = SoakReport(preset=config.name, seed=seed)
    begin = time.monotonic()
    progress(f"drawing and compiling random programs for {cycles:,} cycles")
    drawn, report.refused = soak_cases(config, cycles=cycles, seed=seed, progress=progress)
    kinds = [kind for kind, _ in drawn]
    cases = [case for _, case in drawn]
    report.compile_seconds = time.monotonic() - begin
    progress(f"{len(cases)} programs, {sum(c.program.predicted_cycles for c in cases):,} "
             f"predicted cycles, compiled in {report.compile_seconds:.0f} s; simulating them "
             f"on the RTL and on the golden simulator")

    outcome = {}
    watched = chip_build_dir(config) / f"soak-{seed}-{os.getpid()}.progress"

    def simulate():
        begin = time.monotonic()
        try:
            outcome["rtl"] = run_programs_on_rtl(config, [case.program for case in cases],
                                                 progress=progress, name="soak",
                                                 progress_path=watched)
        except BaseException as error:      # re-raised by the main thread
            outcome["error"] = error
        finally:
            report.rtl_seconds = time.monotonic() - begin

    with progress_file(watched, progress):
        simulator = threading.Thread(target=simulate, daemon=True)
        simulator.start()
        begin = time.monotonic()
        golden = []
        for case in cases:
            golden.append(ArchSim(config).execute(case.program))
            if len(golden) % 100 == 0:
                progress(f"  golden: {len(golden)} of {len(cases)} programs")
        report.golden_seconds = time.monotonic() - begin
        simulator.join()
    if "error" in outcome:
        raise outcome["error"]

    for kind, case, golden_run, rtl_run in zip(kinds, cases, golden, outcome["rtl"]):
        report.programs += 1
        report.kinds[kind] += 1
        report.cycles += rtl_run.cycles
        report.run_seconds += rtl_run.wall_seconds or 0.0
        comparison = compare_runs(case.program, {"golden": golden_run, "rtl": rtl_run},
                                  expected=case.expected, decode=case.decode, name=case.name)
        predicted = case.program.predicted_cycles
        if not comparison.ok:
            report.failures.append(comparison.report())
        elif not comparison.cycles["rtl"] == comparison.cycles["golden"] == predicted:
            report.failures.append(f"{case.name}: cycles {comparison.cycles} vs predicted "
                                   f"{predicted}")
    return report

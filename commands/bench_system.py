"""The multi-chip table of ``make bench``: a GEMM on one chip and split over two chips by
output columns (:func:`~compiler.multichip.compile_split_gemm`), with 1, 2 and 4 link ports per
edge. Cycles are the golden simulator's (:class:`~golden.archsim.system.ChipSystem`), checked
equal to every chip's prediction and the result to NumPy; the split with one link per edge
also runs on the RTL (two chips in one Verilator model, :mod:`verification.multichip`), whose
cycles and results must equal them."""

import numpy as np

from compiler.gemm import compile_gemm
from compiler.multichip import compile_split_gemm
from golden.archsim import ArchSim
from golden.archsim.system import ChipSystem, chain
from isa.timing import link_config
from verification.multichip import run_system_on_rtl
from verification.reference import gemm_reference

__all__ = ["system_table", "SHAPE", "LINKS"]

#: The GEMM (M, K, N) and its requantisation.
SHAPE = (64, 384, 1536)
MULTIPLIER, SHIFT = 1 << 30, 8
#: Link ports per edge of the split runs; the first also runs on the RTL.
LINKS = (1, 2, 4)


def system_table(say, table, config):
    """Measure on ``config`` (``say`` reports progress); returns the table as text."""
    m, k, n = SHAPE
    rng = np.random.default_rng(0)
    a, b = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
    expected = gemm_reference(a, b, None, MULTIPLIER, SHIFT)

    say(f"  multi-chip: {m}x{k}x{n} on one chip ...")
    single = compile_gemm(config, m, k, n, multiplier=MULTIPLIER, shift=SHIFT)
    outcome = ArchSim(config).execute(single.program(a, b))
    _check(outcome.cycles == single.predicted_cycles and
           np.array_equal(single.decode_outputs(outcome.outputs), expected), "one chip")
    rows = [("1 chip", "golden (RTL: table 3)", "-", "-", f"{outcome.cycles:,}",
             f"{100 * single.utilisation():.1f}%", "1.00x")]
    for links in LINKS:
        chips = config.derive(links=links)
        say(f"  multi-chip: {m}x{k}x{n} on two chips, {links} link(s) per edge ...")
        kernel = compile_split_gemm(chips, m, k, n, multiplier=MULTIPLIER, shift=SHIFT)
        outcomes = ChipSystem([chips] * 2, chain(2, links)).execute(
            kernel.program(a, b))
        _check([o.cycles for o in outcomes] == kernel.predicted_cycles and
               not any(o.errors for o in outcomes) and
               np.array_equal(kernel.decode_outputs(outcomes), expected),
               f"two chips, {links} links")
        engines = "golden"
        if links == LINKS[0]:
            say("  multi-chip: the same on the RTL (two chips in one Verilator model) ...")
            rtl = run_system_on_rtl(chips, chain(2, links), kernel.program(a, b),
                                    progress=say, name="bench-system")["outcomes"]
            _check([o.cycles for o in rtl] == kernel.predicted_cycles and
                   not any(o.errors for o in rtl) and
                   np.array_equal(kernel.decode_outputs(rtl), expected),
                   f"two chips of RTL, {links} links")
            engines = "golden, RTL"
        link = link_config(chips)
        rows.append((f"2 chips, {links} link(s) per edge", engines,
                     f"{links * link.payload_bytes_per_cycle:.1f}",
                     " / ".join(f"{c:,}" for c in kernel.predicted_cycles),
                     f"{kernel.cycles:,}", f"{100 * kernel.utilisation():.1f}%",
                     f"{outcome.cycles / kernel.cycles:.2f}x"))
    return table(("system", "run on", "link B/cycle", "cycles per chip", "cycles",
                  "MXM utilisation", "speed-up"), rows)


def _check(ok, what):
    if not ok:
        raise SystemExit(f"the bench measures only correct runs: {what} is wrong")

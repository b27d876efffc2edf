"""The one comparison of a program's runs: every engine against the compiler's prediction,
against the first engine (the golden simulator), and that engine against NumPy.

Every check of a run, in the regression, in ``make sim``, ``make bench`` and the board demo,
goes through :func:`compare_runs`, so a failure always names the first divergence the same way:
the engine, the region, the word and the lane, or the cycle counts.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Comparison", "compare_runs"]


@dataclass
class Comparison:
    """The verdict on one program run on one or more engines.

    Attributes
    ----------
    name : str
    cycles : dict
        ``{engine: cycles}``, and ``"predicted"`` when the program has a prediction.
    outputs, timing, errors : list of str
        What differs: output words (between engines, or from NumPy), cycle counts, raised
        error flags. Empty lists mean the run is bit-exact, cycle-exact and clean.
    """
    name: str
    cycles: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)
    timing: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def bit_exact(self):
        """Every output word equal on every engine and to NumPy, and no error flag raised."""
        return not self.outputs and not self.errors

    @property
    def cycle_exact(self):
        """Every engine ran exactly the predicted number of cycles."""
        return not self.timing

    @property
    def ok(self):
        return self.bit_exact and self.cycle_exact

    def report(self):
        """One line per difference (``ok`` when there is none)."""
        lines = self.errors + self.timing + self.outputs
        return "\n".join(f"{self.name}: {line}" for line in lines) if lines else \
            f"{self.name}: ok"


def _first_difference(observed, expected):
    """``(index, observed value, expected value)`` of the first element where two arrays
    differ, or ``None``."""
    observed, expected = np.asarray(observed), np.asarray(expected)
    if observed.shape != expected.shape:
        return "shape", observed.shape, expected.shape
    where = np.argwhere(observed != expected)
    if not len(where):
        return None
    index = tuple(int(i) for i in where[0])
    return index, observed[index].item(), expected[index].item()


def compare_runs(program, runs, *, expected=None, decode=None, errors="none",
                 name="program"):
    """Compare the :class:`~isa.host.RunOutcome` s ``runs`` (``{engine: outcome}``, the
    reference engine first) of ``program``.

    Every engine must raise no error flag and read no uncorrectable SRAM word
    (``errors="none"``; with ``errors="equal"``, for programs that err on purpose, the same
    error registers as the reference engine), report the same ECC registers
    (:class:`~isa.host.EccReport`: a corrected word is no error, but both engines must have
    corrected it) and run
    ``program.predicted_cycles`` cycles (when the program has a prediction; otherwise the
    reference engine's count). Every output region of
    every engine must equal the reference engine's, and with ``expected`` (``{name: values}``),
    the reference engine's outputs, decoded by ``decode`` (``{region: words} -> {name:
    values}``; the regions themselves without it), must equal those values.
    """
    engines = list(runs)
    reference = engines[0]
    comparison = Comparison(name, {engine: outcome.cycles for engine, outcome in runs.items()})
    target = program.predicted_cycles
    if target is not None:
        comparison.cycles["predicted"] = target
    else:
        target = runs[reference].cycles
    if errors not in ("none", "equal"):
        raise ValueError(f"errors must be 'none' or 'equal', not {errors!r}")

    def registers(outcome):
        return outcome.errors, outcome.error_queue, outcome.error_cycle

    for engine, outcome in runs.items():
        if errors == "none" and outcome.errors:
            comparison.errors.append(f"{engine} raised {outcome.errors!r} (first in queue "
                                     f"{outcome.error_queue} at cycle {outcome.error_cycle})")
        if errors == "none" and outcome.ecc.uncorrectable:
            comparison.errors.append(f"{engine} read {outcome.ecc.uncorrectable} SRAM words "
                                     f"with an uncorrectable error ({outcome.ecc})")
        if outcome.ecc != runs[reference].ecc:
            comparison.errors.append(f"{engine} reports {outcome.ecc}, {reference} "
                                     f"{runs[reference].ecc}")
        if errors == "equal" and registers(outcome) != registers(runs[reference]):
            comparison.errors.append(f"{engine} reports errors (flags, queue, cycle) "
                                     f"{registers(outcome)}, {reference} "
                                     f"{registers(runs[reference])}")
        if outcome.cycles != target:
            what = "predicted" if program.predicted_cycles is not None else reference
            comparison.timing.append(f"{engine} ran {outcome.cycles} cycles, {what} {target}")
    for region in program.outputs:
        want = runs[reference].outputs.get(region.name)
        for engine in engines[1:]:
            got = runs[engine].outputs.get(region.name)
            if got is None or want is None:
                missing = engine if got is None else reference
                comparison.outputs.append(f"{missing} did not read region {region.name} back")
                continue
            found = _first_difference(got, want)
            if found is not None:
                index, got, wanted = found
                comparison.outputs.append(f"{engine} region {region.name} (slice {region.slice}"
                                          f", address {region.address}) differs from {reference}"
                                          f" at [word, lane] {index}: {got} != {wanted}")
    if expected is not None:
        values = (decode or dict)(runs[reference].outputs)
        for key, want in expected.items():
            if key not in values:
                comparison.outputs.append(f"{reference} has no output {key}")
                continue
            found = _first_difference(values[key], want)
            if found is not None:
                index, got, wanted = found
                comparison.outputs.append(f"{reference} output {key} differs from NumPy at "
                                          f"{index}: {got} != {wanted}")
    return comparison

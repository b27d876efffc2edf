"""Programs for several chips joined by links: one :class:`~compiler.schedule.Schedule` per
chip, and transfers between them placed on both ends at once
(:func:`~compiler.link_transfer.place_link_transfer`), each scheduled against the declared link
latency. The chips start their programs in the same cycle (``Control.START_AT`` on a shared
epoch), so every chip's predicted length is exact, and a chip's kernels start on a received
tensor as soon as its words are written.

Two systems are built here, on chips joined in a row (:func:`golden.archsim.system.chain`:
chip ``i``'s east ports ``link_e<k>`` to chip ``i + 1``'s west ports ``link_w<k>``; a transfer
uses all of them):

- :func:`compile_split_gemm`: ``C = requantise(A @ B)`` on two chips, each computing half of
  the output columns (A loaded into both); chip 1 sends its half to chip 0 as it is written,
  so chip 0 holds all of C.
- :func:`compile_chain`: ``chips`` chips in a row, chip ``i`` computing
  ``X[i + 1] = requantise(X[i] @ W[i])`` and sending it on to chip ``i + 1``; the last chip
  holds the result.
"""

from dataclasses import dataclass, field

import numpy as np

from .gemm import place_gemm
from .link_transfer import place_link_transfer
from .schedule import Schedule

__all__ = ["SystemKernel", "SplitGemm", "Chain", "compile_split_gemm", "compile_chain",
           "east_ports", "west_ports"]


def east_ports(config):
    """The ports at the east edge, ``link_e0 ..``: joined to the next chip's west ports."""
    return [f"link_e{k}" for k in range(config.links)]


def west_ports(config):
    """The ports at the west edge, ``link_w0 ..``."""
    return [f"link_w{k}" for k in range(config.links)]


@dataclass
class SystemKernel:
    """The compiled programs of a system: one :class:`~compiler.schedule.Kernel` per chip.

    Attributes
    ----------
    config : ChipConfig
        Every chip's configuration.
    kernels : list
        One :class:`~compiler.schedule.Kernel` per chip.
    macs : int
        Multiply-accumulates of the whole computation.
    """
    config: object
    kernels: list
    macs: int = 0
    shape: dict = field(default_factory=dict)

    @property
    def chips(self):
        return len(self.kernels)

    @property
    def predicted_cycles(self):
        """Each chip's predicted program length."""
        return [kernel.predicted_cycles for kernel in self.kernels]

    @property
    def cycles(self):
        """The system's length: its longest program."""
        return max(self.predicted_cycles)

    def utilisation(self, cycles=None):
        """Useful MACs / (cycles x every chip's matrix units x multipliers per unit)."""
        cycles = self.cycles if cycles is None else cycles
        per_chip = 2 * self.config.mxms * self.config.lanes ** 2 // self.config.mxm_fold
        return self.macs / (cycles * self.chips * per_chip)

    def programs(self, values):
        """One :class:`~compiler.program.Program` per chip from ``values``: per chip a
        ``{input name: values}`` dictionary."""
        if len(values) != self.chips:
            raise ValueError(f"{len(values)} sets of inputs for {self.chips} chips")
        return [kernel.bind(chip_values) for kernel, chip_values in zip(self.kernels, values)]

    def unbind(self, outcomes):
        """Per chip, ``{output name: values}`` from the outcomes of a run (their outputs)."""
        return [kernel.unbind(outcome.outputs) for kernel, outcome in
                zip(self.kernels, outcomes)]


def _check_system(config, chips):
    if config.links < 1:
        raise ValueError(f"a multi-chip program needs link ports: configuration "
                         f"{config.name!r} has links={config.links}")
    if not isinstance(chips, int) or isinstance(chips, bool) or chips < 2:
        raise ValueError(f"a multi-chip program needs at least 2 chips, not {chips!r}")


def _check_positive(**values):
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")


class SplitGemm(SystemKernel):
    """:func:`compile_split_gemm`'s programs."""

    def program(self, a, b):
        """The two chips' programs for ``A`` (``[m, k]``) and ``B`` (``[k, n]``)."""
        m, k, n = self.shape["m"], self.shape["k"], self.shape["n"]
        if np.shape(a) != (m, k) or np.shape(b) != (k, n):
            raise ValueError(f"operands must have shapes ({m}, {k}) and ({k}, {n}), not "
                             f"{np.shape(a)} and {np.shape(b)}")
        split = self.shape["split"]
        return self.programs([{"a": a, "b": b[:, :split]}, {"a": a, "b": b[:, split:]}])

    def decode_outputs(self, outcomes):
        """``C`` (``[m, n]``), gathered on chip 0, from the chips' outcomes."""
        first = self.unbind(outcomes)[0]
        return np.concatenate([first["C0"], first["C1"]], axis=1)


def compile_split_gemm(config, m, k, n, *, multiplier, shift):
    """``C = requantise(A[m, k] @ B[k, n])`` (per-tensor ``multiplier`` and ``shift``) on two
    chips of ``config`` joined chip 0 east to chip 1 west: chip 0 computes the
    first half of the output columns (whole column tiles), chip 1 the rest, which it sends to
    chip 0 over the link as it writes it. Returns a :class:`SplitGemm`."""
    _check_system(config, 2)
    _check_positive(m=m, k=k, n=n)
    tiles = -(-n // config.lanes)
    if tiles < 2:
        raise ValueError(f"a GEMM split over two chips needs at least two column tiles of "
                         f"{config.lanes}: n = {n}")
    split = config.lanes * -(-tiles // 2)
    first, second = Schedule(config), Schedule(config)
    c0, _ = place_gemm(first, m, k, split, multiplier=multiplier, shift=shift)
    c1, _ = place_gemm(second, m, k, n - split, multiplier=multiplier, shift=shift)
    gathered = place_link_transfer(second, west_ports(config), first, east_ports(config), c1,
                                   name="C1")
    first.output("C0", c0)
    first.output("C1", gathered)
    return SplitGemm(config, [first.compile(), second.compile()], macs=m * k * n,
                     shape={"m": m, "k": k, "n": n, "split": split})


class Chain(SystemKernel):
    """:func:`compile_chain`'s programs."""

    def program(self, x, weights):
        """The chips' programs for the input ``x`` (``[m, widths[0]]``) and one weight matrix
        per chip (``[widths[i], widths[i + 1]]``)."""
        widths, m = self.shape["widths"], self.shape["m"]
        if np.shape(x) != (m, widths[0]):
            raise ValueError(f"input must have shape ({m}, {widths[0]}), not {np.shape(x)}")
        if len(weights) != self.chips:
            raise ValueError(f"{len(weights)} weight matrices for {self.chips} chips")
        for i, w in enumerate(weights):
            if np.shape(w) != (widths[i], widths[i + 1]):
                raise ValueError(f"weights {i} must have shape ({widths[i]}, "
                                 f"{widths[i + 1]}), not {np.shape(w)}")
        return self.programs([{"a": x, "b": weights[0]}] +
                             [{"b": w} for w in weights[1:]])

    def decode_outputs(self, outcomes):
        """The last chip's result (``[m, widths[-1]]``)."""
        return self.unbind(outcomes)[-1]["Y"]


def compile_chain(config, chips, m, widths, *, multiplier, shift):
    """``chips`` chips of ``config`` in a row, chip ``i`` computing ``X[i + 1] =
    requantise(X[i] @ W[i])`` (``X[i]`` is ``m x widths[i]``; per-tensor ``multiplier`` and
    ``shift``) and sending ``X[i + 1]`` through its east ports to chip ``i + 1``, whose GEMM
    starts on it as its rows arrive. Chip 0's ``X[0]`` and every ``W[i]`` are host inputs; the
    last chip holds the result ``Y``. Returns a :class:`Chain`."""
    _check_system(config, chips)
    widths = list(widths)
    if len(widths) != chips + 1:
        raise ValueError(f"a chain of {chips} chips needs {chips + 1} widths, not "
                         f"{len(widths)}")
    _check_positive(m=m, **{f"widths[{i}]": w for i, w in enumerate(widths)})
    schedules = [Schedule(config) for _ in range(chips)]
    x = None
    for i, schedule in enumerate(schedules):
        if x is not None:
            x = place_link_transfer(schedules[i - 1], east_ports(config), schedule,
                                    west_ports(config), x, name=f"X{i}")
        y, _ = place_gemm(schedule, m, widths[i], widths[i + 1], multiplier=multiplier,
                          shift=shift, a=x)
        x = y
    schedules[-1].output("Y", x)
    macs = sum(m * widths[i] * widths[i + 1] for i in range(chips))
    return Chain(config, [schedule.compile() for schedule in schedules], macs=macs,
                 shape={"m": m, "widths": widths})

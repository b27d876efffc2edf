"""The occupancy of a folded unit: one that works on an operation for ``fold`` cycles.

A folded matrix unit (``mxm_fold``) or switch unit (``sxm_fold``) accepts an operation in its
issue cycle ``t`` and works on it in phases ``0 .. fold - 1``, in cycles ``t + 1 .. t + fold``.
It accepts the next operation in the last of them at the earliest; one issued sooner is
flagged ``BAD_OPERAND`` (``isa.timing.mxm_issue_interval``, ``sxm_issue_interval``).
"""

from amaranth import *

__all__ = ["fold_phase"]


def fold_phase(m, fold, *, go, clear, busy, finishing):
    """Drive ``busy`` (an operation is being worked on) and ``finishing`` (this is its last
    cycle: the unit may accept the next one) from ``go`` (an operation is accepted this
    cycle) and ``clear`` (program start: drop it). ``busy`` and ``finishing`` are the caller's
    signals, since whether it accepts an operation depends on them. Returns the phase: a
    counter from 0 in the cycle after ``go``, or ``Const(0)`` when ``fold`` is 1 (no
    counter)."""
    if fold == 1:
        m.d.comb += finishing.eq(busy)
        m.d.sync += busy.eq(go)
        phase = Const(0)
    else:
        phase = Signal(range(fold), name="phase")
        m.d.comb += finishing.eq(busy & (phase == fold - 1))
        with m.If(go):
            m.d.sync += [busy.eq(1), phase.eq(0)]
        with m.Elif(finishing):
            m.d.sync += busy.eq(0)
        with m.Elif(busy):
            m.d.sync += phase.eq(phase + 1)
    with m.If(clear):
        m.d.sync += busy.eq(0)
    return phase

"""Latencies and the space-time rule of the stream fabric.

Cycle ``t`` is counted from the start of a program: every queue issues its first instruction in
cycle 0. The rules below are the whole timing model; the RTL implements them, the golden
simulator executes them and the compiler schedules with them.

Streams
    At every position ``p`` there are ``streams`` eastward and ``streams`` westward stream
    registers. A unit at ``p`` that issues an instruction in cycle ``t`` reads the registers at
    ``p`` in cycle ``t``. A result it sends east (west) is in the register at ``p + 1``
    (``p - 1``) in cycle ``t + latency`` and then moves one position per cycle, unconditionally,
    until a unit overwrites it or it leaves the chip at the edge. So a unit at ``q`` downstream of
    ``p`` sees it in cycle ``t + latency + |q - p| - 1`` (:func:`arrival`).

Queues
    A queue issues at most one instruction per cycle. An instruction occupies its queue for one
    cycle, except ``NOP n`` (``n`` cycles), ``REPEAT n`` with gap ``g`` (``n (g + 1)`` cycles:
    ``g`` idle, one re-issue, ``n`` times over, so that a unit instruction and its re-issues
    are ``g + 1`` cycles apart), ``SYNC`` (until released) and ``HALT`` (forever). An illegal
    instruction occupies one cycle and has no effect but raising an error flag.

SYNC / NOTIFY
    A NOTIFY issued in cycle ``n`` releases every queue that is in SYNC in cycle ``n + 1``
    (including a SYNC issued in that very cycle); a released queue issues its next instruction
    in cycle ``n + 2``. A SYNC issued after cycle ``n + 1`` waits for a later NOTIFY.

Program length
    A queue halts in the cycle its HALT issues. A program's length in cycles is the cycle in
    which the last queue halts; the chip's cycle counter reports exactly that number.

Links
    SEND issued in cycle t by a link port reads the stream flowing towards its edge at its
    position in cycle t; the other end of the link delivers the vector in cycle
    t + :func:`link_latency`, whatever the channel (:mod:`isa.link`), and a RECEIVE issued
    there in exactly that cycle sends it onto a stream towards the centre: at the neighbouring
    position in cycle t + link_latency + :data:`LINK_RECEIVE_LATENCY`. One port's SENDs are at
    least :func:`link_send_interval` cycles apart. Chips that exchange vectors run their programs
    from one common cycle 0 (``Control.START_AT`` on a shared epoch, :mod:`isa.host`).

Vector unit
    A VXM operation issued in cycle t reads its operands in cycle t; its result is in the ALU's
    result register and at the neighbouring position in cycle t + :func:`vxm_latency`. A folded
    ALU (``vxm_fold`` f > 1) computes ``lanes / f`` lanes per cycle for f cycles: the ALU's next
    operation may issue in cycle t + :func:`vxm_issue_interval` (f); one issued sooner raises
    ``BAD_OPERAND`` and has no effect. LDC and LUTW take effect as on an unfolded ALU (the
    constant is readable from cycle t + 2, the table from cycle t + 1 on).

Switch unit
    A switch operation issued in cycle t reads its streams in cycle t; its result is at the
    neighbouring position in cycle t + :func:`sxm_latency`. A folded switch unit (``sxm_fold``
    f > 1) moves ``lanes / f`` lanes per cycle for f cycles: its next operation may issue in
    cycle t + :func:`sxm_issue_interval` (f); one issued sooner raises ``BAD_OPERAND`` and has
    no effect.

Matrix unit
    MM issued in cycle t reads its activation in cycle t; its int32 result row is at the
    neighbouring position in cycle t + :func:`mxm_latency`. It occupies the multiplier array
    for ``mxm_fold`` cycles: the next MM may issue in cycle t + ``mxm_fold``. An MM with
    ``install`` uses the weight rows and bias loaded (LW, LB) in cycle t - 1 or earlier; an
    MM reads its accumulator row as every earlier MM left it.
"""

from .link import LinkConfig
from .opcodes import LinkOp, MatrixOp, SwitchOp, VectorOp

__all__ = [
    "MEM_READ_LATENCY", "MEM_WRITE_TO_READ", "ECC_READ_LATENCY", "VXM_LATENCY",
    "FOLDED_VXM_STAGES", "FOLDED_MXM_STAGES", "SXM_LATENCY",
    "NOTIFY_TO_ISSUE", "HOST_READ_LATENCY", "HOST_STATUS_LATENCY", "LOAD_TO_INSTALL",
    "SIMULATION_CLOCK_NS",
    "LINK_RECEIVE_LATENCY", "vxm_latency", "vxm_issue_interval", "sxm_latency",
    "sxm_issue_interval", "mxm_latency",
    "mxm_issue_interval", "link_config", "link_latency", "link_send_interval", "latency",
    "arrival", "issue_for_arrival",
]

#: READ issued in cycle t: the word is at the neighbouring position in cycle t + 2 (one cycle
#: of synchronous SRAM read, one to enter the stream register).
MEM_READ_LATENCY = 2
#: WRITE issued in cycle t reads its stream in cycle t; a READ of the same address issued in
#: cycle t + 1 or later returns the new word (a READ in cycle t returns the old one).
MEM_WRITE_TO_READ = 1
#: Cycles the SECDED decoder adds to a MEM read (:mod:`isa.ecc`): none. The word is checked
#: and corrected in the cycle it leaves the SRAM, on its way to the stream register (and on
#: the host's read path), within :data:`MEM_READ_LATENCY`.
ECC_READ_LATENCY = 0
#: VXM operation issued in cycle t on an unfolded ALU (``vxm_fold = 1``) reads its operands in
#: cycle t; its result is in the ALU's result register, and at the neighbouring stream
#: position, in cycle t + 2. (One cycle selects and registers the operands, one computes.) All
#: VXM operations share this latency, so an ALU's results never collide. A folded ALU's is
#: :func:`vxm_latency`.
VXM_LATENCY = 2
#: Pipeline registers a folded ALU (``vxm_fold`` > 1) adds between reading a chunk of lanes and
#: its result: one after the operands are selected (and the lookup table read), one after the
#: multiplier, one after the doubling high word (MULQ, REQ), one after the rounding shift and
#: the adder. Each chunk then takes five cycles through the lane datapath, one after the
#: other, so the ALU still computes a chunk per cycle and accepts an operation every
#: ``vxm_fold`` cycles; its results arrive this many cycles later (:func:`vxm_latency`). An
#: unfolded ALU has none: it computes a whole vector in the cycle after its issue.
FOLDED_VXM_STAGES = 4
#: Pipeline registers a folded matrix unit (``mxm_fold`` > 1) adds between its multipliers and
#: its accumulators: each fold phase's column sums are registered, then added to the partial
#: row in the next cycle, so the row is complete (written and emitted) this many cycles later
#: (:func:`mxm_latency`). The unit still accepts an MM every ``mxm_fold`` cycles. An unfolded
#: unit has none.
FOLDED_MXM_STAGES = 1
#: Switch operation issued in cycle t on an unfolded switch unit (``sxm_fold = 1``) reads its
#: streams in cycle t; its result is at the neighbouring position in cycle t + 2 (it is
#: computed and registered in cycle t). A folded unit's is :func:`sxm_latency`.
SXM_LATENCY = 2
#: LW / LB issued in cycle t: an MM with ``install`` issued in cycle t + 1 or later uses them.
LOAD_TO_INSTALL = 1
#: NOTIFY in cycle n: released queues issue in cycle n + 2.
NOTIFY_TO_ISSUE = 2
#: Fast-port unload request in cycle t: data on the port in cycle t + 4 (the request is
#: registered at the chip boundary, the SRAM reads in one cycle, the word is registered beside
#: its memory, then selected and registered).
HOST_READ_LATENCY = 4
#: An error or ECC event in cycle t (a queue's flag, a refused transfer, a word read): the host
#: registers (ERRORS, ERROR_QUEUE, ERROR_CYCLE, the ECC registers) show it from cycle t + 2 on,
#: and a run whose last cycle is t shows DONE from cycle t + 2 (each cycle's events are
#: registered before they are accumulated).
HOST_STATUS_LATENCY = 2
#: RECEIVE issued in cycle t: the vector delivered in cycle t is at the neighbouring position
#: in cycle t + 1 (the port drives it into the stream register directly).
LINK_RECEIVE_LATENCY = 1
#: The clock period of every simulation (cocotb, Amaranth). Only cycle counts are
#: architectural; this sets the time axis of waveforms.
SIMULATION_CLOCK_NS = 10


def vxm_latency(config):
    """Cycles from a VXM operation's issue to its result in the ALU's result register and at
    the neighbouring position: one cycle to register the operands, ``vxm_fold`` cycles of
    computing (:data:`VXM_LATENCY` unfolded) and, folded, the :data:`FOLDED_VXM_STAGES` of
    the lane datapath's pipeline."""
    stages = FOLDED_VXM_STAGES if config.vxm_fold > 1 else 0
    return VXM_LATENCY + config.vxm_fold - 1 + stages


def vxm_issue_interval(config):
    """Fewest cycles between two operations of one VXM ALU: ``vxm_fold``."""
    return config.vxm_fold


def sxm_latency(config):
    """Cycles from a switch operation's issue to its result at the neighbouring position:
    :data:`SXM_LATENCY` unfolded; folded, one cycle to register the streams, then
    ``sxm_fold`` cycles of moving lanes, the last of which sends."""
    return SXM_LATENCY + config.sxm_fold - 1


def sxm_issue_interval(config):
    """Fewest cycles between two operations of one switch unit: ``sxm_fold``."""
    return config.sxm_fold


def mxm_latency(config):
    """Cycles from an MM's issue to its result at the neighbouring position: one cycle to
    capture the activation, ``mxm_fold`` cycles of multiply-accumulate and, folded, the
    :data:`FOLDED_MXM_STAGES` between the multipliers and the accumulators."""
    stages = FOLDED_MXM_STAGES if config.mxm_fold > 1 else 0
    return config.mxm_fold + 1 + stages


def mxm_issue_interval(config):
    """Fewest cycles between two MMs of one matrix unit: ``mxm_fold``."""
    return config.mxm_fold


def link_config(config):
    """The :class:`~isa.link.LinkConfig` of every link port of a chip ``config``."""
    return LinkConfig.for_chip(config)


def link_latency(config):
    """Cycles from a SEND's issue to the cycle the other end delivers the vector (the cycle
    its RECEIVE must issue in): :attr:`~isa.link.LinkConfig.latency`."""
    return link_config(config).latency


def link_send_interval(config):
    """Fewest cycles between two SENDs of one link port."""
    return link_config(config).send_interval


def latency(op, config=None):
    """Cycles from issue to the result at the neighbouring stream position (``config`` is
    needed for the matrix unit, whose latency depends on its fold; without it a VXM or
    switch operation's is the unfolded unit's)."""
    if isinstance(op, VectorOp):
        return VXM_LATENCY if config is None else vxm_latency(config)
    if isinstance(op, SwitchOp):
        return SXM_LATENCY if config is None else sxm_latency(config)
    if op is MatrixOp.MM:
        if config is None:
            raise ValueError("the matrix unit's latency depends on the configuration")
        return mxm_latency(config)
    if op.name == "READ":
        return MEM_READ_LATENCY
    if op is LinkOp.RECEIVE:
        return LINK_RECEIVE_LATENCY
    raise ValueError(f"{op!r} sends nothing onto a stream")


def arrival(issue, latency, source, consumer):
    """Cycle in which a unit at position ``consumer`` sees a result sent by a unit at position
    ``source`` that issued in cycle ``issue`` with ``latency``.

    The consumer must be downstream: ``consumer != source``; the direction is implied by the
    sign of ``consumer - source``.
    """
    if consumer == source:
        raise ValueError("a unit never sees its own stream output at its own position")
    return issue + latency + abs(consumer - source) - 1


def issue_for_arrival(cycle, latency, source, consumer):
    """Inverse of :func:`arrival`: the issue cycle that makes the result reach ``consumer`` in
    ``cycle``."""
    if consumer == source:
        raise ValueError("a unit never sees its own stream output at its own position")
    return cycle - latency - abs(consumer - source) + 1

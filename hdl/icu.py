"""Instruction control: one instruction queue, its instruction memory and its issue logic.

A queue issues at most one instruction per cycle and never stalls; it waits only by ``NOP n``,
``REPEAT n`` (which re-issues the last unit instruction, every ``gap + 1`` cycles) and
``SYNC``. Control instructions (opcodes 0-7) are executed here; unit instructions (opcode >= 8)
are handed to the unit through :class:`~hdl.interfaces.IssueSignature`. Timing rules:
:mod:`isa.timing`.

The queue works one cycle ahead: in cycle t it decides what it shows in cycle t + 1 (the
issue, NOTIFY, halting, its errors) and registers it, so that every output leaves a register
and the units, the run control and the error registers, wherever they are on the chip, decode
an instruction in its issue cycle without the instruction memory's read and the queue's
decode before them. In the start cycle it decides program cycle 0 from a copy of instruction 0
(written with it by the host), while its memory reads the instruction cycle 1 needs.

The memory's next read address waits for the decision to advance, which waits for the
memory's output: so the memory keeps, beside each word, the bits :mod:`hdl.predecode` works
out when the host writes it (the kind of instruction, whether its count is 0, 1 or 2, whether
REPEAT's gap is 0), and the decision compares nothing wide. The host port takes the stored
word, predecoded bits included (the host interface works them out once for every queue).
"""

from amaranth import *
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from isa.config import MAX_QUEUE_DEPTH
from isa.formats import FORMATS, WORD_BITS
from isa.host import ErrorFlag
from .interfaces import ERROR_BITS, OFFSET_BITS, HostMemorySignature, IssueSignature
from .parameters import check_flag, check_integer
from .predecode import PREDECODED, STORED_BITS, Kind
from .sram import Sram

__all__ = ["InstructionControl", "QueueState"]


class QueueState(enum.Enum, shape=2):
    IDLE = 0
    RUN = 1
    HALTED = 2


class InstructionControl(wiring.Component):
    """One instruction queue.

    Parameters
    ----------
    depth : int
        Instructions the queue's memory holds. Running past the last one halts the queue.
    blackbox : bool
        Build the instruction memory from the ``lpu_sram`` Verilog module (see :mod:`hdl.sram`).

    Members
    -------
    start : In(1)
        Start pulse: the queue issues its instruction 0 in the next cycle (program cycle 0).
    notify_in : In(1)
        Some queue issues NOTIFY in this cycle (the OR of every queue's ``notify_out``): a
        SYNC in the next cycle is released.
    issue : Out(IssueSignature)
        Unit instructions for this queue's unit (registered).
    notify_out : Out(1)
        This queue issues NOTIFY in this cycle (registered).
    halting : Out(1)
        The queue has halted, or halts in this cycle (registered).
    running : Out(1)
        The queue is between start and halt (registered).
    error : Out(ERROR_BITS)
        :class:`~isa.host.ErrorFlag` bits raised by a control instruction this cycle
        (registered).
    host : Out(HostMemorySignature)
        Load/unload port of the instruction memory; ignored while the queue runs. Its words
        are :data:`~hdl.predecode.STORED_BITS` wide: the instruction, then its
        :func:`~hdl.predecode.predecode` bits.
    """

    def __init__(self, depth, *, blackbox):
        self.depth = check_integer("Queue depth", depth, 2, MAX_QUEUE_DEPTH)
        self.blackbox = check_flag("InstructionControl blackbox", blackbox)
        super().__init__({
            "start":      In(1),
            "notify_in":  In(1),
            "issue":      Out(IssueSignature()),
            "notify_out": Out(1),
            "halting":    Out(1),
            "running":    Out(1),
            "error":      Out(ERROR_BITS),
            "host":       Out(HostMemorySignature(ceil_log2(depth), STORED_BITS)),
        })

    def elaborate(self, platform):
        m = Module()
        # The word read in a host write's cycle is never used (idle, the queue reads only for
        # the host, and a write in the cycle it starts, which could collide with its read of
        # instruction 0 or 1, is dropped): the memory needs no collision logic on an FPGA.
        m.submodules.imem = imem = Sram(STORED_BITS, self.depth, blackbox=self.blackbox,
                                        undefined_collision=True)

        # The state of the cycle being decided: `pc` is its instruction (`first_word` holds
        # instruction 0 for the start cycle, the memory's output holds the others).
        state = Signal(QueueState)
        pc = Signal(range(self.depth + 1))
        busy = Signal()                         # in the second or later cycle of NOP/REPEAT
        remaining = Signal(32)                  # NOP: cycles left after this one;
                                                # REPEAT: re-issues left, this cycle's included
        # REPEAT: idle cycles left before its next re-issue.
        idle = Signal(FORMATS["repeat"].positions["gap"][1].width)
        last_word = Signal(WORD_BITS, reset_less=True)      # qualified by has_last
        last_offset = Signal(signed(OFFSET_BITS), reset_less=True)
        has_last = Signal()
        # Instruction 0 with its predecoded bits, as the host last wrote it (HALT until it
        # does; a reset, which keeps the memory, keeps it too).
        first_word = Signal(STORED_BITS, reset_less=True)
        # `remaining` is 1 (only meaningful while busy).
        remaining_one = Signal()

        # This cycle decides the next one: the start cycle decides program cycle 0, a running
        # queue each following cycle.
        deciding = Signal()
        m.d.comb += deciding.eq((state == QueueState.RUN) | self.start)
        stored = Signal(STORED_BITS)
        m.d.comb += stored.eq(Mux(state == QueueState.RUN, imem.rdata, first_word))
        word = stored[:WORD_BITS]
        predecoded = data.View(PREDECODED, stored[WORD_BITS:])

        # What the queue shows in the next cycle.
        valid = Signal()
        issued = Signal(WORD_BITS)
        offset = Signal(signed(OFFSET_BITS))
        notify = Signal()
        halting = Signal()
        error = Signal(ERROR_BITS)

        # Running off the end of the memory reads as HALT. Only the kind needs the override:
        # the word is issued only under a unit opcode.
        kind = Signal(Kind)
        m.d.comb += kind.eq(Mux(pc == self.depth, Kind.HALT, predecoded.kind))
        nop = data.View(FORMATS["count"].layout, word)
        rep = data.View(FORMATS["repeat"].layout, word)
        is_nop = kind == Kind.NOP
        is_repeat = kind == Kind.REPEAT

        advance = Signal()
        # NOP and REPEAT count down one shared counter: `left` is what remains before this
        # cycle (the instruction's count in its first cycle), and this cycle's is its last
        # when `left` is 1 (predecoded, or registered with `remaining`). One decrement serves
        # both.
        count = Signal(32)
        left = Signal(32)
        last_count = Signal()
        left_two = Signal()                     # `left - 1`, the next `remaining`, is 1
        m.d.comb += [
            count.eq(Mux(is_nop, nop.count, rep.count)),
            left.eq(Mux(busy, remaining, count)),
            last_count.eq(Mux(busy, remaining_one, predecoded.count_one)),
            left_two.eq(Mux(busy, remaining == 2, predecoded.count_two)),
        ]
        refused = ~busy & predecoded.count_zero

        # A REPEAT re-issue: the last unit word, its offset advanced by the stride.
        stepped = Signal(signed(OFFSET_BITS))
        m.d.comb += [
            stepped.eq(last_offset + rep.stride),
            issued.eq(Mux(is_repeat, last_word, word)),
        ]

        # The start cycle's decision may be a HALT, which the statements below make win.
        with m.If(self.start):
            m.d.sync += state.eq(QueueState.RUN)
        with m.If(deciding):
            with m.If(kind == Kind.UNIT):
                m.d.comb += [valid.eq(1), advance.eq(1)]
                m.d.sync += [last_word.eq(word), last_offset.eq(0), has_last.eq(1)]
            with m.Elif(kind == Kind.HALT):
                m.d.comb += halting.eq(1)
                m.d.sync += state.eq(QueueState.HALTED)
            with m.Elif(is_nop):
                with m.If(refused):
                    m.d.comb += [error.eq(ErrorFlag.BAD_OPERAND), advance.eq(1)]
                with m.Else():
                    m.d.sync += [busy.eq(1), remaining.eq(left - 1), remaining_one.eq(left_two)]
                    m.d.comb += advance.eq(last_count)
            with m.Elif(is_repeat):
                with m.If(refused | (~busy & ~has_last)):
                    m.d.comb += [error.eq(ErrorFlag.BAD_OPERAND), advance.eq(1)]
                with m.Else():
                    # Its first cycle starts with `gap` idle cycles and `count` re-issues left.
                    wait = Signal.like(idle)
                    m.d.comb += wait.eq(Mux(busy, idle, rep.gap))
                    m.d.sync += busy.eq(1)
                    with m.If(Mux(busy, idle == 0, predecoded.gap_zero)):
                        m.d.comb += [valid.eq(1), offset.eq(stepped), advance.eq(last_count)]
                        m.d.sync += [last_offset.eq(stepped), remaining.eq(left - 1),
                                     remaining_one.eq(left_two), idle.eq(rep.gap)]
                    with m.Else():
                        m.d.sync += [remaining.eq(left), remaining_one.eq(last_count),
                                     idle.eq(wait - 1)]
            with m.Elif(kind == Kind.SYNC):
                m.d.comb += advance.eq(self.notify_in)
            with m.Elif(kind == Kind.NOTIFY):
                m.d.comb += [notify.eq(1), advance.eq(1)]
            with m.Else():
                m.d.comb += [error.eq(ErrorFlag.ILLEGAL_OPCODE), advance.eq(1)]
        with m.Elif(state == QueueState.HALTED):
            m.d.comb += halting.eq(1)

        with m.If(deciding):
            with m.If(advance):
                m.d.sync += [pc.eq(pc + 1), busy.eq(0)]
        with m.Else():
            # Idle or halted: ready to decide program cycle 0 of the next run.
            m.d.sync += [pc.eq(0), busy.eq(0), has_last.eq(0)]

        m.d.sync += [
            self.issue.valid.eq(valid),
            self.issue.word.eq(issued),
            self.issue.offset.eq(offset),
            self.notify_out.eq(notify),
            self.halting.eq(halting),
            self.running.eq(deciding),
            self.error.eq(error),
        ]

        # The instruction memory reads the next cycle's instruction: the one at pc, or pc + 1
        # when this cycle advances. Idle, it serves the host.
        with m.If(deciding):
            m.d.comb += imem.raddr.eq(Mux(advance, pc + 1, pc))
        with m.Else():
            m.d.comb += imem.raddr.eq(self.host.addr)

        host_write = Signal()
        m.d.comb += [
            host_write.eq(self.host.we & (state != QueueState.RUN) & ~self.start),
            self.host.rdata.eq(imem.rdata),
            imem.we.eq(host_write),
            imem.waddr.eq(self.host.addr),
            imem.wdata.eq(self.host.wdata),
        ]
        with m.If(host_write & (self.host.addr == 0)):
            m.d.sync += first_word.eq(imem.wdata)
        return m

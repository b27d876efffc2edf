"""compiler.queues.QueueBuilder: timed placements become NOPs, REPEATs (with a gap for issues at
a constant interval) and HALT, and the words run on the golden simulator at the placed cycles."""

import pytest

from compiler.program import Program
from compiler.queues import MAX_GAP, QueueBuilder, ScheduleError
from golden.archsim import ArchSim
from isa import preset
from isa.formats import Instruction, decode, spec_for
from isa.geometry import QueueKind, floorplan
from isa.opcodes import ControlOp, Direction, MemReadOp

CONFIG = preset("tiny")
QUEUE = floorplan(CONFIG).queue("mem_w0.rd")


def read(address):
    return Instruction(spec_for(QueueKind.MEM_READ, MemReadOp.READ.value),
                       {"addr": address, "stream": 0, "dir": Direction.EAST}).encode()


def built(placements):
    builder = QueueBuilder(QUEUE)
    for cycle, address in placements:
        builder.place(cycle, read(address))
    return builder


def ops(words):
    return [(i.op, dict(i.fields)) for i in (decode(QueueKind.MEM_READ, w) for w in words)]


def issued(words):
    """``(cycle, address)`` of every READ the golden simulator issues from ``words``."""
    sim = ArchSim(CONFIG, strict=False)
    Program(CONFIG, queues={QUEUE.number: words}).load_into(sim)
    return [(cycle, decode(QueueKind.MEM_READ, word).addr + offset)
            for cycle, word, offset in sim.run(trace=True).issues(QUEUE.number)]


@pytest.mark.parametrize("placements", [
    [(3, 10), (4, 11), (5, 12)],                        # consecutive: READ + REPEAT
    [(3, 10), (19, 11), (35, 12), (51, 13)],            # every 16 cycles: REPEAT with gap 15
    [(0, 5), (2, 7), (4, 9), (9, 10), (10, 11)],        # a run with a gap, then another run
    [(0, 0), (1, 1), (3, 2)],                           # the interval changes: no merge
])
def test_words_issue_at_the_placed_cycles(placements):
    words = built(placements).words()
    assert issued(words) == placements


def test_constant_interval_compresses_to_one_repeat():
    words = built([(3 + 16 * k, 10 + k) for k in range(40)]).words()
    assert ops(words)[:2] == [(ControlOp.NOP, {"count": 3}),
                              (MemReadOp.READ, {"addr": 10, "stream": 0,
                                                "dir": Direction.EAST})]
    assert ops(words)[2] == (ControlOp.REPEAT, {"count": 39, "stride": 1, "gap": 15})
    assert ops(words)[3][0] is ControlOp.HALT and len(words) == 4


def test_an_interval_beyond_the_gap_field_is_not_merged():
    words = built([(0, 0), (MAX_GAP + 2, 1)]).words()
    assert [op for op, _ in ops(words)] == [MemReadOp.READ, ControlOp.NOP, MemReadOp.READ,
                                            ControlOp.HALT]
    with pytest.raises(ScheduleError, match="gap 1024 outside 0..1023"):
        QueueBuilder(QUEUE).place(0, read(0), count=2, gap=MAX_GAP + 1)


def test_a_repeat_whose_gaps_hold_another_run_is_split():
    # Two kernels use one queue in turn: reads 10, 11, 12 every 4 cycles from cycle 0, and
    # reads 50, 51 every 4 cycles from cycle 2, in the first run's gaps.
    builder = QueueBuilder(QUEUE)
    builder.place(0, read(10), count=3, stride=1, gap=3)
    builder.place(2, read(50), count=2, stride=1, gap=3)
    builder.place(20, read(70), count=3, stride=2, gap=1)      # alone: stays one REPEAT
    words = builder.words()
    assert issued(words) == [(0, 10), (2, 50), (4, 11), (6, 51), (8, 12), (20, 70), (22, 72),
                             (24, 74)]
    assert ops(words)[-2] == (ControlOp.REPEAT, {"count": 2, "stride": 2, "gap": 1})

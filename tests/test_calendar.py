"""The scheduling core: the calendar's reservations and their rollback, the SRAM allocator,
and tensors' placement, images and read-back."""

import numpy as np
import pytest

from compiler.calendar import Calendar, Transfer
from compiler.queues import ScheduleError
from compiler.tensors import Tensor, planar_tensor
from isa import preset
from isa.formats import encode
from isa.geometry import QueueKind
from isa.opcodes import DType, Direction, MatrixOp, MemReadOp, VectorOp

CONFIG = preset("tiny")


def read_word(address):
    return encode(QueueKind.MEM_READ, MemReadOp.READ, addr=address, stream=0,
                  dir=Direction.EAST)


def test_a_rollback_undoes_every_kind_of_reservation():
    calendar = Calendar(CONFIG)
    calendar.issue("mem_w0.rd", 3, read_word(0))
    transfer = Transfer(Direction.EAST, [2], 2, 6, 10, 2)
    calendar.reserve(transfer)
    first = calendar.sram.allocate(0, 5)
    mark = calendar.checkpoint()
    calendar.issue("mem_w0.rd", 4, read_word(1), count=3, stride=1)
    calendar.hold("mem_w1.rd", 9)
    calendar.reserve(Transfer(Direction.EAST, [3], 2, 6, 10, 2))
    second = calendar.sram.allocate(0, 7)
    registers = calendar.registers(2, 0)
    assert (first, second, registers) == (0, 5, ([0, 1], 0))
    assert not calendar.queue_free("mem_w0.rd", 5) and not calendar.queue_free("mem_w1.rd", 9)
    calendar.rollback(mark)
    # What came before the checkpoint stays; everything after it is gone.
    assert not calendar.queue_free("mem_w0.rd", 3) and not calendar.transfer_free(transfer)
    assert calendar.queue_free("mem_w0.rd", 4, 3) and calendar.queue_free("mem_w1.rd", 9)
    assert calendar.transfer_free(Transfer(Direction.EAST, [3], 2, 6, 10, 2))
    assert calendar.sram.used(0) == 5 and calendar.sram.allocate(0, 1) == 5
    assert calendar.registers(2, 0) == ([0, 1], 0)
    queues, predicted = calendar.programs()
    assert predicted == 4 and len(queues) == 1


def test_transfers_conflict_only_on_the_same_stream_phase_and_positions():
    calendar = Calendar(CONFIG)
    calendar.reserve(Transfer(Direction.EAST, [2], 2, 6, 10, 2))     # positions 3..6
    # The same value's phase one position later and one cycle later: the same registers.
    assert not calendar.transfer_free(Transfer(Direction.EAST, [2], 3, 6, 11, 2))
    assert calendar.transfer_free(Transfer(Direction.EAST, [2], 2, 6, 11, 2))   # next phase
    assert calendar.transfer_free(Transfer(Direction.WEST, [2], 8, 6, 10, 2))   # other way
    assert calendar.transfer_free(Transfer(Direction.EAST, [2], 6, 9, 14, 2))   # beyond it
    with pytest.raises(ScheduleError, match="stream conflict"):
        calendar.reserve(Transfer(Direction.EAST, [2], 3, 6, 11, 2))


def test_overlapping_issues_and_register_shortage_are_schedule_errors():
    calendar = Calendar(CONFIG)
    calendar.issue("vxm.alu0", 10, 1, count=4)
    with pytest.raises(ScheduleError, match="vxm.alu0 is already busy in cycles 13..13"):
        calendar.issue("vxm.alu0", 13, 1)
    calendar.registers(CONFIG.vxm_consts - 1, 0)
    with pytest.raises(ScheduleError, match="needs 2 constant registers; a kernel being placed "
                                            "holds all but 1"):
        calendar.registers(2, 5)
    with pytest.raises(ScheduleError, match="needs 9 constant registers; the VXM has 8"):
        calendar.registers(9, 5)


def test_registers_are_ready_when_their_last_holder_is_done():
    calendar = Calendar(CONFIG)
    held, ready = calendar.registers(3, 0)
    calendar.release_registers(held[:2], 40)
    calendar.release_registers(held[2:], 10)
    # Five were never used; the sixth and seventh are the ones free soonest.
    assert calendar.registers(6, 5) == ([3, 4, 5, 6, 7, 2], 11)
    assert calendar.registers(1, 50) == ([0], 50)


def test_released_words_are_reused_only_after_their_last_read():
    calendar = Calendar(CONFIG)
    sram = calendar.sram
    a = sram.allocate(2, 10)
    b = sram.allocate(2, 10)
    sram.release(2, a, 10, after=50)
    # A kernel writing from cycle 40 on must not overwrite words read until cycle 50.
    assert sram.allocate(2, 4, after=40) == b + 10
    assert sram.allocate(2, 4, after=60) == a
    assert sram.used(2) == 18


def test_a_full_slice_says_how_many_words_it_needs_and_has():
    calendar = Calendar(CONFIG)
    calendar.sram.allocate(1, CONFIG.words - 3)
    with pytest.raises(ScheduleError, match=f"SRAM of mem_w1 is full: 4 more words needed, 3 "
                                            f"of its {CONFIG.words} words free"):
        calendar.sram.allocate(1, 4)


def test_a_scattered_tensor_loads_and_reads_back_its_values():
    """Words anywhere (two slices, addresses out of order, one word stored twice): the images
    put every value where the tensor says, and the regions read them back."""
    lanes = CONFIG.lanes
    tensor = Tensor("t", DType.I16, (3, lanes + 5), lanes)
    where = {}
    for v in range(tensor.vectors):
        for b in range(tensor.planes):
            where[(v, b)] = (b, 100 - 10 * v + b)
            tensor.place(v, b, *where[(v, b)])
    tensor.place(0, 0, 3, 7)                # a second copy
    values = np.random.default_rng(0).integers(-(1 << 15), 1 << 15, (3, lanes + 5))
    memory = {}
    for slice_index, address, words in tensor.images(values):
        for k, word in enumerate(words):
            memory[(slice_index, address + k)] = word
    assert len(memory) == len(tensor.words)
    np.testing.assert_array_equal(memory[(3, 7)], memory[where[(0, 0)]])
    regions = {r.name: np.stack([memory[(r.slice, r.address + k)] for k in range(r.count)])
               for r in tensor.regions()}
    np.testing.assert_array_equal(tensor.unpack(regions), values)


def test_a_planar_tensor_is_consecutive_words_per_plane():
    calendar = Calendar(CONFIG)
    calendar.sram.allocate(4, 3)
    tensor = planar_tensor(calendar.sram, "x", DType.I32, (2, 40), CONFIG.lanes, [4, 5, 6, 7])
    assert tensor.vectors == 6
    assert [tensor.location(v, 0) for v in range(6)] == [(4, 3 + v) for v in range(6)]
    assert tensor.location(5, 3) == (7, 5)
    assert [r.count for r in tensor.regions()] == [6] * 4


def test_a_folded_unit_takes_its_issue_interval_per_instruction():
    # vxm_fold = 4, mxm_fold = 2: an operation occupies its ALU's queue for 4 cycles and an
    # MM its unit's for 2; other queues one cycle per instruction.
    calendar = Calendar(CONFIG.derive(vxm_fold=4, mxm_fold=2))
    mov = encode(QueueKind.VXM_ALU, VectorOp.MOV, stype=DType.I8, dtype=DType.I8)
    calendar.issue("vxm.alu0", 10, mov)
    assert [calendar.queue_free("vxm.alu0", c) for c in range(6, 15)] == \
        [True, False, False, False, False, False, False, False, True]
    assert calendar.next_free("vxm.alu0", 8) == 14
    calendar.issue("vxm.alu1", 0, mov, count=3, gap=3)      # cycles 0, 4, 8: all 12 taken
    assert calendar.busy("vxm.alu1", 0, 20) == 12
    with pytest.raises(ValueError, match="vxm.alu2 takes an operation every 4 cycles, not "
                                         "every 2"):
        calendar.issue("vxm.alu2", 0, mov, count=2, gap=1)
    mm = encode(QueueKind.MXM_COMPUTE, MatrixOp.MM)
    calendar.issue("mxm_w0.mm", 5, mm)
    assert [calendar.queue_free("mxm_w0.mm", c) for c in (4, 5, 6, 7)] == \
        [False, False, False, True]
    calendar.issue("mem_w0.rd", 3, read_word(0))
    assert calendar.queue_free("mem_w0.rd", 4)
    # A held slot of a folded ALU keeps it for the interval an instruction there would take.
    calendar.hold("vxm.alu3", 20, 2)
    assert calendar.busy("vxm.alu3", 0, 40) == 5 and calendar.queue_free("vxm.alu3", 25)

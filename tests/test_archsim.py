"""The golden architectural simulator: queue timing, the stream timing rule, errors and strict
checks. Expected cycle numbers are worked out by hand from isa.timing."""

import numpy as np
import pytest

from compiler.asm import assemble
from golden.archsim import ArchSim, ChipError, ProgramError
from isa import preset
from isa.geometry import floorplan
from isa.formats import Instruction, spec_for
from isa.geometry import QueueKind
from isa.host import ErrorFlag
from isa.opcodes import ControlOp

CONFIG = preset("tiny")
PLAN = floorplan(CONFIG)
W0 = PLAN.sram_index(PLAN.unit("mem_w0"))      # distance 1 west of the VXM
W2 = PLAN.sram_index(PLAN.unit("mem_w2"))      # distance 3 west of the VXM
E0 = PLAN.sram_index(PLAN.unit("mem_e0"))      # distance 1 east


def run(text, sram=(), strict=True):
    sim = ArchSim(CONFIG, strict=strict)
    for index, address, words in sram:
        sim.load_sram(index, address, words)
    assemble(text, CONFIG).load_into(sim)
    return sim, sim.run(trace=True)


def issues(result, queue):
    return [(cycle, offset) for cycle, _, offset in result.issues(PLAN.queue(queue).number)]


def vectors(*rows):
    return np.array([[r] * CONFIG.lanes for r in rows], dtype=np.uint8)


def test_empty_program_takes_no_cycles():
    _, result = run("")
    assert result.cycles == 0 and result.errors == 0


def test_nop_and_repeat_timing():
    _, result = run("""
        .queue mem_w0.rd
            nop 5                   ; cycles 0-4
            read 100 -> e0          ; cycle 5
            repeat 3, 2             ; cycles 6, 7, 8: addresses 102, 104, 106
            nop 2                   ; cycles 9, 10
            repeat 1, 10            ; cycle 11: address 116
    """, sram=[(W0, 100, vectors(*range(17)))])
    assert issues(result, "mem_w0.rd") == [(5, 0), (6, 2), (7, 4), (8, 6), (11, 16)]
    assert result.cycles == 12          # HALT (end of program) issues in cycle 12


def test_repeat_with_a_gap():
    _, result = run("""
        .queue mem_w0.rd
            read 100 -> e0          ; cycle 0
            repeat 3, 2, 2          ; idle 1, 2; read 3; idle 4, 5; read 6; idle 7, 8; read 9
            read 110 -> e0          ; cycle 10
            repeat 1, 1, 4          ; idle 11-14; cycle 15: address 111
    """, sram=[(W0, 100, vectors(*range(12)))])
    assert issues(result, "mem_w0.rd") == [(0, 0), (3, 2), (6, 4), (9, 6), (10, 0), (15, 1)]
    assert result.cycles == 16


def test_read_reaches_consumers_by_the_timing_rule():
    # READ at cycle t from distance d arrives at the VXM at t + 2 + d - 1.
    sim, result = run("""
        .queue mem_w2.rd
            read 0 -> e0            ; cycle 0, distance 3: at the VXM in cycle 4
        .queue vxm.alu0
            nop 4
            add.i8 e0, #1 -> e4     ; cycle 4; result one east in cycle 6
        .queue mem_e0.wr
            nop 6
            write e4 -> 7           ; mem_e0 is one east of the VXM: cycle 6
    """, sram=[(W2, 0, vectors(41))])
    assert result.errors == 0 and result.cycles == 7
    assert list(sim.read_sram(E0, 7, 1)[0]) == [42] * CONFIG.lanes


def test_a_folded_alu_takes_fold_cycles_per_operation():
    # vxm_fold = 4: an ADD issued in cycle 4 leaves in cycle 4 + 9 (one east in cycle 13, not
    # 6: 3 more cycles of computing and the lane pipeline's 4 registers); the same ALU takes
    # its next operation in cycle 8, not sooner, while the ADD is still in the pipeline.
    config = CONFIG.derive(vxm_fold=4)
    program = """
        .queue mem_w2.rd
            read 0 -> e0            ; cycle 0, distance 3: at the VXM in cycle 4
        .queue vxm.alu0
            nop 4
            add.i8 e0, #1 -> e4     ; cycle 4; result one east in cycle 13
            nop 3
            mov.i8 alu0 -> e8       ; cycle 8: reads the result register, written at 13: 0
            nop 4
            mov.i8 alu0 -> e12      ; cycle 13: 42
        .queue mem_e0.wr
            nop 13
            write e4 -> 7           ; cycle 13
            nop 3
            write e8 -> 8           ; cycle 17
            nop 4
            write e12 -> 9          ; cycle 22
    """
    sim = ArchSim(config)
    sim.load_sram(W2, 0, vectors(41))
    assemble(program, config).load_into(sim)
    result = sim.run()
    assert result.errors == 0 and result.cycles == 23
    assert [list(word) for word in sim.read_sram(E0, 7, 3)] == \
        [[42] * CONFIG.lanes, [0] * CONFIG.lanes, [42] * CONFIG.lanes]
    # One cycle sooner is refused: BAD_OPERAND, and the MOV has no effect.
    early = program.replace("nop 3\n            mov.i8 alu0 -> e8", "nop 2\n            "
                                                                  "mov.i8 alu0 -> e8", 1)
    sim = ArchSim(config, strict=False)
    sim.load_sram(W2, 0, vectors(41))
    assemble(early, config).load_into(sim)
    result = sim.run()
    assert result.errors == ErrorFlag.BAD_OPERAND
    assert (result.error_queue, result.error_cycle) == (PLAN.queue("vxm.alu0").number, 7)


def test_a_folded_switch_unit_takes_fold_cycles_per_operation():
    # sxm_fold = 4: a ROT issued in cycle 4 leaves in cycle 4 + 5 (one east in cycle 9, not
    # 6); the unit takes its next operation in cycle 8, not sooner.
    config = CONFIG.derive(sxm_fold=4)
    W1 = PLAN.sram_index(PLAN.unit("mem_w1"))   # distance 3 east of sxm_w0
    W3 = PLAN.sram_index(PLAN.unit("mem_w3"))   # one east of sxm_w0
    program = """
        .queue mem_w1.rd
            read 0 -> w0            ; cycles 0-4: at sxm_w0 in cycles 4-8
            repeat 4, 0
        .queue sxm_w0.sxm
            nop 4
            rot.i8 w0 -> e4, 1      ; cycle 4: one east in cycle 9
            nop 3
            rot.i8 w0 -> e8, 2      ; cycle 8: one east in cycle 13
        .queue mem_w3.wr
            nop 9
            write e4 -> 7           ; cycle 9
            nop 3
            write e8 -> 8           ; cycle 13
    """
    lanes = np.arange(CONFIG.lanes, dtype=np.uint8)
    sim = ArchSim(config)
    sim.load_sram(W1, 0, lanes[None, :])
    assemble(program, config).load_into(sim)
    result = sim.run()
    assert result.errors == 0 and result.cycles == 14
    assert [list(word) for word in sim.read_sram(W3, 7, 2)] == \
        [list(np.roll(lanes, -1)), list(np.roll(lanes, -2))]
    # One cycle sooner is refused: BAD_OPERAND, and the ROT has no effect.
    early = program.replace("nop 3\n            rot.i8", "nop 2\n            rot.i8", 1)
    sim = ArchSim(config, strict=False)
    sim.load_sram(W1, 0, lanes[None, :])
    assemble(early, config).load_into(sim)
    result = sim.run()
    assert result.errors == ErrorFlag.BAD_OPERAND
    assert (result.error_queue, result.error_cycle) == (PLAN.queue("sxm_w0.sxm").number, 7)
    assert list(sim.read_sram(W3, 8, 1)[0]) == [0] * CONFIG.lanes


def test_a_folded_alu_sees_an_ldc_when_an_unfolded_one_does():
    # vxm_fold = 4: an LDC issued in cycle 0 is seen by operands read from cycle 2 on, all of
    # it, and not in cycle 1, as unfolded. Each MOV leaves vxm_latency = 9 cycles later.
    config = CONFIG.derive(vxm_fold=4)
    sim = ArchSim(config)
    assemble("""
        .queue vxm.alu0
            ldc.i32 #1 @ 1          ; c1 = 1 (the immediate is the register number)
        .queue vxm.alu1
            nop 1
            mov.i8 c1 -> e0         ; cycle 1: 0, one east in cycle 10
        .queue vxm.alu2
            nop 2
            mov.i8 c1 -> e4         ; cycle 2: 1, in cycle 11
        .queue mem_e0.wr
            nop 10
            write e0 -> 0
            write e4 -> 1
    """, config).load_into(sim)
    result = sim.run()
    assert result.errors == 0
    assert [list(word) for word in sim.read_sram(E0, 0, 2)] == \
        [[0] * CONFIG.lanes, [1] * CONFIG.lanes]


def test_reading_a_stream_one_cycle_early_is_a_program_error():
    text = """
        .queue mem_w2.rd
            read 0 -> e0
        .queue vxm.alu0
            nop 3
            add.i8 e0, #1 -> e4
    """
    with pytest.raises(ProgramError, match="vxm.alu0 reads stream e0 at cycle 3, which "
                                           "carries no value"):
        run(text, sram=[(W2, 0, vectors(1))])
    _, result = run(text, sram=[(W2, 0, vectors(1))], strict=False)
    assert result.errors == 0


def test_reading_unloaded_sram_is_a_program_error():
    with pytest.raises(ProgramError, match="mem_w0.rd reads SRAM word 9 at cycle 0"):
        run(".queue mem_w0.rd\n read 9 -> e0\n")


def test_sync_waits_for_notify():
    # NOTIFY in cycle 3 releases queues in SYNC in cycle 4; they issue again in cycle 5.
    _, result = run("""
        .queue mem_w1.rd
            nop 3
            notify                  ; cycle 3
        .queue mem_w0.rd
            sync                    ; waits from cycle 0
            read 0 -> e0            ; cycle 5
        .queue mem_e0.rd
            nop 4
            sync                    ; cycle 4: released at once
            read 0 -> w0            ; cycle 5
    """, sram=[(W0, 0, vectors(1)), (E0, 0, vectors(1))])
    assert issues(result, "mem_w0.rd") == [(5, 0)]
    assert issues(result, "mem_e0.rd") == [(5, 0)]
    assert result.cycles == 6


def test_sync_without_notify_is_reported():
    with pytest.raises(ProgramError, match="queues mem_w0.rd wait in SYNC forever"):
        run(".queue mem_w0.rd\n sync\n")


def test_illegal_instruction_is_flagged_without_effect():
    # The assembler refuses this program, so build its last word by hand.
    program = assemble(".queue mem_e0.wr\n nop 2\n write w0 -> 8190\n", CONFIG)
    number = PLAN.queue("mem_e0.wr").number
    repeat = Instruction(spec_for(QueueKind.MEM_WRITE, ControlOp.REPEAT.value),
                         {"count": 2, "stride": 1})   # offset 2 reaches 8192: out of range
    program.queues[number].append(repeat.encode())
    sim = ArchSim(CONFIG, strict=False)
    program.load_into(sim)
    result = sim.run()
    assert result.errors == ErrorFlag.ADDRESS_RANGE
    assert result.error_queue == PLAN.queue("mem_e0.wr").number
    assert result.error_cycle == 4
    assert result.cycles == 5


def test_unknown_opcode_and_bad_counts_are_flagged():
    sim = ArchSim(CONFIG)
    number = PLAN.queue("vxm.alu1").number
    sim.load_program(number, [5, 1])      # opcode 5 is no instruction; NOP 0 is illegal
    result = sim.run()
    assert result.errors == ErrorFlag.ILLEGAL_OPCODE | ErrorFlag.BAD_OPERAND
    assert (result.error_queue, result.error_cycle, result.cycles) == (number, 0, 2)


def test_two_alus_sending_to_one_stream_conflict():
    _, result = run("""
        .queue vxm.alu0
            mov.i8 #1 -> e0
        .queue vxm.alu2
            mov.i8 #2 -> e0
        .queue vxm.alu3
            mov.i32 #3 -> e0        ; overlaps e0..e3
        .queue vxm.alu4
            mov.i8 #4 -> w0         ; other direction: no conflict
    """)
    assert result.errors == ErrorFlag.STREAM_CONFLICT
    assert result.error_queue == PLAN.queue("vxm.alu2").number


def test_host_side_errors_are_clear():
    sim = ArchSim(CONFIG)
    with pytest.raises(ChipError, match="SRAM index 99 out of range"):
        sim.load_sram(99, 0, vectors(1))
    with pytest.raises(ChipError, match=r"SRAM words must have shape \[n, 16\], not \[1, 8\]"):
        sim.load_sram(0, 0, np.zeros((1, 8), dtype=np.uint8))
    with pytest.raises(ChipError, match="2 words at address 8191 do not fit 8192 words"):
        sim.load_sram(0, 8191, vectors(1, 2))
    depth = CONFIG.queue_depth
    with pytest.raises(ChipError,
                       match=f"holds {depth + 1} instructions, more than the queue depth {depth}"):
        sim.load_program(0, [1] * (depth + 1))


# ---- The chip model stepped from outside, its edge streams driven and observed. ----

def test_a_stepped_chip_takes_and_gives_values_at_its_edges():
    """A vector entering the eastward registers at the west edge in cycle 3 passes ``mem_w1``
    (position p) in cycle 3 + p, where a WRITE stores it. A READ by ``mem_e0`` in cycle 0 sends
    its word east: at the east edge position P - 1 in cycle 2 + (P - 1 - q) - 1, so it leaves
    past the edge into the next cycle. Nothing leaves where nothing was sent."""
    w1, e0 = PLAN.unit("mem_w1"), PLAN.unit("mem_e0")
    last = PLAN.positions - 1
    write_cycle = 3 + w1.position
    leaves = 2 + (last - e0.position) - 1 + 1
    passes = 3 + PLAN.positions         # the edge-fed vector leaves past the east edge too
    length = passes + 2
    sim = ArchSim(CONFIG)
    sim.load_sram(E0, 0, vectors(99))
    program = assemble(f"""
        .queue mem_w1.wr
            nop {write_cycle}
            write e2 -> 40
        .queue mem_e0.rd
            read 0 -> e5
        .queue vxm.alu0
            nop {length}
    """, CONFIG)
    program.load_into(sim)
    chip = sim.chip
    chip.start()
    entering = np.arange(CONFIG.lanes, dtype=np.uint8) + 7
    east_out, west_out = {}, {}
    while not chip.halted:
        cycle = chip.cycle
        out = chip.step(east_in={2: entering} if cycle == 3 else None, edges=True)
        for stream, data in out[0].items():
            east_out.setdefault(cycle, {})[stream] = data
        for stream, data in out[1].items():
            west_out.setdefault(cycle, {})[stream] = data
    assert chip.cycle == length and chip.errors == 0
    assert list(sim.read_sram(PLAN.sram_index(w1), 40, 1)[0]) == list(entering)
    assert sorted(east_out) == [leaves, passes]
    assert list(east_out[leaves]) == [5] and list(east_out[leaves][5]) == [99] * CONFIG.lanes
    assert list(east_out[passes]) == [2] and list(east_out[passes][2]) == list(entering)
    assert west_out == {}


def test_reading_an_edge_stream_nobody_fed_is_a_program_error():
    sim = ArchSim(CONFIG)
    assemble(".queue mem_w3.wr\n nop 4\n write e0 -> 0\n", CONFIG).load_into(sim)
    sim.chip.start()
    with pytest.raises(ProgramError, match="mem_w3.wr writes stream east0 at cycle 4, which "
                                           "carries no value"):
        while not sim.chip.halted:
            sim.chip.step()

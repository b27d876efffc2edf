"""Chip-to-chip links in the golden architectural simulator: link ports (golden.archsim.link) and
chips joined by them (golden.archsim.system). Every expected cycle is worked out by hand from the
rules of isa.timing; the derivation is in the comments.

The floorplan of ``tiny`` with one link port per edge (checked by the first test)::

    position  0        1       2       3       4       5       6       7    8       ..  11
              link_w0  mxm_w0  sxm_w0  mem_w3  mem_w2  mem_w1  mem_w0  vxm  mem_e0  ..  mem_e3
    position  12      13      14
              sxm_e0  mxm_e0  link_e0

Rules used throughout (isa.timing):

* READ issued in cycle t by a slice at p: the word is at the next position in cycle t + 2 and at
  q in cycle t + 2 + |q - p| - 1 (arrival).
* SEND issued in cycle t at the port reads the stream flowing towards the port's edge there in
  cycle t; the other end delivers it in cycle t + 78 (link latency, pinned below); a RECEIVE in
  exactly that cycle sends it towards the centre with latency 1, so it is at position q in cycle
  t_receive + 1 + |q - port| - 1.
* A queue's program ends with HALT, which issues in the cycle after its last instruction's; the
  chip's length is the cycle in which its last queue halts.
"""

import numpy as np
import pytest

from compiler.asm import assemble
from golden.archsim import ArchSim, ChipError, ProgramError
from golden.archsim.system import ChipSystem, Connection, chain
from isa import preset
from isa.formats import Instruction, spec_for
from isa.geometry import QueueKind, floorplan
from isa.host import ErrorFlag
from isa.opcodes import LinkOp
from isa.timing import LINK_RECEIVE_LATENCY, link_latency, link_send_interval

CONFIG = preset("tiny").derive(links=1)
PLAN = floorplan(CONFIG)
LANES = CONFIG.lanes
W_PORT = PLAN.queue("link_w0.port").number
E_PORT = PLAN.queue("link_e0.port").number


def q(name):
    return PLAN.queue(name).number


def data(slice_name, address, words):
    """A ``.data`` line putting ``words`` ([n, lanes] bytes) at ``slice_name[address]``."""
    values = " ".join(str(int(v)) for v in np.asarray(words).ravel())
    return f".data {slice_name} {address} {values}"


def random_words(seed, count):
    return np.random.default_rng(seed).integers(0, 256, size=(count, LANES), dtype=np.uint8)


def run_system(texts, connections=None, strict=True):
    """Assemble one program text per chip (``None``: no program), run them on a system joined by
    ``connections`` (a chain by default) with a trace; the outcomes."""
    connections = chain(len(texts)) if connections is None else connections
    system = ChipSystem([CONFIG] * len(texts), connections, strict=strict)
    programs = [None if text is None else assemble(text, CONFIG) for text in texts]
    return system.execute(programs, trace=True)


def run_chip(text, strict=True):
    sim = ArchSim(CONFIG, strict=strict)
    program = assemble(text, CONFIG)
    return sim.execute(program, trace=True)


def issues(outcome, queue):
    return [(cycle, offset) for cycle, _, offset in outcome.issues(q(queue))]


def flagged(outcome):
    """``[(cycle, queue number, flags)]`` of every error in a traced run."""
    return [(cycle, number, flags) for cycle, number, _, _, flags in outcome.trace if flags]


# ---- The figures the hand derivations use. ----

def test_link_ports_and_link_figures_of_tiny():
    assert [(u.name, u.position) for u in PLAN.link_units] == [("link_w0", 0), ("link_e0", 14)]
    assert PLAN.positions == 15
    assert [PLAN.unit(n).position for n in ("mem_w3", "mem_e3")] == [3, 11]
    assert [u.name for u in floorplan(preset("tiny")).link_units] == []
    # A frame is a start block, 16 / 8 = 2 data blocks and a terminate block: 4 blocks, one
    # superblock on 4 serial lanes. Send interval: (1 + 1) superblocks * 66 bits at 32 bits a
    # cycle = 4.125, rounded up: 5 cycles.
    assert link_send_interval(CONFIG) == 5
    # Latency: send interval 5 + TX gearbox 1 + (32 - 2 + 66 - 1) // 32 = 2 words + channel
    # budget 64 + RX gearbox 1 + lane receiver 1 + deskew 2 + deframer 1 + release 1 = 78.
    assert link_latency(CONFIG) == 78
    assert ChipSystem.latency(CONFIG) == 78
    assert LINK_RECEIVE_LATENCY == 1


# ---- 1. Transfers. ----

# Chip 0 reads mem_e3[0] (position 11) onto e2 in cycle 0: at link_e0 (14) in 0 + 2 + 3 - 1 = 4,
# where link_e0 SENDs it. Queues: mem_e3.rd halts in 1, link_e0.port (nop 4, send) in 5: length 5.
SEND_EAST = """
    {data}
    .queue mem_e3.rd
        read 0 -> e2            ; cycle 0
    .queue link_e0.port
        nop 4                   ; cycles 0-3
        send 2                  ; cycle 4
"""
# Chip 1: the link delivers it in 4 + 78 = 82, where link_w0 RECEIVEs it onto e7; it is at
# mem_w3 (3) in 82 + 1 + 3 - 1 = 85, where it is written. link_w0.port halts in 83, mem_w3.wr in
# 86: length 86.
RECEIVE_WEST = """
    .queue link_w0.port
        nop 82                  ; cycles 0-81
        receive 7               ; cycle 82
    .queue mem_w3.wr
        nop 85                  ; cycles 0-84
        write e7 -> 5           ; cycle 85
    .output y mem_w3 5 1
"""


def test_a_vector_crosses_a_link_eastward_bit_exact():
    word = random_words(1, 1)
    first, second = run_system([SEND_EAST.format(data=data("mem_e3", 0, word)), RECEIVE_WEST])
    assert (first.errors, second.errors) == (0, 0)
    assert issues(first, "link_e0.port") == [(4, 0)]
    assert issues(second, "link_w0.port") == [(82, 0)]
    assert issues(second, "link_w0.port")[0][0] == 4 + link_latency(CONFIG)
    assert (first.cycles, second.cycles) == (5, 86)
    np.testing.assert_array_equal(second.outputs["y"], word)


def test_a_vector_crosses_a_link_westward_bit_exact():
    # Chip 1 reads mem_w3[0] (3) onto w2 in cycle 0: at link_w0 (0) in 0 + 2 + 3 - 1 = 4, SENT
    # there; link_w0.port halts in 5, chip 1's length is 5. Chip 0's link_e0 RECEIVEs it in
    # 4 + 78 = 82 onto w4: at mem_e3 (11) in 82 + 1 + 3 - 1 = 85, written there; length 86.
    word = random_words(2, 1)
    first, second = run_system(["""
        .queue link_e0.port
            nop 82
            receive 4               ; cycle 82
        .queue mem_e3.wr
            nop 85
            write w4 -> 9           ; cycle 85
        .output y mem_e3 9 1
    """, f"""
        {data("mem_w3", 0, word)}
        .queue mem_w3.rd
            read 0 -> w2            ; cycle 0
        .queue link_w0.port
            nop 4
            send 2                  ; cycle 4
    """])
    assert (first.errors, second.errors) == (0, 0)
    assert issues(second, "link_w0.port") == [(4, 0)]
    assert issues(first, "link_e0.port") == [(82, 0)]
    assert (first.cycles, second.cycles) == (86, 5)
    np.testing.assert_array_equal(first.outputs["y"], word)


def test_both_directions_of_one_link_at_once():
    # Chip 0 as in the eastward test (send in 4) and also receives in 82 at link_e0 (a second
    # instruction of the same queue: nop 4, send (4), nop 77 (5-81), receive (82), halt 83); chip
    # 1 likewise with the westward sender. Each write is in 85 (see the two tests above), so both
    # chips halt in 86.
    east, west = random_words(3, 1), random_words(4, 1)
    first, second = run_system([f"""
        {data("mem_e3", 0, east)}
        .queue mem_e3.rd
            read 0 -> e2
        .queue link_e0.port
            nop 4
            send 2                  ; cycle 4
            nop 77
            receive 4               ; cycle 82
        .queue mem_e3.wr
            nop 85
            write w4 -> 9
        .output y mem_e3 9 1
    """, f"""
        {data("mem_w3", 0, west)}
        .queue mem_w3.rd
            read 0 -> w2
        .queue link_w0.port
            nop 4
            send 2                  ; cycle 4
            nop 77
            receive 7               ; cycle 82
        .queue mem_w3.wr
            nop 85
            write e7 -> 5
        .output y mem_w3 5 1
    """])
    assert (first.errors, second.errors) == (0, 0)
    assert issues(first, "link_e0.port") == [(4, 0), (82, 0)]
    assert issues(second, "link_w0.port") == [(4, 0), (82, 0)]
    assert (first.cycles, second.cycles) == (86, 86)
    np.testing.assert_array_equal(first.outputs["y"], west)
    np.testing.assert_array_equal(second.outputs["y"], east)


def test_a_chain_of_three_chips_forwards_a_vector():
    # Chip 0 sends in 4 (length 5). Chip 1 receives in 82 onto e7, which moves east one position
    # a cycle: at q in 82 + 1 + q - 1 = 82 + q, so at mem_w3 (3) in 85 (written there too) and at
    # link_e0 (14) in 96, which SENDs it on. Chip 1 halts: link_w0.port 83, mem_w3.wr 86,
    # link_e0.port 97: length 97. Chip 2 receives in 96 + 78 = 174 onto e3: at mem_w3 in
    # 174 + 3 = 177, written; length 178.
    word = random_words(5, 1)
    outcomes = run_system([SEND_EAST.format(data=data("mem_e3", 0, word)), """
        .queue link_w0.port
            nop 82
            receive 7               ; cycle 82
        .queue mem_w3.wr
            nop 85
            write e7 -> 5           ; cycle 85
        .queue link_e0.port
            nop 96
            send 7                  ; cycle 96
        .output y mem_w3 5 1
    """, """
        .queue link_w0.port
            nop 174
            receive 3               ; cycle 174
        .queue mem_w3.wr
            nop 177
            write e3 -> 9           ; cycle 177
        .output y mem_w3 9 1
    """])
    assert [o.errors for o in outcomes] == [0, 0, 0]
    assert [o.cycles for o in outcomes] == [5, 97, 178]
    assert issues(outcomes[1], "link_w0.port") == [(82, 0)]
    assert issues(outcomes[1], "link_e0.port") == [(96, 0)]
    assert issues(outcomes[2], "link_w0.port") == [(174, 0)]
    np.testing.assert_array_equal(outcomes[1].outputs["y"], word)
    np.testing.assert_array_equal(outcomes[2].outputs["y"], word)


def test_a_link_may_join_a_chip_to_itself():
    # Loopback: chip 0's link_e0 to its own link_w0. Send in 4, receive in 82 at link_w0, written
    # at mem_w3 in 85: link_e0.port halts in 5, link_w0.port in 83, mem_w3.wr in 86.
    word = random_words(6, 1)
    [outcome] = run_system([SEND_EAST.format(data=data("mem_e3", 0, word)) + RECEIVE_WEST],
                           connections=[Connection(0, "link_e0", 0, "link_w0")])
    assert outcome.errors == 0 and outcome.cycles == 86
    np.testing.assert_array_equal(outcome.outputs["y"], word)


def test_an_unconnected_port_of_a_system_sends_nowhere():
    # Chip 1's link_e0 is at the end of the chain: its SEND (in 4, like chip 0's) goes nowhere
    # and raises nothing; chip 0 keeps running to cycle 100 (nop 100, halt in 100) and receives
    # nothing, so no delivery is dropped there either.
    word = random_words(7, 1)
    first, second = run_system([".queue link_e0.port\n nop 100\n",
                                SEND_EAST.format(data=data("mem_e3", 0, word))])
    assert (first.errors, second.errors) == (0, 0)
    assert (first.cycles, second.cycles) == (100, 5)


# ---- 2. The send interval. ----

def burst(words):
    """Chip 0 sends ``words`` (4) at the send interval, 5 cycles apart; chip 1 stores them.

    Chip 0: mem_e3 reads in 0, 5, 10, 15 (read, then REPEAT 3 with gap 4: 4 idle cycles before
    each re-issue; the REPEAT occupies 3 * 5 = 15 cycles, 1-15, halt in 16): at link_e0 in 4, 9,
    14, 19, sent there (nop 4, send in 4, REPEAT 3 gap 4 in 5-19, halt in 20): length 20.
    Chip 1: delivered in 82, 87, 92, 97, received then (halt in 98); at mem_w3 in 85, 90, 95,
    100, written to 5, 6, 7, 8 (stride 1; halt in 101): length 101.
    """
    return [f"""
        {data("mem_e3", 0, words)}
        .queue mem_e3.rd
            read 0 -> e2
            repeat 3, 1, 4
        .queue link_e0.port
            nop 4
            send 2
            repeat 3, 0, 4
    """, """
        .queue link_w0.port
            nop 82
            receive 7
            repeat 3, 0, 4
        .queue mem_w3.wr
            nop 85
            write e7 -> 5
            repeat 3, 1, 4
        .output y mem_w3 5 4
    """]


def test_sends_at_the_send_interval_are_all_delivered_in_order():
    words = random_words(8, 4)
    first, second = run_system(burst(words))
    assert (first.errors, second.errors) == (0, 0)
    assert issues(first, "link_e0.port") == [(4, 0), (9, 0), (14, 0), (19, 0)]
    assert issues(second, "link_w0.port") == [(82, 0), (87, 0), (92, 0), (97, 0)]
    assert issues(second, "mem_w3.wr") == [(85, 0), (90, 1), (95, 2), (100, 3)]
    assert (first.cycles, second.cycles) == (20, 101)
    np.testing.assert_array_equal(second.outputs["y"], words)


def test_a_send_too_soon_is_flagged_and_sends_nothing():
    # Chip 0 reads words 0, 1, 2 in cycles 0, 4, 5 (read, nop 3 in 1-3, read, read; halt 6): at
    # link_e0 in 4, 8, 9. SENDs in 4 (accepted), 8 (8 - 4 = 4 < 5: LINK in cycle 8, nothing
    # sent) and 9 (9 - 4 = 5 after the last accepted SEND: accepted, word 2); halt in 10.
    # Chip 1: deliveries in 82 (word 0) and 87 (word 2), received then (nop 4 in 83-86, halt
    # 88); written at mem_w3 in 85 and 90 (nop 4 in 86-89; halt 91). Chip 1 runs through cycle
    # 86, where the too-soon vector would have been delivered: no dropped delivery, no error.
    words = random_words(9, 3)
    first, second = run_system([f"""
        {data("mem_e3", 0, words)}
        .queue mem_e3.rd
            read 0 -> e2            ; cycle 0
            nop 3
            read 1 -> e2            ; cycle 4
            read 2 -> e2            ; cycle 5
        .queue link_e0.port
            nop 4
            send 2                  ; cycle 4
            nop 3
            send 2                  ; cycle 8: too soon
            send 2                  ; cycle 9
    """, """
        .queue link_w0.port
            nop 82
            receive 7               ; cycle 82
            nop 4
            receive 7               ; cycle 87
        .queue mem_w3.wr
            nop 85
            write e7 -> 5           ; cycle 85
            nop 4
            write e7 -> 6           ; cycle 90
        .output y mem_w3 5 2
    """])
    assert first.errors == ErrorFlag.LINK
    assert (first.error_queue, first.error_cycle) == (E_PORT, 8)
    assert flagged(first) == [(8, E_PORT, ErrorFlag.LINK)]
    assert first.cycles == 10
    assert second.errors == 0 and second.cycles == 91
    np.testing.assert_array_equal(second.outputs["y"], words[[0, 2]])


def test_a_repeated_send_one_cycle_under_the_interval_is_flagged():
    # mem_e3 reads in 0 and 4 (REPEAT 1 gap 3): at link_e0 in 4 and 8. SEND in 4 and its
    # re-issue in 8 (REPEAT 1 gap 3, cycles 5-8; halt 9): 8 - 4 = 4 < 5, LINK in 8. Chip 1
    # receives in 82 only and runs to 90 (halt): nothing is delivered in 86.
    words = random_words(10, 2)
    first, second = run_system([f"""
        {data("mem_e3", 0, words)}
        .queue mem_e3.rd
            read 0 -> e2
            repeat 1, 1, 3
        .queue link_e0.port
            nop 4
            send 2
            repeat 1, 0, 3
    """, """
        .queue link_w0.port
            nop 82
            receive 7               ; cycle 82
            nop 7                   ; cycles 83-89
        .queue mem_w3.wr
            nop 85
            write e7 -> 5
        .output y mem_w3 5 1
    """])
    assert issues(first, "link_e0.port") == [(4, 0), (8, 0)]
    assert first.errors == ErrorFlag.LINK
    assert (first.error_queue, first.error_cycle, first.cycles) == (E_PORT, 8, 9)
    assert second.errors == 0 and second.cycles == 90
    np.testing.assert_array_equal(second.outputs["y"], words[:1])


# ---- 3. RECEIVE off the delivery cycle. ----

# Chip 0 sends in 4 (SEND_EAST): delivered at chip 1's link_w0 in 82.
RECEIVE_AT = """
    .queue link_w0.port
        nop {cycle}
        receive 7
    .queue mem_w1.rd
        nop 90                  ; keeps chip 1 running through cycle 89
    {write}
"""


@pytest.mark.parametrize("receive, first_error", [
    # Early: RECEIVE in 81 with nothing delivered (LINK in 81), then the delivery of 82 finds
    # no RECEIVE and is dropped (LINK in 82). The first error is the one of 81.
    (81, 81),
    # Late: the delivery of 82 is dropped (LINK in 82), the RECEIVE in 83 gets nothing (LINK in
    # 83). The first error is the one of 82.
    (83, 82),
])
def test_a_receive_off_the_delivery_cycle_is_flagged_twice(receive, first_error):
    word = random_words(11, 1)
    first, second = run_system([SEND_EAST.format(data=data("mem_e3", 0, word)),
                                RECEIVE_AT.format(cycle=receive, write="")])
    assert first.errors == 0
    assert second.errors == ErrorFlag.LINK
    assert (second.error_queue, second.error_cycle) == (W_PORT, first_error)
    assert flagged(second) == [(c, W_PORT, ErrorFlag.LINK) for c in sorted({receive, 82})]
    assert second.cycles == 90          # mem_w1.rd halts in 90, after everything else


@pytest.mark.parametrize("receive", [81, 83])
def test_a_receive_off_the_delivery_cycle_sends_nothing(receive):
    # Had the RECEIVE in cycle r sent a vector onto e7, it would be at mem_w3 in r + 3.
    word = random_words(12, 1)
    write = f".queue mem_w3.wr\n nop {receive + 3}\n write e7 -> 5\n"
    with pytest.raises(ProgramError, match=f"mem_w3.wr writes stream east7 at cycle "
                                           f"{receive + 3}, which carries no value"):
        run_system([SEND_EAST.format(data=data("mem_e3", 0, word)),
                    RECEIVE_AT.format(cycle=receive, write=write)])


def test_a_delivery_with_no_receive_at_all_is_dropped_and_flagged():
    # Chip 1 never receives but runs to 90: the delivery of 82 is dropped, LINK on link_w0's
    # queue in 82 (the queue halted in cycle 0 yet its port still flags).
    word = random_words(13, 1)
    first, second = run_system([SEND_EAST.format(data=data("mem_e3", 0, word)),
                                ".queue mem_w1.rd\n nop 90\n"])
    assert first.errors == 0
    assert second.errors == ErrorFlag.LINK
    assert (second.error_queue, second.error_cycle, second.cycles) == (W_PORT, 82, 90)


def test_an_illegal_receive_in_the_delivery_cycle_drops_the_delivery():
    # An illegal instruction has no effect but its flag: RECEIVE of stream 20 (tiny has 16) in
    # 82 raises BAD_OPERAND and takes nothing, so the delivery of 82 is dropped (LINK) too. The
    # assembler refuses the word, so it is built by hand.
    word = random_words(18, 1)
    receiver = assemble(".queue link_w0.port\n nop 82\n.queue mem_w1.rd\n nop 90\n", CONFIG)
    bad = Instruction(spec_for(QueueKind.LINK, LinkOp.RECEIVE.value), {"stream": 20})
    receiver.queues[W_PORT].append(bad.encode())
    system = ChipSystem([CONFIG, CONFIG], chain(2), strict=False)
    first, second = system.execute(
        [assemble(SEND_EAST.format(data=data("mem_e3", 0, word)), CONFIG), receiver], trace=True)
    assert first.errors == 0
    assert second.errors == ErrorFlag.BAD_OPERAND | ErrorFlag.LINK
    assert (second.error_queue, second.error_cycle) == (W_PORT, 82)
    assert flagged(second) == [(82, W_PORT, ErrorFlag.BAD_OPERAND | ErrorFlag.LINK)]


@pytest.mark.parametrize("halt, errors", [
    # The receiver's last queue halts in 82, the delivery's cycle: the cycle in which the last
    # queue halts does nothing else (isa.timing, program length; hdl/chip.py: "not even drop a
    # delivery"), so nothing is flagged.
    (82, ErrorFlag(0)),
    # It halts in 83: cycle 82 is an ordinary cycle, the delivery is dropped (LINK in 82).
    (83, ErrorFlag.LINK),
    # It halted long before: its program is over, nothing is flagged.
    (10, ErrorFlag(0)),
])
def test_a_delivery_to_a_chip_whose_run_is_over(halt, errors):
    word = random_words(19, 1)
    first, second = run_system([SEND_EAST.format(data=data("mem_e3", 0, word)),
                                f".queue mem_w1.rd\n nop {halt}\n"])
    assert first.errors == 0
    assert (second.cycles, second.errors) == (halt, errors)
    assert second.error_cycle == (82 if errors else 0)


def test_a_transfer_after_a_long_quiet_stretch():
    # Both chips are quiet until cycle 1000 (the system skips such cycles): mem_e3 reads in 1000
    # (nop 1000 first), the word is at link_e0 in 1004, sent; delivered in 1004 + 78 = 1082,
    # received, written at mem_w3 in 1085. Lengths: 1005 (link_e0.port) and 1086 (mem_w3.wr).
    word = random_words(23, 1)
    sender = (SEND_EAST.format(data=data("mem_e3", 0, word))
              .replace("read 0 -> e2", "nop 1000\n read 0 -> e2").replace("nop 4", "nop 1004"))
    receiver = RECEIVE_WEST.replace("nop 82", "nop 1082").replace("nop 85", "nop 1085")
    first, second = run_system([sender, receiver])
    assert (first.errors, second.errors) == (0, 0)
    assert issues(first, "link_e0.port") == [(1004, 0)]
    assert issues(second, "link_w0.port") == [(1082, 0)]
    assert (first.cycles, second.cycles) == (1005, 1086)
    np.testing.assert_array_equal(second.outputs["y"], word)


# ---- 4. A single chip, nothing connected. ----

def test_a_lone_chip_sends_into_nothing_and_receives_nothing():
    # SEND in 4 as in SEND_EAST: no error, length 5.
    word = random_words(14, 1)
    outcome = run_chip(SEND_EAST.format(data=data("mem_e3", 0, word)))
    assert outcome.errors == 0 and outcome.cycles == 5
    # RECEIVE in 10 on either port: nothing is delivered, LINK in 10 on that port's queue;
    # halt in 11.
    for port, number in (("link_w0", W_PORT), ("link_e0", E_PORT)):
        outcome = run_chip(f".queue {port}.port\n nop 10\n receive 1\n")
        assert outcome.errors == ErrorFlag.LINK
        assert (outcome.error_queue, outcome.error_cycle, outcome.cycles) == (number, 10, 11)
    # Both in 10: two errors in one cycle, the first error names the lower queue number.
    outcome = run_chip(".queue link_e0.port\n nop 10\n receive 1\n"
                       ".queue link_w0.port\n nop 10\n receive 1\n")
    assert W_PORT < E_PORT
    assert (outcome.error_queue, outcome.error_cycle) == (W_PORT, 10)
    assert flagged(outcome) == [(10, W_PORT, ErrorFlag.LINK), (10, E_PORT, ErrorFlag.LINK)]


def test_a_lone_chip_in_a_system_behaves_the_same():
    word = random_words(15, 1)
    [outcome] = run_system([SEND_EAST.format(data=data("mem_e3", 0, word)) +
                            ".queue link_w0.port\n nop 10\n receive 1\n"], connections=[])
    assert outcome.errors == ErrorFlag.LINK
    assert (outcome.error_queue, outcome.error_cycle, outcome.cycles) == (W_PORT, 10, 11)


# ---- 5. Strict mode. ----

def test_sending_a_stream_with_no_value_is_a_program_error():
    with pytest.raises(ProgramError, match="link_e0.port sends stream east2 at cycle 0, which "
                                           "carries no value"):
        run_chip(".queue link_e0.port\n send 2\n")
    with pytest.raises(ProgramError, match="link_w0.port sends stream west5 at cycle 3, which "
                                           "carries no value"):
        run_chip(".queue link_w0.port\n nop 3\n send 5\n")
    with pytest.raises(ProgramError, match="link_e0.port sends stream east2 at cycle 0"):
        run_system([".queue link_e0.port\n send 2\n", None])
    # Without strict checks it runs as the RTL would: no flag.
    outcome = run_chip(".queue link_e0.port\n send 2\n", strict=False)
    assert outcome.errors == 0 and outcome.cycles == 1


@pytest.mark.parametrize("cycle", [3, 5])
def test_a_send_one_cycle_off_the_arrival_reads_no_value(cycle):
    # mem_e3's word of cycle 0 is at link_e0 in cycle 4 only (it leaves past the edge after).
    word = random_words(16, 1)
    text = SEND_EAST.format(data=data("mem_e3", 0, word)).replace("nop 4", f"nop {cycle}")
    with pytest.raises(ProgramError, match=f"link_e0.port sends stream east2 at cycle {cycle}"):
        run_chip(text)


def test_the_direction_a_port_sends_and_receives():
    # link_e0 reads the eastward stream: a value sent west past it (mem_e3 READ -> w2 in 0 is at
    # position 10, heading away from the port) leaves it without a value on e2 in 4 ...
    word = random_words(17, 1)
    text = SEND_EAST.format(data=data("mem_e3", 0, word)).replace("-> e2", "-> w2")
    with pytest.raises(ProgramError, match="link_e0.port sends stream east2 at cycle 4"):
        run_chip(text)
    # ... and link_w0 RECEIVEs onto the eastward stream (chip 1 writing w7 instead of e7 in 85
    # reads nothing).
    with pytest.raises(ProgramError, match="mem_w3.wr writes stream west7 at cycle 85"):
        run_system([SEND_EAST.format(data=data("mem_e3", 0, word)),
                    RECEIVE_WEST.replace("write e7", "write w7")])


# ---- 6. Building a system. ----

def test_system_construction_errors_name_the_offending_thing():
    two = [CONFIG, CONFIG]
    with pytest.raises(ChipError, match="chip 0: mem_e3 is a mem unit, not a link port"):
        ChipSystem(two, [Connection(0, "mem_e3", 1, "link_w0")])
    with pytest.raises(ChipError, match="chip 1: vxm is a vxm unit, not a link port"):
        ChipSystem(two, [Connection(0, "link_e0", 1, "vxm")])
    with pytest.raises(ChipError, match="chip 0: No unit named 'link_e1'"):
        ChipSystem(two, [Connection(0, "link_e1", 1, "link_w0")])
    with pytest.raises(ChipError, match="chip 1: No unit named 'link_w0'"):
        ChipSystem([CONFIG, preset("tiny")], chain(2))      # chip 1 has no link ports
    with pytest.raises(ChipError, match="link port link_e0 of chip 0 is in two connections"):
        ChipSystem([CONFIG] * 3, [Connection(0, "link_e0", 1, "link_w0"),
                                  Connection(2, "link_w0", 0, "link_e0")])
    with pytest.raises(ChipError, match="link port link_e0 of chip 0 is in two connections"):
        ChipSystem(two, chain(2) * 2)               # the same connection twice
    with pytest.raises(ChipError, match=r"chip 2 out of range \(0\.\.1\)"):
        ChipSystem(two, [Connection(0, "link_e0", 2, "link_w0")])
    with pytest.raises(ChipError, match=r"chip -1 out of range \(0\.\.1\)"):
        ChipSystem(two, [Connection(-1, "link_e0", 1, "link_w0")])
    with pytest.raises(ChipError, match=r"chip '1' out of range"):
        ChipSystem(two, [Connection(0, "link_e0", "1", "link_w0")])
    with pytest.raises(ChipError, match=r"different lanes \[16, 32\]"):
        ChipSystem([CONFIG, CONFIG.derive(lanes=32)], chain(2))
    with pytest.raises(ChipError, match="at least one chip"):
        ChipSystem([], [])
    with pytest.raises(ChipError, match="1 programs for 2 chips"):
        ChipSystem(two, chain(2)).execute([None])


def test_chips_of_different_lanes_that_share_no_link_are_fine():
    system = ChipSystem([CONFIG, CONFIG, CONFIG.derive(lanes=32)], chain(2))
    assert [sim.config.lanes for sim in system.sims] == [16, 16, 32]
    assert chain(3, links=2) == [Connection(0, "link_e0", 1, "link_w0"),
                                 Connection(0, "link_e1", 1, "link_w1"),
                                 Connection(1, "link_e0", 2, "link_w0"),
                                 Connection(1, "link_e1", 2, "link_w1")]


# ---- 7. Determinism. ----

def test_the_cycles_do_not_depend_on_the_data():
    runs = []
    for seed in (20, 21):
        words = random_words(seed, 4)
        outcomes = run_system(burst(words))
        np.testing.assert_array_equal(outcomes[1].outputs["y"], words)
        runs.append(outcomes)
    (a0, a1), (b0, b1) = runs
    assert not np.array_equal(a1.outputs["y"], b1.outputs["y"])
    assert (a0.cycles, a1.cycles) == (b0.cycles, b1.cycles) == (20, 101)
    assert (a0.errors, a1.errors) == (b0.errors, b1.errors) == (0, 0)
    assert a0.trace == b0.trace and a1.trace == b1.trace


def test_a_system_runs_again_the_same_way():
    # Running the same loaded programs twice (START clears the links' state) gives the same run.
    words = random_words(22, 4)
    system = ChipSystem([CONFIG, CONFIG], chain(2))
    programs = [assemble(text, CONFIG) for text in burst(words)]
    first = system.execute(programs, trace=True)
    second = system.run(trace=True)
    assert [o.cycles for o in first] == [o.cycles for o in second] == [20, 101]
    assert [o.trace for o in first] == [o.trace for o in second]
    assert [o.errors for o in second] == [0, 0]

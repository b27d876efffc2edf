"""Acceptance tests of the serial link: two :class:`~hdl.link.link.SerialLink` s on Verilator,
joined by the channel model (verification/link_harness.py, verification/tb_link.py).

The default tier runs every testbench at reduced counts; the ``slow`` tests run the acceptance
counts (``LINK_FULL=1``) and the 64-bit SerDes width. The testbench writes its figures (blocks
to lock, latencies, the bit-error run) to files that :func:`~verification.link_harness.figures`
reads. The first tests pin the testbench's own oracles: its word-parallel descrambler against
the bit-serial reference, and its line monitor and corruption oracle against descrambling a
corrupted stream.
"""

import random

import pytest

from isa.link import (BLOCK_BITS, PAYLOAD_BITS, SCRAMBLER_STATE_BITS, SYNC_CONTROL, SYNC_DATA,
                      BlockType, LinkConfig)
from sim.runner import CocotbFailure
from verification.channel import Channel
from verification.link_harness import figures, run_link
from verification.link_reference import (Descrambler, Scrambler, block, control_block,
                                         frame_blocks, header_of, idle_block, payload_of)
from verification.link_monitors import CorruptionOracle, LaneMonitor, descramble
from verification.tb_link import LOCK_BLOCKS

TESTCASES = ("lock_from_every_bit_offset", "slip_loses_and_regains_lock",
             "deskew_up_to_the_budget", "skew_beyond_the_budget_is_flagged",
             "fixed_latency_over_resets", "throughput",
             "late_beyond_the_delay_budget", "few_flipped_bits_are_detected",
             "random_bit_errors_are_counted_exactly")


# ---- The testbench's oracles, against the reference models. ----

def test_word_descrambler_matches_the_reference():
    rng = random.Random(1)
    scrambler, reference = Scrambler(), Descrambler()
    # A wrong start: both must agree after the first block.
    history = rng.getrandbits(SCRAMBLER_STATE_BITS)
    for number in range(200):
        scrambled = scrambler.payload(rng.getrandbits(PAYLOAD_BITS))
        plain, history = descramble(history, scrambled)
        expected = reference.payload(scrambled)
        if number:
            assert plain == expected


def line_words(blocks):
    """The line bits of ``blocks`` (66-bit integers) as 32-bit words."""
    line = sum(value << (BLOCK_BITS * n) for n, value in enumerate(blocks))
    return [line >> (32 * k) & 0xFFFFFFFF for k in range(-(-len(blocks) * BLOCK_BITS // 32))]


@pytest.mark.parametrize("seed", range(12))
def test_monitor_and_corruption_oracle_against_the_reference(seed):
    """Scramble random blocks on 4 lanes with the reference scrambler: the line monitor finds
    the block boundary and recovers the blocks. Flip random line bits in the channel and
    descramble what was received with the reference: the blocks that differ are exactly the
    oracle's."""
    rng = random.Random(seed)
    lanes, count = 4, 60
    sent = [[block(rng.choice([SYNC_DATA, SYNC_CONTROL]), rng.getrandbits(PAYLOAD_BITS))
             for _ in range(count)] for _ in range(lanes)]
    words = []
    for lane in range(lanes):
        scrambler = Scrambler()
        words.append(line_words([block(header_of(value), scrambler.payload(payload_of(value)))
                                 for value in sent[lane]]))
    monitors = [LaneMonitor(32) for _ in range(lanes)]
    channel = Channel(32, lanes, phase=0, ber=2e-3, burst=rng.choice([1, 3]), seed=seed)
    received = [[] for _ in range(lanes)]
    for cycle in range(len(words[0])):
        clean = [lane[cycle] for lane in words]
        for monitor, word in zip(monitors, clean):
            monitor.push(word)
        for lane, word in enumerate(channel.step(clean)):
            received[lane].append(word)
    oracle = CorruptionOracle(LinkConfig(), channel, monitors)
    oracle.update()
    assert channel.flipped
    for lane in range(lanes):
        # Block 0 depends on the descramblers' start states.
        assert monitors[lane].offset == 0
        assert list(monitors[lane].blocks)[1:] == sent[lane][1:]
        bits = sum(word << (32 * k) for k, word in enumerate(received[lane]))
        descrambler = Descrambler()
        for number in range(count):
            value = bits >> (BLOCK_BITS * number) & ((1 << BLOCK_BITS) - 1)
            plain = block(header_of(value), descrambler.payload(payload_of(value)))
            if number:
                assert oracle.corrupted(lane, number) == (plain != sent[lane][number])


def classified(link, superblocks):
    """The oracle's ``(frame errors, line errors)`` for received ``superblocks``."""
    oracle = CorruptionOracle(link, Channel(32, link.serial_lanes), [])
    for superblock in superblocks:
        oracle.classify(superblock)
    return oracle.frame_errors, oracle.line_errors


def test_corruption_oracle_classifies_by_the_deframers_rule():
    """Hand-made received superblocks between and in frames, counted as the link's docs
    say: a damaged idle superblock is a line error; a frame, even with its start block
    damaged, is one frame error; a frame of several superblocks counts once."""
    link = LinkConfig(vector_bytes=16, serial_lanes=4, marker_period=16)   # one superblock
    idles = [idle_block()] * 4
    frame = frame_blocks(link, bytes(range(16)), 7)[0]
    header_hit = [idles[0] ^ 1, *idles[1:]]                       # an invalid sync header
    type_hit = [*idles[:3], idles[3] ^ 1 << 2]                    # an idle type byte changed
    bad_start = [frame[0] ^ 1 << 5, *frame[1:]]                   # start type damaged
    bad_data = [*frame[:2], frame[2] ^ 1 << 40, frame[3]]        # the CRC fails
    lone_terminate = [*idles[:2], control_block(BlockType.TERMINATE), idles[3]]
    assert classified(link, [idles, frame, idles]) == (0, 0)
    assert classified(link, [header_hit, type_hit, idles]) == (0, 2)
    assert classified(link, [bad_start, bad_data, frame, lone_terminate]) == (3, 0)
    # Two superblocks per frame: a damaged start superblock opens the frame, whose second
    # superblock is part of it; a data block alone opens a frame too.
    long = LinkConfig(vector_bytes=32, serial_lanes=4, marker_period=16)
    first, second = frame_blocks(long, bytes(range(32)), 9)
    assert classified(long, [[first[0] ^ 1 << 7, *first[1:]], second, idles]) == (1, 0)
    assert classified(long, [first, second, header_hit, second, idles]) == (1, 1)


# ---- The acceptance tests on Verilator. ----

@pytest.mark.verilator
@pytest.mark.xdist_group("link")
@pytest.mark.parametrize("testcase", TESTCASES)
def test_link(testcase):
    """Each acceptance test at reduced counts."""
    run_link(testcase, run_name=testcase)


@pytest.mark.verilator
@pytest.mark.xdist_group("link")
def test_checker_can_fail():
    """With the expected latency one cycle off, the fixed-latency test fails."""
    with pytest.raises(CocotbFailure, match="cocotb tests of .* failed"):
        run_link("fixed_latency_over_resets", fault=True, run_name="fault")


@pytest.mark.verilator
@pytest.mark.slow
@pytest.mark.xdist_group("link64")
@pytest.mark.parametrize("testcase", TESTCASES)
def test_link_width_64(testcase):
    """Each acceptance test at reduced counts, at a SerDes width of 64 bits."""
    run_link(testcase, config="link64", run_name=testcase)


@pytest.mark.verilator
@pytest.mark.slow
@pytest.mark.xdist_group("link")
@pytest.mark.parametrize("testcase", TESTCASES)
def test_link_acceptance(testcase):
    """The acceptance counts (verification/tb_link.py): 1,040 lane starts, 100 resets, 160
    frames with chosen flips, 10^6 frames at BER 1e-4."""
    run_link(testcase, full=True, run_name=f"full-{testcase}")


@pytest.mark.verilator
@pytest.mark.slow
@pytest.mark.xdist_group("link")
def test_lock_statistics():
    """The distribution of blocks to lock over 1,040 lane starts, as a bench prints it."""
    lock = figures(run_link("lock_from_every_bit_offset", full=True, run_name="lock"), "lock")
    assert lock["count"] >= 1000
    assert lock["median"] <= lock["p99"] <= lock["max"] <= LOCK_BLOCKS

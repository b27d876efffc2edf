# amaranth: UnusedElaboratable=no
"""The link's block-level primitives (hdl/link/crc.py, scrambler.py, gearbox.py) against the
bit-serial reference models of verification/link_reference.py, which hand-computed vectors and
zlib pin first.

Amaranth's simulator runs the short checks of the default tier. Verilator runs the acceptance
counts (10^5 blocks per gearbox width through the loop-back harness of
verification/link_block_harness.py) and the proof that its checker can fail there; both are
`slow`, as building the two models takes about a minute.
"""

import random
import re
import zlib

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from hdl.link import (CRC_BITS, PERIOD, SEED_ALL_ONES, Descrambler, RxGearbox, Scrambler,
                      TxGearbox, crc32_step)
from isa.link import (BLOCK_BITS, CRC32_CHECK, CRC32_INIT, CRC32_XOROUT, MARKER_BYTE,
                      PAYLOAD_BITS, SCRAMBLER_STATE_BITS, SCRAMBLER_TAPS, SERDES_WIDTHS,
                      STAMP_BYTES, SYNC_CONTROL, SYNC_DATA, BlockType, LinkConfig)
from sim.env import BUILD
from sim.runner import CocotbFailure, run_cocotb
from verification import link_reference as ref
from verification.link_block_harness import (LinkBlockHarness, LoopbackBench,
                                             export_link_blocks, harness_module)

PAYLOAD_MASK = (1 << PAYLOAD_BITS) - 1
OUTPUTS = ("ready", "word", "rx_valid", "rx_block", "descrambled", "crc_out")


# ---- The reference models, pinned by hand-computed and published values. ----

@pytest.mark.parametrize("data, crc", [
    (b"123456789", CRC32_CHECK),
    (b"", 0),                         # the initial value and the final XOR cancel
    (bytes(32), 0x190A55AD),
    (b"a", 0xE8B7BE43),
    (b"The quick brown fox jumps over the lazy dog", 0x414FA339),
])
def test_reference_crc_known_values(data, crc):
    assert ref.crc32(data) == crc


def test_reference_crc_matches_zlib_and_chains():
    rng = random.Random(1)
    for length in range(0, 40):
        data = rng.randbytes(length)
        assert ref.crc32(data) == zlib.crc32(data)
        cut = rng.randrange(length + 1)
        assert ref.crc32_update(ref.crc32_update(CRC32_INIT, data[:cut]), data[cut:]) ^ \
            CRC32_XOROUT == zlib.crc32(data)


def test_reference_scrambler_by_hand():
    # From a zero state a zero payload stays zero (the scrambler is linear).
    assert ref.Scrambler(0).payload(0) == 0
    # A single 1 at bit 0: s[39] = s[0] = 1 and s[58] = s[19] ^ s[0] = 1; every other bit of
    # the payload has zeros at both taps (s[78] = s[39] is beyond it).
    assert ref.Scrambler(0).payload(1) == 1 | 1 << SCRAMBLER_TAPS[0] | 1 << SCRAMBLER_TAPS[1]
    # All-ones state, zero payload: below bit 39 both taps read the state (1 ^ 1 = 0); from
    # bit 39 to 57 one tap reads those zeros and the other the state, giving ones.
    scrambled = ref.Scrambler(SEED_ALL_ONES).payload(0)
    first = SCRAMBLER_TAPS[0]
    assert scrambled & ((1 << SCRAMBLER_STATE_BITS) - 1) == \
        ((1 << SCRAMBLER_STATE_BITS) - 1) ^ ((1 << first) - 1)


def test_reference_descrambler_inverts_and_resynchronises():
    rng = random.Random(2)
    for _ in range(20):
        bits = [rng.getrandbits(1) for _ in range(300)]
        seed = rng.getrandbits(SCRAMBLER_STATE_BITS)
        line = ref.Scrambler(seed).bits(bits)
        assert ref.Descrambler(seed).bits(line) == bits
        wrong = ref.Descrambler(seed ^ (1 << rng.randrange(SCRAMBLER_STATE_BITS)))
        out = wrong.bits(line)
        assert out[SCRAMBLER_STATE_BITS:] == bits[SCRAMBLER_STATE_BITS:]
        assert out[:SCRAMBLER_STATE_BITS] != bits[:SCRAMBLER_STATE_BITS]


def test_reference_with_a_wrong_tap_differs():
    wrong = (SCRAMBLER_TAPS[0] - 1, *SCRAMBLER_TAPS[1:])
    assert ref.Scrambler(SEED_ALL_ONES, taps=wrong).payload(0) != \
        ref.Scrambler(SEED_ALL_ONES).payload(0)


def _payload_bytes(value):
    return ref.payload_of(value).to_bytes(PAYLOAD_BITS // 8, "little")


def test_reference_frame_field_by_field():
    assert STAMP_BYTES == 2, "the hand-written start block has a 2-byte stamp"
    link = LinkConfig(vector_bytes=16, serial_lanes=3)
    vector = bytes(range(0x10, 0x20))
    stamp = 0xBEEF
    superblocks = ref.frame_blocks(link, vector, stamp)
    assert [len(s) for s in superblocks] == [3, 3]
    start, data0, data1, terminate, idle0, idle1 = [b for s in superblocks for b in s]
    start_bytes = bytes([BlockType.START, 0xEF, 0xBE, 0, 0, 0, 0, 0])
    assert ref.header_of(start) == SYNC_CONTROL and _payload_bytes(start) == start_bytes
    assert ref.header_of(data0) == SYNC_DATA and _payload_bytes(data0) == vector[:8]
    assert ref.header_of(data1) == SYNC_DATA and _payload_bytes(data1) == vector[8:]
    crc = zlib.crc32(start_bytes + vector).to_bytes(4, "little")
    assert ref.header_of(terminate) == SYNC_CONTROL
    assert _payload_bytes(terminate) == bytes([BlockType.TERMINATE]) + crc + bytes(3)
    for idle in (idle0, idle1):
        assert ref.header_of(idle) == SYNC_CONTROL
        assert _payload_bytes(idle) == bytes([BlockType.IDLE]) + bytes(7)
    assert ref.parse_frame(superblocks) == (vector, stamp, True)


def test_reference_marker_and_headers():
    marker = ref.marker_block(3)
    assert ref.header_of(marker) == SYNC_CONTROL
    assert _payload_bytes(marker) == bytes([BlockType.MARKER, MARKER_BYTE, 3]) + bytes(5)
    assert [ref.is_valid_header(h) for h in range(4)] == [False, True, True, False]
    assert ref.block(SYNC_DATA, 0) == SYNC_DATA


def test_reference_parse_frame_rejects_every_single_bit_error():
    link = LinkConfig(vector_bytes=16, serial_lanes=3)
    vector = bytes(range(16))
    superblocks = ref.frame_blocks(link, vector, 7)
    for s, superblock in enumerate(superblocks):
        for lane in range(len(superblock)):
            for bit in range(BLOCK_BITS):
                broken = [list(blocks) for blocks in superblocks]
                broken[s][lane] ^= 1 << bit
                assert not ref.parse_frame(broken)[2], (s, lane, bit)


# ---- RTL against the references in Amaranth's simulator. ----

def _simulate(dut, bench, clock=True):
    sim = Simulator(dut)
    if clock:
        sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_crc_network_matches_the_reference():
    m = Module()
    crc, data, out = Signal(CRC_BITS), Signal(PAYLOAD_BITS), Signal(CRC_BITS)
    m.d.comb += out.eq(crc32_step(crc, data))
    rng = random.Random(3)
    cases = [(CRC32_INIT, 0), (0, 0), (0, 1), (1, 0)]
    cases += [(rng.getrandbits(CRC_BITS), rng.getrandbits(PAYLOAD_BITS)) for _ in range(200)]
    frame = b"12345678" + rng.randbytes(32)

    async def bench(ctx):
        for register, word in cases:
            ctx.set(crc, register)
            ctx.set(data, word)
            assert ctx.get(out) == ref.crc32_update(register, word.to_bytes(8, "little"))
        # A whole frame, one word per step, against zlib.
        register = CRC32_INIT
        for k in range(0, len(frame), 8):
            ctx.set(crc, register)
            ctx.set(data, int.from_bytes(frame[k:k + 8], "little"))
            register = ctx.get(out)
        assert register ^ CRC32_XOROUT == zlib.crc32(frame)

    _simulate(m, bench, clock=False)


def test_scrambler_and_descrambler_match_the_references():
    """Random payloads and valid strobes, random seeds at both ends: the scrambler's output
    exactly as the reference's, the descrambler's as the reference's fed the same line, and
    equal to the payload from bit 58 of the line on (it starts in a wrong state)."""
    rng = random.Random(4)
    tx_seed, rx_seed = rng.getrandbits(SCRAMBLER_STATE_BITS), rng.getrandbits(SCRAMBLER_STATE_BITS)
    m = Module()
    m.submodules.scrambler = scrambler = Scrambler(tx_seed)
    m.submodules.descrambler = descrambler = Descrambler(rx_seed)
    m.d.comb += [descrambler.data.eq(scrambler.out), descrambler.valid.eq(scrambler.valid)]
    ref_tx, ref_rx = ref.Scrambler(tx_seed), ref.Descrambler(rx_seed)

    async def bench(ctx):
        sent = 0
        for _ in range(300):
            payload, valid = rng.getrandbits(PAYLOAD_BITS), rng.random() < 0.7
            ctx.set(scrambler.data, payload)
            ctx.set(scrambler.valid, valid)
            line, out = ctx.get(scrambler.out), ctx.get(descrambler.out)
            if valid:
                assert line == ref_tx.payload(payload)
                assert out == ref_rx.payload(line)
                # The descrambler is right once 58 line bits have passed.
                right = PAYLOAD_MASK if sent else PAYLOAD_MASK >> SCRAMBLER_STATE_BITS << \
                    SCRAMBLER_STATE_BITS
                assert (out ^ payload) & right == 0
                sent += 1
            else:
                # Without valid the state holds: the reference is not advanced.
                assert line == ref.Scrambler(ref_tx.state).payload(payload)
            await ctx.tick()

    _simulate(m, bench)


def test_descrambler_resynchronises_from_any_state():
    rng = random.Random(5)
    for _ in range(3):
        payloads = [rng.getrandbits(PAYLOAD_BITS) for _ in range(3)]
        scrambler = ref.Scrambler(rng.getrandbits(SCRAMBLER_STATE_BITS))
        line = [scrambler.payload(p) for p in payloads]
        dut = Descrambler(rng.getrandbits(SCRAMBLER_STATE_BITS))

        async def bench(ctx):
            for k, (payload, received) in enumerate(zip(payloads, line)):
                ctx.set(dut.data, received)
                ctx.set(dut.valid, 1)
                out = ctx.get(dut.out)
                if k:
                    assert out == payload
                else:
                    assert out >> SCRAMBLER_STATE_BITS == payload >> SCRAMBLER_STATE_BITS
                await ctx.tick()

        _simulate(dut, bench)


@pytest.mark.parametrize("width", SERDES_WIDTHS)
def test_tx_gearbox_ready_pattern(width):
    """``ready`` repeats every PERIOD cycles from reset, high PERIOD * width / 66 times, and
    every block taken is sent exactly once, back to back."""
    dut = TxGearbox(width)
    blocks_per_period = PERIOD * width // BLOCK_BITS
    rng = random.Random(width)

    async def bench(ctx):
        pattern, taken, line = [], [], []
        for _ in range(3 * PERIOD):
            value = rng.getrandbits(BLOCK_BITS)
            ctx.set(dut.block, value)
            ready = ctx.get(dut.ready)
            pattern.append(ready)
            if ready:
                taken.append(value)
            line += ref.to_bits(ctx.get(dut.word), width)
            await ctx.tick()
        assert pattern[:PERIOD] == pattern[PERIOD:2 * PERIOD] == pattern[2 * PERIOD:]
        assert sum(pattern[:PERIOD]) == blocks_per_period
        stream = [0] * width + [bit for value in taken for bit in ref.to_bits(value, BLOCK_BITS)]
        assert line == stream[:len(line)]

    _simulate(dut, bench)


def _run_loopback(width, delay, blocks, seed, fault=False):
    dut = LinkBlockHarness(width)
    loopback = LoopbackBench(width, delay, blocks, seed, fault=fault)

    async def bench(ctx):
        while not loopback.done:
            outputs = {name: ctx.get(getattr(dut, name)) for name in OUTPUTS}
            for name, value in loopback.cycle(outputs).items():
                ctx.set(getattr(dut, name), value)
            await ctx.tick()

    _simulate(dut, bench)
    loopback.finish(delay)


@pytest.mark.parametrize("width, delay", [(32, 0), (32, BLOCK_BITS - 32), (64, BLOCK_BITS - 64),
                                          (64, BLOCK_BITS - 1)])
def test_loopback_with_slip_sweep(width, delay):
    """Scrambler, both gearboxes, descrambler and CRC network against the references, with
    the receive gearbox's boundary swept through all 66 positions (verification/
    link_block_harness.py). With ``delay = 66 - width`` the blocks arrive aligned."""
    _run_loopback(width, delay, 40, seed=width + delay)


def test_loopback_checker_can_fail():
    with pytest.raises(AssertionError, match="word: expected"):
        _run_loopback(32, 0, 40, seed=1, fault=True)


# ---- Constructor errors. ----

@pytest.mark.parametrize("component", [TxGearbox, RxGearbox])
def test_gearbox_width_errors(component):
    widths = re.escape(str(SERDES_WIDTHS))
    with pytest.raises(ValueError, match=rf"^Gearbox width must be one of {widths}, not 48$"):
        component(48)
    with pytest.raises(TypeError, match=r"^Gearbox width must be an integer, not '32'$"):
        component("32")
    with pytest.raises(TypeError, match=r"^Gearbox width must be an integer, not True$"):
        component(True)


@pytest.mark.parametrize("component", [Scrambler, Descrambler])
def test_scrambler_seed_errors(component):
    top = (1 << SCRAMBLER_STATE_BITS) - 1
    with pytest.raises(ValueError, match=rf"^Scrambler seed must be between 0 and {top}, "
                                         rf"not {top + 1}$"):
        component(seed=top + 1)
    with pytest.raises(ValueError, match=r"^Scrambler seed must be between .*, not -1$"):
        component(seed=-1)
    with pytest.raises(TypeError, match=r"^Scrambler seed must be an integer, not 1.5$"):
        component(seed=1.5)


# ---- Acceptance counts on Verilator. ----

#: Aligned blocks per run of the acceptance runs, one run after a reset for each channel delay
#: of :func:`acceptance_delays`: 10^5 blocks per width.
ACCEPTANCE_BLOCKS = 25_000


def acceptance_delays(width):
    """The extreme delays, the one that needs no slip, and one more."""
    return (0, BLOCK_BITS - width, 37, BLOCK_BITS - 1)


def _run_verilator(width, blocks, delays, *, fault=False, run_name="run"):
    env = {"LINK_WIDTH": str(width), "LINK_BLOCKS": str(blocks),
           "LINK_DELAYS": ",".join(map(str, delays))}
    if fault:
        env["LPU_FAULT"] = "1"
    return run_cocotb(toplevel=harness_module(width), sources=[export_link_blocks(width)],
                      test_module="verification.tb_link_blocks",
                      build_dir=BUILD / "sim" / f"link_blocks_{width}", extra_env=env,
                      run_name=run_name)


@pytest.mark.verilator
@pytest.mark.slow
@pytest.mark.parametrize("width", SERDES_WIDTHS)
def test_loopback_acceptance_on_verilator(width):
    delays = acceptance_delays(width)
    assert ACCEPTANCE_BLOCKS * len(delays) >= 10 ** 5
    _run_verilator(width, ACCEPTANCE_BLOCKS, delays)


@pytest.mark.verilator
@pytest.mark.slow
@pytest.mark.parametrize("width", SERDES_WIDTHS)
def test_verilator_checker_can_fail(width):
    with pytest.raises(CocotbFailure, match="cocotb tests of .* failed"):
        _run_verilator(width, 100, (0,), fault=True, run_name="fault")

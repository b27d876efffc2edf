"""A harness of the link's block-level primitives (:mod:`hdl.link`) and its cycle-level checker.

:class:`LinkBlockHarness` chains :class:`~hdl.link.Scrambler` -> :class:`~hdl.link.TxGearbox`
(the transmit half) and takes the receive half's line words from outside:
:class:`~hdl.link.RxGearbox` -> :class:`~hdl.link.Descrambler`, so that the testbench is the
channel (a delay of any number of bits) and drives the slips. A CRC-32 network
(:func:`~hdl.link.crc32_step`) sits beside them on ports of its own.

:class:`LoopbackBench` is the testbench's logic, shared by Amaranth's simulator
(tests/test_link_blocks.py) and cocotb on Verilator (verification/tb_link_blocks.py): each
cycle it reads the harness's outputs, checks them against the bit-serial models of
:mod:`verification.link_reference` and returns the next inputs.
"""

import hashlib
import random
from pathlib import Path

from amaranth import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdl.link import (CRC_BITS, SEED_ALL_ONES, Descrambler, RxGearbox, Scrambler, TxGearbox,
                      crc32_step)
from isa.link import BLOCK_BITS, PAYLOAD_BITS, SCRAMBLER_TAPS
from sim.verilog import export_component
from . import link_reference as ref

__all__ = ["RX_SEED", "LinkBlockHarness", "harness_module", "export_link_blocks",
           "LoopbackBench"]

#: The harness's descrambler starts in a state other than the scrambler's, so every run
#: checks that it synchronises by itself.
RX_SEED = 0
HEADER_BITS = BLOCK_BITS - PAYLOAD_BITS


class LinkBlockHarness(wiring.Component):
    """Scrambler and transmit gearbox; receive gearbox and descrambler; a CRC-32 network.

    Parameters
    ----------
    width : int
        The gearboxes' word width.

    Members
    -------
    header : In(2)
    payload : In(64)
        The next block (payload unscrambled), taken in a cycle with ``ready``.
    ready : Out(1)
    word : Out(width)
        The transmit gearbox's ports.
    rx_word : In(width)
    slip : In(1)
    rx_valid : Out(1)
    rx_block : Out(66)
        The receive gearbox's ports.
    descrambled : Out(64)
        ``rx_block``'s payload through the descrambler (seed :data:`RX_SEED`), which advances
        when ``rx_valid`` is high.
    crc_in : In(32)
    crc_data : In(64)
    crc_out : Out(32)
        ``crc32_step(crc_in, crc_data)``.
    """

    def __init__(self, width):
        self.width = width
        super().__init__({
            "header":      In(HEADER_BITS),
            "payload":     In(PAYLOAD_BITS),
            "ready":       Out(1),
            "word":        Out(width),
            "rx_word":     In(width),
            "slip":        In(1),
            "rx_valid":    Out(1),
            "rx_block":    Out(BLOCK_BITS),
            "descrambled": Out(PAYLOAD_BITS),
            "crc_in":      In(CRC_BITS),
            "crc_data":    In(PAYLOAD_BITS),
            "crc_out":     Out(CRC_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.scrambler = scrambler = Scrambler(SEED_ALL_ONES)
        m.submodules.tx = tx = TxGearbox(self.width)
        m.submodules.rx = rx = RxGearbox(self.width)
        m.submodules.descrambler = descrambler = Descrambler(RX_SEED)
        m.d.comb += [
            scrambler.data.eq(self.payload),
            scrambler.valid.eq(tx.ready),
            tx.block.eq(Cat(self.header, scrambler.out)),
            self.ready.eq(tx.ready),
            self.word.eq(tx.word),
            rx.word.eq(self.rx_word),
            rx.slip.eq(self.slip),
            self.rx_valid.eq(rx.valid),
            self.rx_block.eq(rx.block),
            descrambler.data.eq(rx.block[HEADER_BITS:]),
            descrambler.valid.eq(rx.valid),
            self.descrambled.eq(descrambler.out),
            self.crc_out.eq(crc32_step(self.crc_in, self.crc_data)),
        ]
        return m


def harness_module(width):
    """The Verilog module name of the harness at ``width``."""
    return f"lpu_link_blocks_{width}"


def export_link_blocks(width):
    """The cached Verilog file of :class:`LinkBlockHarness` at ``width``."""
    # The harness is part of the exported design: its source is part of the cache key.
    harness = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return export_component(harness_module(width), lambda: LinkBlockHarness(width),
                            parameters=f"link_blocks {width} {harness}")


class LoopbackBench:
    """Drives a :class:`LinkBlockHarness` in a loop-back through a channel of ``delay`` line
    bits, and checks every output against the reference models.

    Each cycle, :meth:`cycle` takes the harness's outputs (read before the clock edge; the
    combinational ones reflect the inputs of the previous cycle, which the harness still has)
    and returns the inputs for the next edge. It sends random blocks, first sweeps the block
    boundary through all 66 positions with one slip after each received block, recording at
    which slip counts the received blocks are the sent ones, then stays aligned.

    Checks: ``word`` against :class:`~verification.link_reference.TxGearboxModel` fed the
    reference-scrambled blocks; ``rx_valid``/``rx_block`` against
    :class:`~verification.link_reference.RxGearboxModel` fed the same words and slips;
    ``descrambled`` against a reference :class:`~verification.link_reference.Descrambler`
    and, once aligned, against the payloads sent; ``crc_out`` against
    :func:`~verification.link_reference.crc32_update`. :meth:`finish` checks the sweep.

    Parameters
    ----------
    width : int
    delay : int
        Line bits of channel delay (zeros come out first).
    blocks : int
        Blocks to receive aligned after the sweep.
    seed : int
        Of the random blocks and CRC inputs.
    fault : bool
        Use a reference scrambler with a wrong tap (the checks must then fail).
    """

    #: Blocks observed after each slip of the sweep. The first block after a slip reflects it
    #: (:data:`~isa.link.RX_SLIP_LATENCY` is one cycle), so all must be aligned or none.
    OBSERVE = 2
    #: Blocks received before the sweep starts: they may hold the line's first bits, the
    #: transmit gearbox's ``width`` zeros and the channel's ``delay``, under two blocks.
    FILL = 2

    def __init__(self, width, delay, blocks, seed, *, fault=False):
        self.width = width
        self.rng = random.Random(seed)
        self.blocks = blocks
        taps = (SCRAMBLER_TAPS[0] - 1, *SCRAMBLER_TAPS[1:]) if fault else SCRAMBLER_TAPS
        self.scrambler = ref.Scrambler(SEED_ALL_ONES, taps=taps)
        self.descrambler = ref.Descrambler(RX_SEED)
        self.tx_model = ref.TxGearboxModel(width)
        self.rx_model = ref.RxGearboxModel(width)
        self.channel = [0] * delay
        self.sent = {}               # scrambled block sent -> its index
        self.sent_order = []         # (header, payload) of each block sent
        self.expected_block = None   # what the receive gearbox shows in the next cycle
        self.expected_crc = None
        self.count = 0
        self.slips = 0
        self.slip_pending = False
        self.seen_since_slip = -self.FILL
        self.sweep_results = {}      # slip count -> (aligned blocks seen, blocks seen)
        self.next_index = None       # index of the sent block expected next, once aligned
        self.aligned_blocks = 0
        # Inputs held by the harness (all zero after reset).
        self.inputs = {"header": 0, "payload": 0, "rx_word": 0, "slip": 0, "crc_in": 0,
                       "crc_data": 0}

    def _check(self, what, expected, observed):
        if expected != observed:
            raise AssertionError(f"width {self.width} cycle {self.count}: {what}: expected "
                                 f"{expected:#x}, observed {observed:#x}")

    @property
    def done(self):
        return self.aligned_blocks >= self.blocks

    def cycle(self, outputs):
        """Check ``outputs`` (a dict of the harness's output members' values) and return the
        inputs for the next clock edge."""
        self._check_crc(outputs["crc_out"])
        self._check_receiver(outputs)
        word = outputs["word"]
        self._check("word", self.tx_model.word(), word)
        if outputs["ready"]:
            self._send()
        # The channel: the words' bits, ``delay`` bits late.
        self.channel += ref.to_bits(word, self.width)
        rx_word = ref.from_bits(self.channel[:self.width])
        del self.channel[:self.width]
        slip = self.slip_pending
        self.slip_pending = False
        if slip:
            self.slips += 1
            self.seen_since_slip = 0
        self.expected_block = self.rx_model.cycle(rx_word, slip)
        crc_in, crc_data = self.rng.getrandbits(CRC_BITS), self.rng.getrandbits(PAYLOAD_BITS)
        self.expected_crc = ref.crc32_update(crc_in, crc_data.to_bytes(PAYLOAD_BITS // 8,
                                                                         "little"))
        self.inputs.update(rx_word=rx_word, slip=int(slip), crc_in=crc_in, crc_data=crc_data)
        self.count += 1
        return dict(self.inputs)

    def _check_crc(self, observed):
        if self.expected_crc is not None:
            self._check("crc_out", self.expected_crc, observed)

    def _send(self):
        header = self.rng.getrandbits(HEADER_BITS)
        payload = self.rng.getrandbits(PAYLOAD_BITS)
        scrambled = ref.block(header, self.scrambler.payload(payload))
        self.tx_model.take(scrambled)
        index = len(self.sent_order)
        self.sent_order.append((header, payload))
        self.sent[scrambled] = index
        self.inputs.update(header=header, payload=payload)

    def _check_receiver(self, outputs):
        expected = self.expected_block
        self._check("rx_valid", int(expected is not None), outputs["rx_valid"])
        if expected is None:
            return
        observed = outputs["rx_block"]
        self._check("rx_block", expected, observed)
        descrambled = self.descrambler.payload(ref.payload_of(observed))
        self._check("descrambled", descrambled, outputs["descrambled"])
        index = self.sent.get(observed)
        if self.slips < BLOCK_BITS:
            # The sweep: every boundary position in turn.
            self.seen_since_slip += 1
            if self.seen_since_slip > 0:
                hits, seen = self.sweep_results.get(self.slips, (0, 0))
                self.sweep_results[self.slips] = (hits + (index is not None), seen + 1)
            self.slip_pending = self.seen_since_slip == self.OBSERVE
        elif self.slips < BLOCK_BITS + self._aligning_slips():
            self.slip_pending = not self.slip_pending
        elif self.next_index is None:
            self._check("alignment after the sweep", 1, int(index is not None))
            self.next_index = index + 1
        else:
            self._check("received block index", self.next_index,
                        -1 if index is None else index)
            header, payload = self.sent_order[index]
            self._check("received header", header, ref.header_of(observed))
            # Right from the second aligned block: the descrambler synchronises on the line
            # bits (SCRAMBLER_STATE_BITS < PAYLOAD_BITS), whatever the sweep fed it.
            self._check("descrambled payload", payload, descrambled)
            self.next_index += 1
            self.aligned_blocks += 1

    def _aligning_slips(self):
        """The slip count at which the sweep saw aligned blocks."""
        for slips, (hits, seen) in sorted(self.sweep_results.items()):
            if hits == seen:
                return slips
        raise AssertionError(f"width {self.width}: no slip count aligned the blocks: "
                             f"{self.sweep_results}")

    def finish(self, delay):
        """Check the sweep: with ``k`` slips, ``k = (width + delay) mod 66`` (the transmit
        gearbox's ``width`` zeros after reset and the channel's ``delay`` bits), and only
        then, every block observed was a block sent; and the run received its blocks."""
        expected = (self.width + delay) % BLOCK_BITS
        aligned = sorted(k for k, (hits, seen) in self.sweep_results.items() if hits == seen)
        partly = sorted(k for k, (hits, seen) in self.sweep_results.items() if 0 < hits < seen)
        if sorted(self.sweep_results) != list(range(BLOCK_BITS)):
            raise AssertionError(f"width {self.width}: the sweep saw slip counts "
                                 f"{sorted(self.sweep_results)}")
        if aligned != [expected] or partly:
            raise AssertionError(f"width {self.width} delay {delay}: aligned after {aligned} "
                                 f"slips (partly after {partly}), expected {expected}")
        if self.aligned_blocks < self.blocks:
            raise AssertionError(f"width {self.width}: {self.aligned_blocks} aligned blocks "
                                 f"received, expected {self.blocks}")

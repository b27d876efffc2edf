"""A model of the serial channel between two links' SerDes, reproducible from a seed.

Each serial lane is a delay line of line bits fed with the transmitter's parallel words
(``serdes_width`` bits per lane per cycle, bit 0 first) and read a word per cycle on the other
side. What a lane does to its bits:

* **delay**: ``delay`` whole cycles common to all lanes, plus a per-lane ``skew`` in line bits,
  plus a per-lane bit ``phase`` (``0 .. serdes_width - 1`` bits, drawn from the seed unless
  given): the random bit phase of a SerDes at start-up. The delay line starts full of random
  bits, the noise a receiver sees before the transmitter's first word.
* **permutation**: received lane ``k`` carries transmitted lane ``permutation[k]``.
* **bit errors**: independent errors at rate ``ber``, in bursts of ``burst`` consecutive line
  bits (an error event starts at a bit with probability ``ber / burst``, so that the fraction
  of flipped bits stays ``ber``). The gap to the next event is drawn from the geometric
  distribution, not a random number per bit: at a bit error rate of 1e-4 that is ten thousand
  times fewer draws. :meth:`Channel.flip` adds one chosen error, also to a bit already sent and
  still on its way (so that a test can hit a frame it has seen leave the transmitter).
* **bit slip**: :meth:`Channel.slip` drops or inserts one line bit at a chosen bit, which
  moves every later bit of the lane one bit earlier or later (the receiver loses block lock).

Bits are named by lane and *line bit index*: the index of the bit in its transmitted lane's
stream, counted from the first word given to :meth:`Channel.step`. :attr:`Channel.flipped`
records every flipped bit so that a test can compute exactly what was corrupted.
"""

from collections import deque

import numpy as np

from hdl.parameters import check_integer
from isa.link import SERDES_WIDTHS

__all__ = ["Channel"]


def _per_lane(what, value, lanes, minimum, maximum=None):
    """``value`` as a list of ``lanes`` integers (an integer applies to every lane)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value] * lanes
    value = list(value)
    if len(value) != lanes:
        raise ValueError(f"Channel {what} must give {lanes} lanes, not {len(value)}: {value!r}")
    for lane, item in enumerate(value):
        check_integer(f"Channel {what}[{lane}]", item, minimum, maximum)
    return value


class Channel:
    """The serial lanes between a transmitter and a receiver.

    Parameters
    ----------
    width : int
        Line bits per lane per cycle, one of :data:`isa.link.SERDES_WIDTHS`.
    lanes : int
        Serial lanes.
    delay : int
        Whole cycles of delay common to all lanes.
    skew : int or sequence of int
        Extra delay of each transmitted lane, in line bits.
    phase : int or sequence of int, optional
        Bit phase of each transmitted lane, ``0 .. width - 1`` line bits of extra delay; drawn
        from the seed when omitted.
    permutation : sequence of int, optional
        ``permutation[k]`` is the transmitted lane that received lane ``k`` carries (default:
        the identity).
    ber : float
        Fraction of line bits flipped by random errors, from 0 to 0.5.
    burst : int
        Consecutive line bits flipped by one error event.
    seed : int
        Seeds the phases, the initial noise and the errors: the same seed and the same words
        give the same received words.

    Attributes
    ----------
    delays : list of int
        Each transmitted lane's delay in line bits: ``delay * width + skew + phase``.
    flipped : list of (int, int)
        Every flipped bit as ``(transmitted lane, line bit index)``, in the order flipped.
    slips : list of (int, int, bool)
        Every bit slip done as ``(transmitted lane, line bit index, inserted)``.
    sent : int
        Line bits per lane given to :meth:`step` so far.
    """

    def __init__(self, width, lanes, *, delay=0, skew=0, phase=None, permutation=None,
                 ber=0.0, burst=1, seed=0):
        if width not in SERDES_WIDTHS:
            raise ValueError(f"Channel width must be one of {SERDES_WIDTHS}, not {width!r}")
        check_integer("Channel lanes", lanes, 1)
        check_integer("Channel delay", delay, 0)
        check_integer("Channel burst", burst, 1, width)
        check_integer("Channel seed", seed, 0)
        if isinstance(ber, bool) or not isinstance(ber, (int, float)) or not 0 <= ber <= 0.5:
            raise ValueError(f"Channel ber must be a number from 0 to 0.5, not {ber!r}")
        self.width = width
        self.lanes = lanes
        self.ber = float(ber)
        self.burst = burst
        self._rng = np.random.default_rng(seed)
        skew = _per_lane("skew", skew, lanes, 0)
        if phase is None:
            phase = [int(p) for p in self._rng.integers(0, width, lanes)]
        phase = _per_lane("phase", phase, lanes, 0, width - 1)
        if permutation is None:
            permutation = range(lanes)
        permutation = _per_lane("permutation", permutation, lanes, 0, lanes - 1)
        if sorted(permutation) != list(range(lanes)):
            raise ValueError(f"Channel permutation must be a permutation of the {lanes} lanes, "
                             f"not {permutation!r}")
        self.permutation = permutation
        self.delays = [delay * width + s + p for s, p in zip(skew, phase)]
        # Each lane's delay line: an integer whose bit 0 leaves first, and its length in bits.
        self._line = [int.from_bytes(self._rng.bytes(-(-d // 8) or 1), "little") & ((1 << d) - 1)
                      for d in self.delays]
        self._length = list(self.delays)
        self._mask = (1 << width) - 1
        self.sent = 0
        self.flipped = []
        self.slips = []
        # Scheduled flips and slips per lane, as sorted line bit indices.
        self._flips = [[] for _ in range(lanes)]
        self._slip_at = [None] * lanes
        self._slipped = [-1] * lanes
        # The next random error event of each lane (its first line bit index).
        self._event = [self._next_event(-1) for _ in range(lanes)]
        self._burst_left = [deque() for _ in range(lanes)]

    def _next_event(self, after):
        """The line bit index of the next error event after bit ``after``, or ``None``."""
        if self.ber == 0:
            return None
        return after + int(self._rng.geometric(self.ber / self.burst))

    def flip(self, lane, index):
        """Flip line bit ``index`` of transmitted lane ``lane``: a bit not sent yet, or one
        still in the delay line (sent after the lane's last slip and not received yet)."""
        check_integer("Channel flip lane", lane, 0, self.lanes - 1)
        check_integer("Channel flip index", index, 0)
        if index >= self.sent:
            self._flips[lane].append(index)
            self._flips[lane].sort()
            return
        # The newest bit in the line (index sent - 1) is its last one; the bits sent after the
        # last slip are contiguous.
        position = self._length[lane] - (self.sent - index)
        if position < 0 or index <= self._slipped[lane]:
            raise ValueError(f"Channel flip: bit {index} of lane {lane} has already been "
                             f"received")
        self._line[lane] ^= 1 << position
        self.flipped.append((lane, index))

    def slip(self, lane, index, *, insert=False):
        """Drop line bit ``index`` of transmitted lane ``lane`` (or, with ``insert``, insert a
        random bit before it): one bit slip, once."""
        check_integer("Channel slip lane", lane, 0, self.lanes - 1)
        check_integer("Channel slip index", index, self.sent)
        if self._slip_at[lane] is not None:
            raise ValueError(f"Channel slip: lane {lane} already has a slip scheduled at bit "
                             f"{self._slip_at[lane][0]}")
        if not insert and self._length[lane] < 1:
            # A word must still come out in the cycle of the drop: a delay of 0 has no bit to
            # spare.
            raise ValueError(f"Channel slip: dropping a bit of lane {lane} needs a delay of at "
                             f"least 1 bit, not {self._length[lane]}")
        self._slip_at[lane] = (index, insert)

    def _errors(self, lane, start):
        """The error mask of the word of ``lane`` whose first line bit is ``start``."""
        end = start + self.width
        mask = 0
        pending = self._burst_left[lane]
        while pending and pending[0] < end:
            mask |= 1 << (pending.popleft() - start)
        event = self._event[lane]
        while event is not None and event < end:
            for bit in range(event, event + self.burst):
                if bit < end:
                    mask |= 1 << (bit - start)
                else:
                    pending.append(bit)
            event = self._next_event(event + self.burst - 1)
        self._event[lane] = event
        flips = self._flips[lane]
        while flips and flips[0] < end:
            mask ^= 1 << (flips.pop(0) - start)
        return mask

    def step(self, words):
        """Send one cycle's ``words`` (one ``width``-bit integer per transmitted lane) and
        return the words received in the same cycle (one per received lane)."""
        if len(words) != self.lanes:
            raise ValueError(f"Channel step needs {self.lanes} words, not {len(words)}")
        start = self.sent
        out = [0] * self.lanes
        for lane, word in enumerate(words):
            mask = self._errors(lane, start)
            if mask:
                self._record(lane, start, mask)
                word ^= mask
            bits = self.width
            slip = self._slip_at[lane]
            if slip is not None and slip[0] < start + self.width:
                offset = slip[0] - start
                low = word & ((1 << offset) - 1)
                high = word >> offset
                if slip[1]:
                    word = low | int(self._rng.integers(0, 2)) << offset | high << (offset + 1)
                    bits += 1
                else:
                    word = low | (high >> 1) << offset
                    bits -= 1
                self.slips.append((lane, slip[0], slip[1]))
                self._slipped[lane] = slip[0]
                self._slip_at[lane] = None
            length = self._length[lane]
            line = self._line[lane] | word << length
            out[lane] = line & self._mask
            self._line[lane] = line >> self.width
            self._length[lane] = length + bits - self.width
        self.sent += self.width
        return [out[source] for source in self.permutation]

    def _record(self, lane, start, mask):
        while mask:
            low = mask & -mask
            self.flipped.append((lane, start + low.bit_length() - 1))
            mask ^= low

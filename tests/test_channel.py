"""The serial channel model (verification/channel.py) against hand-computed cases: delays, skew,
bit phase, lane permutation, bit slips and chosen flips bit for bit; the random errors'
statistics; reproducibility from the seed; parameter errors."""

import random

import pytest

from verification.channel import Channel

WIDTH = 32
MASK = (1 << WIDTH) - 1


def stream(channel, words_per_lane):
    """Run ``channel`` over ``words_per_lane`` (a list per transmitted lane) and return the
    received words, a list per received lane."""
    received = [[] for _ in range(channel.lanes)]
    for cycle in range(len(words_per_lane[0])):
        out = channel.step([lane[cycle] for lane in words_per_lane])
        for lane, word in enumerate(out):
            received[lane].append(word)
    return received


def bits(words, width=WIDTH):
    """The line bits of ``words``, first bit first."""
    return [word >> i & 1 for word in words for i in range(width)]


def random_words(seed, lanes, cycles, width=WIDTH):
    rng = random.Random(seed)
    return [[rng.getrandbits(width) for _ in range(cycles)] for _ in range(lanes)]


def test_no_delay_passes_the_words_through():
    words = random_words(1, 2, 20)
    assert stream(Channel(WIDTH, 2, phase=0), words) == words


def test_whole_cycle_delay():
    words = random_words(2, 1, 10)
    received = stream(Channel(WIDTH, 1, delay=3, phase=0), words)[0]
    assert received[3:] == words[0][:-3]


@pytest.mark.parametrize("phase", [1, 5, 31])
def test_bit_phase_shifts_the_stream(phase):
    """Received word ``t`` holds the last ``phase`` bits of word ``t - 1`` and then the first
    ``32 - phase`` bits of word ``t`` (written out with shifts, not bit lists)."""
    words = random_words(3, 1, 10)[0]
    received = stream(Channel(WIDTH, 1, phase=phase), [words])[0]
    for t in range(1, len(words)):
        expected = (words[t - 1] >> (WIDTH - phase) | words[t] << phase) & MASK
        assert received[t] == expected


def test_skew_and_phase_add_up_per_lane():
    """Lane delays of 0, 40, 70 and 100 bits (skew plus phase, and a common delay of one
    cycle): each received stream is its transmitted stream shifted by its delay."""
    words = random_words(4, 4, 12)
    channel = Channel(WIDTH, 4, delay=1, skew=[0, 40, 66, 90], phase=[0, 0, 4, 10])
    assert channel.delays == [32, 72, 102, 132]
    received = stream(channel, words)
    for lane in range(4):
        d = channel.delays[lane]
        assert bits(received[lane])[d:] == bits(words[lane])[:len(words[lane]) * WIDTH - d]


def test_permutation():
    words = random_words(5, 4, 6)
    received = stream(Channel(WIDTH, 4, phase=0, permutation=[2, 0, 3, 1]), words)
    assert received == [words[2], words[0], words[3], words[1]]


@pytest.mark.parametrize("insert", [False, True])
@pytest.mark.parametrize("index", [0, 37, 63, 64])
def test_slip_moves_the_later_bits(index, insert):
    """A drop at bit i: bits before i keep their delay, bit i is gone, later bits arrive one
    bit earlier. An insert: one bit more before bit i, later bits one bit later."""
    words = random_words(6, 1, 8)
    channel = Channel(WIDTH, 1, skew=5, phase=0)
    channel.slip(0, index, insert=insert)
    sent, got = bits(words[0]), bits(stream(channel, words)[0])
    assert channel.slips == [(0, index, insert)]
    assert got[5:5 + index] == sent[:index]
    if insert:
        assert got[6 + index:] == sent[index:len(got) - 6]
    else:
        assert got[5 + index:] == sent[index + 1:len(got) - 4]


def test_slip_rules():
    channel = Channel(WIDTH, 2, phase=0)
    with pytest.raises(ValueError, match="dropping a bit of lane 1 needs a delay of at least 1 "
                                         "bit, not 0"):
        channel.slip(1, 10)
    channel.slip(0, 10, insert=True)
    with pytest.raises(ValueError, match="lane 0 already has a slip scheduled at bit 10"):
        channel.slip(0, 20, insert=True)
    channel.step([0, 0])
    with pytest.raises(ValueError, match="Channel slip index must be at least 32, not 31"):
        channel.slip(1, 31, insert=True)


def test_chosen_flips_are_applied_and_recorded():
    words = random_words(7, 2, 6)
    channel = Channel(WIDTH, 2, skew=[3, 0], phase=0, permutation=[1, 0])
    for lane, index in [(0, 0), (0, 100), (1, 31), (1, 32)]:
        channel.flip(lane, index)
    received = stream(channel, words)
    assert channel.flipped == [(0, 0), (1, 31), (1, 32), (0, 100)]
    # Received lane 1 carries lane 0 (3 bits late); received lane 0 carries lane 1.
    diff0 = [a ^ b for a, b in zip(bits(received[1])[3:], bits(words[0]))]
    diff1 = [a ^ b for a, b in zip(bits(received[0]), bits(words[1]))]
    assert [i for i, d in enumerate(diff0) if d] == [0, 100]
    assert [i for i, d in enumerate(diff1) if d] == [31, 32]


def test_flips_of_bits_on_their_way():
    """A bit sent but still in the delay line can be flipped; a received one cannot, nor one
    sent before a slip."""
    words = random_words(9, 1, 6)
    channel = Channel(WIDTH, 1, skew=40, phase=0)
    channel.slip(0, 10, insert=True)
    received = [channel.step([words[0][0]])[0]]
    channel.flip(0, 31)                     # sent in cycle 0, received in cycle 1
    received += [channel.step([word])[0] for word in words[0][1:]]
    expected = bits(words[0])
    expected[31] ^= 1
    expected.insert(10, bits(received)[50])
    assert bits(received)[40:] == expected[:len(expected) - 41]
    assert channel.flipped == [(0, 31)]
    with pytest.raises(ValueError, match="bit 8 of lane 0 has already been received"):
        channel.flip(0, 8)
    with pytest.raises(ValueError, match="bit 140 of lane 0 has already been received"):
        channel.flip(0, 140)


def error_positions(channel, cycles):
    stream(channel, [[0] * cycles for _ in range(channel.lanes)])
    return channel.flipped


@pytest.mark.parametrize("ber", [1e-2, 1e-3])
def test_random_errors_match_the_ber(ber):
    """The count of flipped bits is within 5 standard deviations of ``ber`` times the bits sent,
    and every flipped bit is really flipped in the received words."""
    lanes, cycles = 4, 8000
    channel = Channel(WIDTH, lanes, phase=0, ber=ber, seed=11)
    received = stream(channel, [[0] * cycles for _ in range(lanes)])
    n = lanes * cycles * WIDTH
    expected, sigma = n * ber, (n * ber * (1 - ber)) ** 0.5
    assert abs(len(channel.flipped) - expected) < 5 * sigma
    ones = {(lane, c * WIDTH + i) for lane in range(lanes)
            for c, word in enumerate(received[lane]) for i in range(WIDTH) if word >> i & 1}
    assert ones == set(channel.flipped)
    assert len(ones) == len(channel.flipped)


def test_bursts_flip_runs_of_bits():
    """With bursts of 4 bits, flipped bits come in runs of whole bursts (runs may merge) and
    their count still matches the ber."""
    channel = Channel(WIDTH, 1, phase=0, ber=4e-3, burst=4, seed=3)
    flipped = sorted(index for _, index in error_positions(channel, 20000))
    runs, start = [], flipped[0]
    for previous, index in zip(flipped, flipped[1:] + [None]):
        if index != previous + 1:
            runs.append(previous + 1 - start)
            start = index
    assert all(run % 4 == 0 for run in runs[:-1])
    n = 20000 * WIDTH
    assert abs(len(flipped) - n * 4e-3) < 5 * 4 * (n * 1e-3) ** 0.5


def test_same_seed_same_channel():
    words = random_words(8, 4, 400)

    def run(seed):
        channel = Channel(WIDTH, 4, delay=2, ber=1e-2, burst=2, seed=seed)
        return stream(channel, words), channel.flipped, channel.delays

    first, again, other = run(5), run(5), run(6)
    assert first == again
    assert first[1] != other[1]


@pytest.mark.parametrize("arguments, exception, message", [
    ({"width": 40}, ValueError, r"Channel width must be one of \(32, 64\), not 40"),
    ({"lanes": 0}, ValueError, "Channel lanes must be at least 1, not 0"),
    ({"delay": -1}, ValueError, "Channel delay must be at least 0, not -1"),
    ({"delay": 1.5}, TypeError, "Channel delay must be an integer, not 1.5"),
    ({"skew": [0, 1]}, ValueError, r"Channel skew must give 4 lanes, not 2: \[0, 1\]"),
    ({"skew": [0, 0, -3, 0]}, ValueError, r"Channel skew\[2\] must be at least 0, not -3"),
    ({"phase": 32}, ValueError, r"Channel phase\[0\] must be between 0 and 31, not 32"),
    ({"permutation": [0, 0, 1, 2]}, ValueError,
     r"Channel permutation must be a permutation of the 4 lanes, not \[0, 0, 1, 2\]"),
    ({"ber": 0.7}, ValueError, "Channel ber must be a number from 0 to 0.5, not 0.7"),
    ({"ber": "high"}, ValueError, "Channel ber must be a number from 0 to 0.5, not 'high'"),
    ({"burst": 0}, ValueError, "Channel burst must be between 1 and 32, not 0"),
    ({"seed": -2}, ValueError, "Channel seed must be at least 0, not -2"),
])
def test_bad_parameters(arguments, exception, message):
    parameters = {"width": WIDTH, "lanes": 4, **arguments}
    with pytest.raises(exception, match=message):
        Channel(parameters.pop("width"), parameters.pop("lanes"), **parameters)


def test_bad_calls():
    channel = Channel(WIDTH, 2)
    with pytest.raises(ValueError, match="Channel step needs 2 words, not 3"):
        channel.step([0, 0, 0])
    with pytest.raises(ValueError, match="Channel flip lane must be between 0 and 1, not 2"):
        channel.flip(2, 0)

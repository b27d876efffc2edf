"""Shared pieces of the unit testbenches: the scoreboard, deliberate model errors, clock and
reset, and vector packing.

Every unit testbench compares the RTL with a model written independently of it. To prove that
such a comparison can fail, each model can be told to make a deliberate error (as pyuvm's
TinyALU example does): the environment variable ``LPU_FAULT`` set to ``1`` selects the
model's injected error, and the launcher then expects the testbench to fail.
"""

import os

from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from isa.timing import SIMULATION_CLOCK_NS

__all__ = ["FAULT", "Scoreboard", "StreamPorts", "StreamBench", "reset", "pack",
           "unpack"]

#: Whether the models make their deliberate error (``LPU_FAULT=1``).
FAULT = os.environ.get("LPU_FAULT", "") == "1"


class Scoreboard:
    """Collects comparisons of expected and observed values; :meth:`check` fails the test with
    the first few mismatches, each named by cycle and signal.

    Parameters
    ----------
    name : str
        Named in the failure message.
    limit : int
        Mismatches listed in the message (all are counted).
    """

    def __init__(self, name, limit=8):
        self.name = name
        self.limit = limit
        self.compared = 0
        self.mismatches = []

    def compare(self, cycle, what, expected, observed):
        """Record one comparison; returns whether it matched."""
        self.compared += 1
        if expected == observed:
            return True
        self.mismatches.append(f"cycle {cycle}: {what}: expected {_show(expected)}, "
                               f"observed {_show(observed)}")
        return False

    def check(self):
        """Fail (``AssertionError``) if any comparison mismatched or none was made."""
        assert self.compared, f"{self.name}: nothing was compared"
        if self.mismatches:
            shown = "\n  ".join(self.mismatches[:self.limit])
            raise AssertionError(f"{self.name}: {len(self.mismatches)} of {self.compared} "
                                 f"comparisons failed, first:\n  {shown}")


class StreamPorts:
    """The stream ports of a unit harness (:func:`verification.harness.export_unit`): the
    registers at the unit, which the testbench drives (``east_in``/``west_in``), and the
    registers one position downstream, where a result must be (``east_next``/``west_next``)."""

    def __init__(self, dut, streams):
        self.east_in = [getattr(dut, f"east_in__{s}") for s in range(streams)]
        self.west_in = [getattr(dut, f"west_in__{s}") for s in range(streams)]
        self.east_next = [getattr(dut, f"east_next__{s}") for s in range(streams)]
        self.west_next = [getattr(dut, f"west_next__{s}") for s in range(streams)]

    def drive(self, east, west):
        """Put the vectors ``east[s]``/``west[s]`` on the registers at the unit."""
        for handle, value in zip(self.east_in, east):
            handle.value = value
        for handle, value in zip(self.west_in, west):
            handle.value = value

    def observe(self):
        """``(east, west)``: the downstream vectors, as integers."""
        return ([int(h.value) for h in self.east_next], [int(h.value) for h in self.west_next])

    @staticmethod
    def compare(board, cycle, expected, observed):
        """Compare ``(east, west)`` lists of downstream vectors on ``board``."""
        for direction, want, got in zip(("east", "west"), expected, observed):
            for s, (w, g) in enumerate(zip(want, got)):
                board.compare(cycle, f"{direction}_next[{s}]", w, g)


class StreamBench:
    """The cycle loop shared by the testbenches of units that sit on the stream fabric.

    A subclass defines ``apply(issues, east, west, clear)``, which drives its inputs, and
    ``step``, which calls :meth:`clock` with what its model must do in the cycle and then checks
    its own error ports. The stream registers at the unit hold :attr:`east`/:attr:`west` from
    cycle to cycle until a step gives new ones; :attr:`seen` records each cycle's observations.
    """

    def __init__(self, dut, streams, model, name):
        self.dut = dut
        self.streams = StreamPorts(dut, streams)
        self.model = model
        self.board = Scoreboard(name)
        self.cycle = 0
        self.seen = []
        self.east = [0] * streams
        self.west = [0] * streams

    async def clock(self, issues, east, west, clear, model_step):
        """Run one cycle: hold ``east``/``west`` (``None`` keeps the previous vectors), apply
        ``issues`` and ``clear``, let ``model_step(east, west)`` advance the model, and compare
        the downstream stream registers after the edge with what the model sent in this cycle.
        Returns ``(model_step's result, (east, west) observed)``."""
        self.east = list(east) if east is not None else self.east
        self.west = list(west) if west is not None else self.west
        sent = (self.model.east_next, self.model.west_next)
        self.apply(issues, self.east, self.west, clear)
        expected = model_step(self.east, self.west)
        await RisingEdge(self.dut.clk)
        observed = self.streams.observe()
        self.streams.compare(self.board, self.cycle, sent, observed)
        return expected, observed

    def record(self, observed):
        """End the cycle: remember what was ``observed`` in it and return it."""
        self.seen.append(observed)
        self.cycle += 1
        return observed

    async def idle(self, cycles=1, **streams):
        """``cycles`` steps without an issue."""
        for _ in range(cycles):
            await self.step(**streams)


def _show(value):
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 0xFFFF:
        return hex(value)
    return repr(value)


async def reset(dut, cycles=2):
    """Start the clock and hold the (synchronous, active-high) ``rst`` for ``cycles`` cycles.
    Drive every input to its idle value before calling this."""
    Clock(dut.clk, SIMULATION_CLOCK_NS, unit="ns").start()
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


def pack(values, bits=8):
    """Lane values (lane 0 first; any ints, reduced modulo ``2**bits``) as one integer."""
    mask = (1 << bits) - 1
    word = 0
    for lane, value in enumerate(values):
        word |= (int(value) & mask) << (bits * lane)
    return word


def unpack(word, lanes, bits=8):
    """Inverse of :func:`pack`: unsigned lane values."""
    mask = (1 << bits) - 1
    return [(int(word) >> (bits * lane)) & mask for lane in range(lanes)]

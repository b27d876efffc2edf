"""cocotb testbench: programs on several chips joined by links, in one Verilator simulation
(:class:`~verification.system_top.SystemTop`).

Every connection (:class:`~golden.archsim.system.Connection`) is two channels of
:mod:`verification.channel`, one per direction, each with its own random delay (up to the
link's delay budget, slowest lane included), lane skew, bit phase and lane permutation, drawn
from the seed. The bench then does what a host of such a system does:

1. resets the chips and loads every chip's program and data through its own host port;
2. starts the channels and pulses the shared epoch;
3. waits until every connected link port reports its lanes locked and aligned (its STATUS
   register), and clears the link counters;
4. arms every chip with START_AT on one epoch count, so that all programs start in the same
   cycle, and waits for every chip's DONE;
5. reads back each chip's registers, outputs and link registers.

Environment: ``LPU_SYSTEM`` (input pickle: ``{"config", "connections", "programs", "seed"}``)
and ``LPU_RESULTS`` (output pickle: ``{"outcomes": [RunOutcome per chip], "links": {(chip,
port): {register: value}}, "up_cycles": cycles until every link was up}``); optionally
``LPU_PROGRESS``, a file that gets a line per phase.
"""

import logging
import os
import pickle
import random

import cocotb
from cocotb.triggers import ReadWrite, RisingEdge

from isa.geometry import floorplan
from isa.host import LINK_LOCKED_SHIFT, Control, LinkStatus, Reg
from isa.link import BLOCK_BITS, STAMP_MODULUS
from isa.timing import link_config
from .channel import Channel
from .host import HostDriver

#: Epoch counts from the arming to the common start: room for every chip's two AXI writes.
START_MARGIN = 400
#: Cycles within which every link must come up after the epoch.
UP_LIMIT = 20_000


def _say(line):
    """Report a phase in the simulation's log, and in the ``LPU_PROGRESS`` file if given."""
    logging.getLogger("cocotb.tb_system").info(line)
    path = os.environ.get("LPU_PROGRESS")
    if path:
        with open(path, "a") as handle:
            handle.write(line + "\n")


class Lines:
    """The channels between the chips' link ports, stepped once per cycle."""

    def __init__(self, dut, config, connections, rng):
        self.dut = dut
        self.link = link = link_config(config)
        self.width, self.lanes = link.serdes_width, link.serial_lanes
        self.mask = (1 << self.width) - 1
        units = [unit.name for unit in floorplan(config).link_units]
        self.directed = []
        for connection in connections:
            ends = [(chip, units.index(port)) for chip, port in connection.ends()]
            for source, target in (ends, ends[::-1]):
                self.directed.append((self._port(source, "tx"), self._port(target, "rx"),
                                      self._channel(rng)))
        self.epoch_due = None
        self.cycle = 0

    def _port(self, end, direction):
        chip, port = end
        return getattr(self.dut, f"chip__{chip}__{direction}__{port}")

    def _channel(self, rng):
        """A channel within the budgets: the slowest lane delayed by up to ``delay_budget``
        cycles (whole cycles and bit phase), the others up to ``skew_budget`` blocks less, in a
        random order."""
        link = self.link
        slowest = rng.randint(0, link.delay_budget * self.width)
        delays = [slowest] + [max(0, slowest - rng.randint(0, link.skew_budget * BLOCK_BITS))
                              for _ in range(self.lanes - 1)]
        rng.shuffle(delays)
        return Channel(self.width, self.lanes, skew=delays, phase=0,
                       permutation=rng.sample(range(self.lanes), self.lanes),
                       seed=rng.getrandbits(32))

    async def run(self):
        """Forever: each cycle, carry every link end's line words through its channel (a
        channel of delay 0 would be a wire) and drive the epoch pulse when due."""
        dut = self.dut
        for _, rx, _ in self.directed:
            rx.value = 0
        dut.epoch.value = 0
        await RisingEdge(dut.clk)
        await ReadWrite()
        while True:
            for tx, rx, channel in self.directed:
                packed = tx.value.to_unsigned()
                words = [packed >> (lane * self.width) & self.mask for lane in range(self.lanes)]
                rx.value = sum(word << (lane * self.width)
                               for lane, word in enumerate(channel.step(words)))
            dut.epoch.value = int(self.cycle == self.epoch_due)
            await RisingEdge(dut.clk)
            await ReadWrite()
            self.cycle += 1


async def _up(host, ports):
    """Whether every port in ``ports`` of ``host``'s chip reports its lanes locked and
    aligned and the epoch seen."""
    all_locked = (1 << link_config(host.config).serial_lanes) - 1
    for port in ports:
        status = (await host.link_registers(port))["status"]
        flags = LinkStatus(status & ((1 << LINK_LOCKED_SHIFT) - 1))
        if LinkStatus.SYNCED not in flags or LinkStatus.ALIGNED not in flags or \
                (status >> LINK_LOCKED_SHIFT) & all_locked != all_locked:
            return False
    return True


@cocotb.test()
async def run_system(dut):
    with open(os.environ["LPU_SYSTEM"], "rb") as handle:
        bundle = pickle.load(handle)
    config, connections, programs = bundle["config"], bundle["connections"], bundle["programs"]
    rng = random.Random(bundle["seed"])
    hosts = [HostDriver(dut, config, prefix=f"chip__{chip}__") for chip in range(len(programs))]
    lines = Lines(dut, config, connections, rng)
    await hosts[0].reset()
    # Every chip loads through its own fast port, all at once.
    loads = [cocotb.start_soon(host.load(program)) for host, program in zip(hosts, programs)]
    for chip, load in enumerate(loads):
        await load
        _say(f"RTL: chip {chip} loaded")
    # The lines start after the loads, which need no link (and run faster without them).
    cocotb.start_soon(lines.run())
    lines.epoch_due = rng.randint(1, 50)
    used = {(chip, port) for connection in connections for chip, port in connection.ends()}
    units = [unit.name for unit in hosts[0].plan.link_units]
    ports = {chip: [units.index(port) for c, port in used if c == chip]
             for chip in range(len(hosts))}
    while not all([await _up(host, ports[chip]) for chip, host in enumerate(hosts)]):
        if lines.cycle > UP_LIMIT:
            raise TimeoutError(f"links not up within {UP_LIMIT} cycles")
        for _ in range(50):
            await RisingEdge(dut.clk)
    up_cycles = lines.cycle
    _say(f"RTL: links up {up_cycles} cycles after the lines started")
    for host in hosts:
        await host.write_reg(Reg.CONTROL, Control.CLEAR)

    count = (await hosts[0].read_reg(Reg.EPOCH_COUNT) + START_MARGIN) % STAMP_MODULUS
    for host in hosts:
        await host.arm(count)
    _say(f"RTL: every chip armed to start after epoch count {count}")
    budget = 4 * max(program.predicted_cycles or 100_000 for program in programs) + 4000
    for host in hosts:
        await host.wait_done(budget)
    _say("RTL: every chip done")

    outcomes, links = [], {}
    for chip, (host, program) in enumerate(zip(hosts, programs)):
        outcome = await host.outcome()
        outcome.outputs = {region.name: await host.read_sram(region.slice, region.address,
                                                             region.count)
                           for region in program.outputs}
        outcome.ecc = await host.ecc_report()
        outcomes.append(outcome)
        for port in ports[chip]:
            links[(chip, units[port])] = await host.link_registers(port)
    with open(os.environ["LPU_RESULTS"], "wb") as handle:
        pickle.dump({"outcomes": outcomes, "links": links, "up_cycles": up_cycles}, handle)

"""Several chips joined by their links, run in lockstep from one common cycle 0.

A link carries each SEND to the port at its other end, which delivers it exactly
:func:`~isa.timing.link_latency` cycles later: that is the whole architectural behaviour of a
link (``docs/link.md`` shows why the RTL's latency is that constant whatever the channel). The
chips start their programs in the same cycle, as the host starts them on a shared epoch
(``Control.START_AT``), so one chip's program cycle is every chip's.
"""

from dataclasses import dataclass

from isa.geometry import UnitKind
from isa.host import RunOutcome
from isa.timing import link_latency
from .checks import ChipError, ProgramError, is_int
from .simulator import ArchSim

__all__ = ["Connection", "ChipSystem", "chain"]


@dataclass(frozen=True)
class Connection:
    """One link: port ``port_a`` of chip ``chip_a`` and ``port_b`` of chip ``chip_b`` (unit
    names such as ``"link_e0"``), each sending to the other."""
    chip_a: int
    port_a: str
    chip_b: int
    port_b: str

    def ends(self):
        return ((self.chip_a, self.port_a), (self.chip_b, self.port_b))


def chain(count, links=1):
    """The connections of ``count`` chips in a row: chip ``i``'s east ports ``link_e0 ..`` to
    chip ``i + 1``'s west ports ``link_w0 ..`` (``links`` per edge)."""
    return [Connection(i, f"link_e{k}", i + 1, f"link_w{k}")
            for i in range(count - 1) for k in range(links)]


class ChipSystem:
    """Chips of ``configs`` (one per chip) joined by ``connections`` (:class:`Connection`).

    Every port is used by at most one connection; an unconnected port's SENDs go nowhere.
    Chips that exchange vectors need the same link (their ``lanes``). ``strict`` is
    :class:`~golden.archsim.simulator.ArchSim`'s.
    """

    def __init__(self, configs, connections, *, strict=True):
        configs = list(configs)
        if not configs:
            raise ChipError("a chip system needs at least one chip")
        self.sims = [ArchSim(config, strict=strict) for config in configs]
        self.connections = list(connections)
        self._peers = {}    # link port model -> the one at the other end of its link
        for connection in self.connections:
            ends = [self._port(chip, name) for chip, name in connection.ends()]
            lanes = {self.sims[chip].config.lanes for chip, _ in connection.ends()}
            if len(lanes) != 1:
                raise ChipError(f"{connection} joins chips of different lanes {sorted(lanes)}: "
                                f"their links carry different vectors")
            for (chip, mine), (_, other) in (ends, ends[::-1]):
                if mine in self._peers:
                    raise ChipError(f"link port {mine.name} of chip {chip} is in two "
                                    f"connections")
                self._peers[mine] = other

    def _port(self, chip, name):
        if not is_int(chip) or not 0 <= chip < len(self.sims):
            raise ChipError(f"chip {chip!r} out of range (0..{len(self.sims) - 1})")
        plan = self.sims[chip].plan
        try:
            unit = plan.unit(name)
        except KeyError as error:
            raise ChipError(f"chip {chip}: {error.args[0]}") from None
        if unit.kind is not UnitKind.LINK:
            raise ChipError(f"chip {chip}: {name} is a {unit.kind.value} unit, not a link port")
        return chip, self.sims[chip].chip.links[plan.link_units.index(unit)]

    # ---- Running. ----

    def run(self, *, max_cycles=10_000_000, trace=False):
        """Start every chip's loaded program in one cycle and run until all have halted;
        returns one :class:`~isa.host.RunOutcome` per chip (without outputs)."""
        chips = [sim.chip for sim in self.sims]
        for chip in chips:
            chip.start(trace=trace)
        while running := [chip for chip in chips if not chip.halted]:
            if running[0].cycle >= max_cycles:
                raise ProgramError(f"no halt after {max_cycles} cycles")
            for chip in running:
                chip.step()
            self._carry()
            running = [chip for chip in running if not chip.halted]
            if running and all(chip.quiet for chip in running):
                self._skip(running, max_cycles)
        return [RunOutcome(cycles=c.cycle, errors=c.errors, error_queue=c.error_queue,
                           error_cycle=c.error_cycle, trace=tuple(c.trace or ()))
                for c in chips]

    def _carry(self):
        """Hand every SEND of this cycle to the other end of its link (an unconnected port's
        go nowhere)."""
        for sim in self.sims:
            for port in sim.chip.links:
                peer = self._peers.get(port)
                for cycle, vector in port.take_sent():
                    if peer is not None:
                        peer.deliver(cycle + port.latency, vector)

    @staticmethod
    def _skip(running, max_cycles):
        """Every running chip is quiet, so no link holds a vector for one (a port expecting a
        delivery is busy): jump them together to the first cycle one of them wakes."""
        wakes = [chip.queues.next_wake() for chip in running]
        if None in wakes:
            chip = running[wakes.index(None)]
            raise ProgramError(f"queues {', '.join(chip.queues.waiting())} wait in SYNC "
                               f"forever (from cycle {chip.cycle})")
        now = running[0].cycle
        target = min(min(wakes), max_cycles)
        if target > now:
            for chip in running:
                chip.fabric.skip(now, target)
                chip.cycle = target

    def execute(self, programs, *, trace=False, max_cycles=10_000_000):
        """Load one program per chip (``None``: nothing to run, every queue halts at once), run
        them (:meth:`run`) and read each one's outputs: one :class:`~isa.host.RunOutcome` per
        chip."""
        programs = list(programs)
        if len(programs) != len(self.sims):
            raise ChipError(f"{len(programs)} programs for {len(self.sims)} chips")
        for sim, program in zip(self.sims, programs):
            if program is not None:
                program.load_into(sim)
        outcomes = self.run(trace=trace, max_cycles=max_cycles)
        for sim, program, outcome in zip(self.sims, programs, outcomes):
            if program is not None:
                outcome.outputs = program.read_outputs(sim)
            outcome.ecc = sim.chip.ecc
        return outcomes

    @staticmethod
    def latency(config):
        """The link latency the compiler schedules with (:func:`~isa.timing.link_latency`)."""
        return link_latency(config)

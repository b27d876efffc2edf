"""The stream fabric: eastward and westward stream registers at every slice position.

Every cycle every value moves one position in its direction, unconditionally; there is no
handshake anywhere. A unit overwrites a stream by driving its tap's ``*_we`` bit: the value it
drives replaces, in the register one position downstream, the value that would have moved
there. Timing rules: :mod:`isa.timing`.

The registers are distributed: a :class:`SlicePosition` holds a unit together with the two
:class:`StreamHop` s its outputs feed (the eastward register of the next position east and the
westward register of the next position west), and :func:`stream_row` strings positions into a
row. Nothing enters at the row's ends (the chip-to-chip ports will attach there).
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .cells import place
from .interfaces import stream_bundle
from .parameters import check_config

__all__ = ["StreamHop", "SlicePosition", "stream_row"]


class StreamHop(wiring.Component):
    """The stream registers of one direction at one position.

    Members
    -------
    passing : In(vector_bits).array(streams)
        The registers one position upstream.
    out : In(vector_bits).array(streams)
        What the upstream unit sends.
    we : In(streams)
        Which streams the upstream unit overwrites.
    clear : In(1)
        Zero every register.
    value : Out(vector_bits).array(streams)
        The registers.
    """

    def __init__(self, config):
        self.config = check_config("StreamHop", config)
        super().__init__({
            "passing": stream_bundle(config, In),
            "out":     stream_bundle(config, In),
            "we":      In(config.streams),
            "clear":   In(1),
            "value":   stream_bundle(config, Out),
        })

    def elaborate(self, platform):
        m = Module()
        for s in range(self.config.streams):
            # No reset: `clear` zeroes the registers at program start (a reset multiplexer on
            # every stream bit would only cost area and simulation time).
            register = Signal(self.config.vector_bits, name=f"value_{s}", reset_less=True)
            m.d.sync += register.eq(Mux(self.we[s], self.out[s], self.passing[s]))
            with m.If(self.clear):
                m.d.sync += register.eq(0)
            m.d.comb += self.value[s].eq(register)
        return m


class SlicePosition(wiring.Component):
    """A unit and the stream registers its outputs feed.

    Every member of the unit except ``tap`` is a member of the position too (its ``clear``
    also zeroes the registers).

    Parameters
    ----------
    config : ChipConfig
    unit : wiring.Component
        Has a ``tap`` (:class:`~hdl.interfaces.StreamTapSignature`) and a ``clear`` member.

    Members
    -------
    east_in, west_in : In(vector_bits).array(streams)
        The stream registers at this position.
    east_next : Out(vector_bits).array(streams)
        The eastward registers of the position east of this one.
    west_next : Out(vector_bits).array(streams)
        The westward registers of the position west of this one.
    """

    def __init__(self, config, unit):
        self.config = check_config("SlicePosition", config)
        members = getattr(getattr(unit, "signature", None), "members", {})
        if "tap" not in members or "clear" not in members:
            raise TypeError(f"SlicePosition needs a unit component with `tap` and `clear` "
                            f"members, not {unit!r}")
        self.unit = unit
        members = {name: member for name, member in unit.signature.members.items()
                   if name != "tap"}
        members.update({
            "east_in":   stream_bundle(config, In),
            "west_in":   stream_bundle(config, In),
            "east_next": stream_bundle(config, Out),
            "west_next": stream_bundle(config, Out),
        })
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        mine = {path: (member, value) for path, member, value in self.signature.flatten(self)}
        for path, member, value in unit.signature.flatten(unit):
            if path[0] == "tap":
                continue
            if member.flow is In:
                m.d.comb += value.eq(mine[path][1])
            else:
                m.d.comb += mine[path][1].eq(value)

        streams = range(self.config.streams)
        m.d.comb += [unit.tap.east[s].eq(self.east_in[s]) for s in streams]
        m.d.comb += [unit.tap.west[s].eq(self.west_in[s]) for s in streams]
        for direction, passing, output in (("east", self.east_in, self.east_next),
                                           ("west", self.west_in, self.west_next)):
            m.submodules[f"{direction}_hop"] = hop = StreamHop(self.config)
            sent = getattr(unit.tap, f"{direction}_out")
            m.d.comb += [hop.we.eq(getattr(unit.tap, f"{direction}_we")), hop.clear.eq(unit.clear)]
            for s in streams:
                m.d.comb += [hop.passing[s].eq(passing[s]), hop.out[s].eq(sent[s]),
                             output[s].eq(hop.value[s])]
        return m


def stream_row(m, config, library, slices, bind=None):
    """Place a row of :class:`SlicePosition` s, west to east, and wire their stream registers.

    ``slices`` lists ``(name, module, build)`` per position: the instance name, the shared-cell
    module name and a function returning the position's unit. ``bind`` maps instance names to
    further port bindings (see :func:`~hdl.cells.place`). Returns the placed positions
    (components or stand-ins, see :func:`~hdl.cells.place`) and the registers at every position
    as ``(east, west)``: per position, a list of one signal per stream.
    """
    count = len(slices)
    streams = range(config.streams)
    zero = [Const(0, config.vector_bits)] * config.streams

    def registers(direction, p):
        return [Signal(config.vector_bits, name=f"{direction}_{p}_{s}") for s in streams]

    east = [zero] + [registers("east", p) for p in range(1, count)]
    west = [registers("west", p) for p in range(count - 1)] + [zero]
    positions = []
    for p, (name, module, build) in enumerate(slices):
        ports = dict((bind or {}).get(name, {}))
        for s in streams:
            ports[f"east_in__{s}"] = east[p][s]
            ports[f"west_in__{s}"] = west[p][s]
            if p + 1 < count:
                ports[f"east_next__{s}"] = east[p + 1][s]
            if p > 0:
                ports[f"west_next__{s}"] = west[p - 1][s]
        positions.append(place(m, name, library, module,
                               lambda build=build: SlicePosition(config, build()), ports))
    return positions, east, west

"""The Verilator top of a multi-chip system: ``chips`` instances of the exported chip
(:data:`~hdl.chip.CHIP_MODULE`, the same Verilog ``make verilog`` writes) side by side, on one
clock, reset and epoch pulse, each with its own host ports.

The links' line words are ports of the top, one per link end, all serial lanes packed (lane
``l`` in bits ``l * serdes_width`` and up): the testbench carries them from one chip to another
through the channel model (:mod:`verification.channel`), one access per link end and cycle.
Which ports are joined is the testbench's business, so one build serves every topology.
"""

from amaranth.hdl import Instance, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdl.chip import CHIP_MODULE, chip_signature
from hdl.interfaces import AxiLiteSignature, XferSignature
from isa.geometry import floorplan
from isa.timing import link_config

__all__ = ["SystemTop", "system_module"]


def system_module(config, chips):
    """The module name of the top of ``chips`` chips of ``config``."""
    return f"lpu_system{chips}"


def _host_signature(config):
    """One chip's host side, seen from the top (outputs: the chip's outputs)."""
    link = link_config(config)
    ports = len(floorplan(config).link_units)
    return wiring.Signature({
        "axi":     Out(AxiLiteSignature()),
        "xfer":    Out(XferSignature(config)),
        "running": Out(1),
        "done":    Out(1),
        "tx":      Out(link.serdes_width * link.serial_lanes).array(ports),
        "rx":      In(link.serdes_width * link.serial_lanes).array(ports),
    })


class SystemTop(wiring.Component):
    """``chips`` chips of ``config`` (which needs link ports).

    Members
    -------
    clk, rst, epoch : In(1)
        Every chip's clock, reset and epoch pulse.
    chip : Out(...).array(chips)
        Per chip: ``axi``, ``xfer``, ``running``, ``done`` (the chip's own ports) and ``tx`` /
        ``rx``: the packed line words of each of its link ports
        (:attr:`~isa.geometry.Floorplan.link_units` order).
    """

    def __init__(self, config, chips):
        if config.links < 1:
            raise ValueError(f"a multi-chip top needs chips with link ports: configuration "
                             f"{config.name!r} has links={config.links}")
        if not isinstance(chips, int) or isinstance(chips, bool) or chips < 2:
            raise ValueError(f"a multi-chip top needs at least 2 chips, not {chips!r}")
        self.config = config
        self.chips = chips
        super().__init__({
            "clk":   In(1),
            "rst":   In(1),
            "epoch": In(1),
            "chip":  Out(_host_signature(config)).array(chips),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        width = link_config(cfg).serdes_width
        signature = chip_signature(cfg)
        for index in range(self.chips):
            host = self.chip[index]
            ports = {}
            for path, member, _ in signature.flatten(signature.create()):
                name = "__".join(str(part) for part in path)
                prefix = "i_" if member.flow is In else "o_"
                if path[0] in ("clk", "rst", "epoch"):
                    value = getattr(self, path[0])
                elif path[0] == "links":
                    _, port, direction, lane = path
                    packed = getattr(host, direction)[port]
                    value = packed[lane * width:(lane + 1) * width]
                else:
                    value = host
                    for part in path:
                        value = value[part] if isinstance(part, int) else getattr(value, part)
                ports[prefix + name] = value
            m.submodules[f"chip{index}"] = Instance(CHIP_MODULE, **ports)
        return m

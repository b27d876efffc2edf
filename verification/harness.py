"""Unit-test harnesses: small Amaranth tops that make a unit testable on its own.

The host interface (:class:`~hdl.host.HostInterface`) is exported as is; an instruction queue
(:class:`~hdl.icu.InstructionControl`) through :class:`QueueHarness`, which predecodes what its
host port writes as the chip's host interface does. A unit that talks to the stream fabric is
wrapped in a :class:`~hdl.fabric.SlicePosition`, so that its testbench drives the stream
registers at the unit's position and observes the registers at the neighbouring positions,
which is where :mod:`isa.timing` defines a result to be. The stream fabric itself is tested
through :class:`FabricHarness`: a row of :class:`ProbeUnit` s built with
:func:`~hdl.fabric.stream_row`.

Every harness uses :data:`UNIT_CONFIG` or a configuration derived from it
(:data:`UNIT_CONFIGS`), which keeps the Verilator builds small.
"""

import hashlib
from pathlib import Path

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdl.fabric import SlicePosition, stream_row
from hdl.host import HostInterface
from hdl.icu import InstructionControl
from hdl.interfaces import HostMemorySignature, StreamTapSignature, stream_bundle
from hdl.mem import MemorySlice
from hdl.mxm import MatrixUnit
from hdl.predecode import predecode
from hdl.sxm import SwitchUnit
from hdl.vxm import VectorUnit
from isa import preset
from isa.formats import WORD_BITS
from sim.verilog import export_component

__all__ = ["UNIT_CONFIG", "MXM_CONFIG", "FOLDED_CONFIG", "VXM_FOLDED_CONFIG", "SXM_CONFIG",
           "SXM_FOLDED_CONFIG",
           "UNIT_CONFIGS", "unit_config", "FABRIC_POSITIONS", "ProbeUnit", "FabricHarness",
           "QueueHarness",
           "mem_harness", "vxm_harness", "mxm_harness", "sxm_harness", "UNITS", "export_unit"]

#: The configuration of the unit harnesses: 16 lanes, 8 streams per direction, 2 VXM ALUs,
#: 256-word SRAMs and 64-instruction queues.
UNIT_CONFIG = preset("tiny").derive(name="unit", streams=8, vxm_alus=2, words=256,
                                    queue_depth=64)
#: The matrix harness: 16 streams per direction (a whole 16 x 16 weight tile in one LW) and 16
#: accumulator rows.
MXM_CONFIG = UNIT_CONFIG.derive(name="unit_mxm", streams=16, mxm_acc_depth=16)
#: The folded matrix harness: 4 rows of multipliers, 4 cycles per activation vector.
FOLDED_CONFIG = MXM_CONFIG.derive(name="unit_mxm_folded", mxm_fold=4)
#: The folded vector harness: 4 lane datapaths per ALU, 4 cycles per operation.
VXM_FOLDED_CONFIG = UNIT_CONFIG.derive(name="unit_vxm_folded", vxm_fold=4)
#: The switch harness: 16 streams (TRANS needs 16) and two superlanes (32 lanes), so that
#: TRANS transposes more than one block.
SXM_CONFIG = UNIT_CONFIG.derive(name="unit_sxm", lanes=32, streams=16)
#: The folded switch harness: 8 lanes moved per cycle, 4 cycles per operation.
SXM_FOLDED_CONFIG = SXM_CONFIG.derive(name="unit_sxm_folded", sxm_fold=4)
#: ``{unit name: configuration}`` of the harnesses that do not use :data:`UNIT_CONFIG`.
UNIT_CONFIGS = {"mxm": MXM_CONFIG, "mxm_folded": FOLDED_CONFIG, "vxm_folded": VXM_FOLDED_CONFIG,
                "sxm": SXM_CONFIG, "sxm_folded": SXM_FOLDED_CONFIG}
#: Positions in the fabric harness.
FABRIC_POSITIONS = 4


class ProbeUnit(wiring.Component):
    """A stand-in unit whose stream tap is driven and observed from outside.

    Members
    -------
    tap : Out(StreamTapSignature)
    clear : In(1)
    east_out, west_out : In(vector_bits).array(streams)
        Sent to the tap's ``*_out``.
    east_we, west_we : In(streams)
        Sent to the tap's ``*_we``.
    east, west : Out(vector_bits).array(streams)
        The stream registers at this position (the tap's inputs).
    """

    def __init__(self, config):
        self.config = config
        super().__init__({
            "tap":      Out(StreamTapSignature(config)),
            "clear":    In(1),
            "east_out": stream_bundle(config, In),
            "east_we":  In(config.streams),
            "west_out": stream_bundle(config, In),
            "west_we":  In(config.streams),
            "east":     stream_bundle(config, Out),
            "west":     stream_bundle(config, Out),
        })

    def elaborate(self, platform):
        m = Module()
        for s in range(self.config.streams):
            m.d.comb += [
                self.tap.east_out[s].eq(self.east_out[s]),
                self.tap.west_out[s].eq(self.west_out[s]),
                self.east[s].eq(self.tap.east[s]),
                self.west[s].eq(self.tap.west[s]),
            ]
        m.d.comb += [self.tap.east_we.eq(self.east_we), self.tap.west_we.eq(self.west_we)]
        return m


class FabricHarness(wiring.Component):
    """A row of ``positions`` :class:`ProbeUnit` s on one stream fabric.

    Members
    -------
    clear : In(1)
        Drives every position's ``clear``.
    east_out, west_out : In(vector_bits).array(positions, streams)
        What the unit at each position sends.
    east_we, west_we : In(streams).array(positions)
        Which streams the unit at each position overwrites.
    east, west : Out(vector_bits).array(positions, streams)
        The stream registers each position sees.
    """

    def __init__(self, config, positions):
        if positions < 2:
            raise ValueError(f"A fabric harness needs at least 2 positions, not {positions}")
        self.config = config
        self.positions = positions
        vector, streams = config.vector_bits, config.streams
        super().__init__({
            "clear":    In(1),
            "east_out": In(vector).array(positions, streams),
            "east_we":  In(streams).array(positions),
            "west_out": In(vector).array(positions, streams),
            "west_we":  In(streams).array(positions),
            "east":     Out(vector).array(positions, streams),
            "west":     Out(vector).array(positions, streams),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        slices = [(f"probe{p}", "probe", lambda: ProbeUnit(config))
                  for p in range(self.positions)]
        placed, _, _ = stream_row(m, config, None, slices)
        for p, position in enumerate(placed):
            m.d.comb += [position.clear.eq(self.clear),
                         position.east_we.eq(self.east_we[p]),
                         position.west_we.eq(self.west_we[p])]
            for s in range(config.streams):
                m.d.comb += [
                    position.east_out[s].eq(self.east_out[p][s]),
                    position.west_out[s].eq(self.west_out[p][s]),
                    self.east[p][s].eq(position.east[s]),
                    self.west[p][s].eq(position.west[s]),
                ]
        return m


class QueueHarness(wiring.Component):
    """An :class:`~hdl.icu.InstructionControl` whose host port takes and returns bare
    instruction words: it adds their :func:`~hdl.predecode.predecode` bits on the way in, as
    the chip's host interface does, and drops them on the way out."""

    def __init__(self, depth):
        self.queue = InstructionControl(depth, blackbox=True)
        members = dict(self.queue.signature.members)
        members["host"] = Out(HostMemorySignature(len(self.queue.host.addr), WORD_BITS))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.queue = queue = self.queue
        for name in ("start", "notify_in"):
            m.d.comb += getattr(queue, name).eq(getattr(self, name))
        for name in ("notify_out", "halting", "running", "error"):
            m.d.comb += getattr(self, name).eq(getattr(queue, name))
        wiring.connect(m, wiring.flipped(self.issue), queue.issue)
        m.d.comb += [
            queue.host.addr.eq(self.host.addr),
            queue.host.we.eq(self.host.we),
            queue.host.wdata.eq(Cat(self.host.wdata, predecode(m, self.host.wdata))),
            self.host.rdata.eq(queue.host.rdata[:WORD_BITS]),
        ]
        return m


def mem_harness(config):
    """A :class:`~hdl.mem.MemorySlice` (``lpu_sram`` SRAM) at its stream position: ports
    ``east_in``/``west_in`` (the registers at the slice) and ``east_next``/``west_next`` (the
    registers one position downstream), plus every member of the slice but its tap."""
    return SlicePosition(config, MemorySlice(config, blackbox=True))


def vxm_harness(config):
    """A :class:`~hdl.vxm.VectorUnit` at its stream position (ports as :func:`mem_harness`)."""
    return SlicePosition(config, VectorUnit(config))


def mxm_harness(config):
    """A :class:`~hdl.mxm.MatrixUnit` (``lpu_sram`` accumulator) at its stream position (ports
    as :func:`mem_harness`)."""
    return SlicePosition(config, MatrixUnit(config, blackbox=True))


def sxm_harness(config):
    """A :class:`~hdl.sxm.SwitchUnit` at its stream position (ports as :func:`mem_harness`)."""
    return SlicePosition(config, SwitchUnit(config))


def unit_config(name):
    """The configuration of unit harness ``name``."""
    return UNIT_CONFIGS.get(name, UNIT_CONFIG)


#: ``{unit name: (toplevel builder, cocotb test module)}``; every builder takes the configuration.
UNITS = {
    "fabric": (lambda config: FabricHarness(config, FABRIC_POSITIONS), "verification.tb_fabric"),
    "mem":    (mem_harness, "verification.tb_mem"),
    "vxm":    (vxm_harness, "verification.tb_vxm"),
    "vxm_folded": (vxm_harness, "verification.tb_vxm_folded"),
    "icu":    (lambda config: QueueHarness(config.queue_depth), "verification.tb_icu"),
    "host":   (HostInterface, "verification.tb_host"),
    "mxm":    (mxm_harness, "verification.tb_mxm"),
    "mxm_folded": (mxm_harness, "verification.tb_mxm"),
    "sxm":    (sxm_harness, "verification.tb_sxm"),
    "sxm_folded": (sxm_harness, "verification.tb_sxm"),
}


def export_unit(name, config=None):
    """The cached Verilog file of unit harness ``name`` (a key of :data:`UNITS`) in
    ``config`` (default: :func:`unit_config`); its module is called ``lpu_<name>``."""
    build, _ = UNITS[name]
    config = unit_config(name) if config is None else config
    # The harnesses are part of the exported design: their source is part of the cache key.
    harness = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return export_component(f"lpu_{name}", lambda: build(config), config=config,
                            parameters=f"{name} {harness}")

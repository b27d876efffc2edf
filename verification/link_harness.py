"""The Verilator top of the link's acceptance tests: two :class:`~hdl.link.link.SerialLink` s,
a sender and a receiver, whose serial lanes the testbench connects through the channel model
(:mod:`verification.channel`).

Each link has its own reset, so that a test can reset either end at any time; both share the
clock and the epoch pulse, as two chips of one system do. Each side's serial lanes are one
port (lane ``l`` in bits ``l * serdes_width`` and up): the testbench moves every lane of a cycle
with one access instead of one per lane, and the per-cycle accesses bound its speed.
"""

import hashlib
import json
from pathlib import Path

from amaranth import *
from amaranth.hdl import ResetInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdl.link.link import COUNTERS, SerialLink
from isa.link import LinkConfig, STAMP_BITS
from sim.env import BUILD
from sim.runner import run_cocotb
from sim.verilog import export_component

__all__ = ["LINK_CONFIGS", "COUNTERS", "LinkPair", "export_link_pair",
           "link_build_dir", "run_link", "figures"]

#: The configurations of the acceptance tests, by name: 16-byte vectors (one frame is one
#: superblock on 4 lanes, so that no frame has padding blocks) and a marker every 16
#: superblocks, at both SerDes widths.
LINK_CONFIGS = {
    "link": LinkConfig(vector_bytes=16, serial_lanes=4, serdes_width=32, marker_period=16),
    "link64": LinkConfig(vector_bytes=16, serial_lanes=4, serdes_width=64, marker_period=16),
}


class LinkPair(wiring.Component):
    """Link ``a`` sends to link ``b`` through lanes that the testbench connects.

    Parameters
    ----------
    link : LinkConfig
        Both links' configuration.

    Members
    -------
    rst_a, rst_b : In(1)
        Hold link ``a`` (``b``) in reset, on top of the top's own reset.
    epoch : In(1)
        Both links' epoch pulse.
    send : In(1), send_data : In(8 * vector_bytes)
        Link ``a``'s SEND.
    tx : Out(serdes_width * serial_lanes)
        Link ``a``'s line words, lane ``l`` in bits ``l * serdes_width`` and up.
    rx : In(serdes_width * serial_lanes)
        Link ``b``'s received line words, packed as ``tx``.
    arrival : Out(1), arrival_data : Out(8 * vector_bytes)
        Link ``b``'s arrivals.
    locked : Out(serial_lanes), aligned : Out(1), synced : Out(1)
        Link ``b``'s status.
    frames_received, crc_errors, line_errors, lock_losses, deskew_failures, late_frames \
: Out(16)
        Link ``b``'s counters.
    send_overruns : Out(16)
        Link ``a``'s counter.
    error : Out(1), error_count_at : Out(16)
        Link ``b``'s sticky error flag and the epoch count of its first error.
    clear : In(1)
        Clears link ``b``'s counters and error flag (and link ``a``'s).
    count_a, count_b : Out(16)
        The links' epoch counters.
    """

    def __init__(self, link):
        if not isinstance(link, LinkConfig):
            raise TypeError(f"LinkPair needs a LinkConfig, not {link!r}")
        self.link = link
        lanes = link.serdes_width * link.serial_lanes
        stamp = STAMP_BITS
        super().__init__({
            "rst_a":           In(1),
            "rst_b":           In(1),
            "epoch":           In(1),
            "send":            In(1),
            "send_data":       In(8 * link.vector_bytes),
            "tx":              Out(lanes),
            "rx":              In(lanes),
            "arrival":         Out(1),
            "arrival_data":    Out(8 * link.vector_bytes),
            "locked":          Out(link.serial_lanes),
            "aligned":         Out(1),
            "synced":          Out(1),
            **{name: Out(16) for name in COUNTERS},
            "error":           Out(1),
            "error_count_at":  Out(stamp),
            "clear":           In(1),
            "count_a":         Out(stamp),
            "count_b":         Out(stamp),
        })

    def elaborate(self, platform):
        m = Module()
        link = self.link
        a, b = SerialLink(link), SerialLink(link)
        m.submodules.a = ResetInserter(self.rst_a)(a)
        m.submodules.b = ResetInserter(self.rst_b)(b)
        width = link.serdes_width
        m.d.comb += [
            a.epoch.eq(self.epoch), b.epoch.eq(self.epoch),
            a.send.eq(self.send), a.send_data.eq(self.send_data),
            a.clear.eq(self.clear), b.clear.eq(self.clear),
            self.tx.eq(Cat(*a.tx)),
            *(b.rx[lane].eq(self.rx[lane * width:(lane + 1) * width])
              for lane in range(link.serial_lanes)),
            self.arrival.eq(b.arrival), self.arrival_data.eq(b.arrival_data),
            self.locked.eq(b.locked), self.aligned.eq(b.aligned), self.synced.eq(b.synced),
            *(getattr(self, name).eq(getattr(b, name)) for name in COUNTERS
              if name != "send_overruns"),
            self.send_overruns.eq(a.send_overruns),
            self.error.eq(b.error), self.error_count_at.eq(b.error_count_at),
            self.count_a.eq(a.count), self.count_b.eq(b.count),
        ]
        return m


def export_link_pair(name):
    """The cached Verilog file of the :class:`LinkPair` of configuration
    :data:`LINK_CONFIGS` ``[name]``; its module is called ``lpu_<name>``."""
    link = LINK_CONFIGS[name]
    # The harness is part of the exported design: its source is part of the cache key.
    harness = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return export_component(f"lpu_{name}", lambda: LinkPair(link),
                            parameters=f"{link!r} {harness}")


def link_build_dir(name):
    """The Verilator build directory of configuration ``name``."""
    return BUILD / "sim" / name


def run_link(testcase=None, *, config="link", full=False, fault=False, run_name="run"):
    """Run the testbench :mod:`verification.tb_link` (all its tests, or ``testcase``) on
    configuration ``config``, at the acceptance counts with ``full``, with its deliberate error
    with ``fault``; returns the run directory (:func:`~sim.runner.run_cocotb`)."""
    env = {"LINK_CONFIG": config, "LINK_FULL": "1" if full else "",
           "LPU_FAULT": "1" if fault else ""}
    return run_cocotb(toplevel=f"lpu_{config}", sources=[export_link_pair(config)],
                      test_module="verification.tb_link", build_dir=link_build_dir(config),
                      testcase=testcase, extra_env=env, run_name=run_name)


def figures(run_dir, name):
    """The figures a test of :mod:`verification.tb_link` wrote in ``run_dir``: ``lock`` (blocks
    to lock: count, median, p99, max), ``fixed_latency`` or ``bit_errors``."""
    return json.loads((Path(run_dir) / f"{name}.json").read_text())

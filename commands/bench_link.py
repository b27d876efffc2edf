"""The link table of ``make bench``: two :class:`~hdl.link.link.SerialLink` s on Verilator
through the channel model (:mod:`verification.tb_link`), at both SerDes widths.

- Payload bandwidth: vectors sent back to back at the SEND interval and all delivered intact,
  in vector bytes per cycle, against the line's raw capacity (``serial_lanes x serdes_width x
  64 / 66`` payload bits per cycle).
- Latency: every SEND-to-arrival time measured, against the declared constant
  (:attr:`~isa.link.LinkConfig.latency`).
- Block lock: blocks from a receiver's reset to lock over lane starts at every bit offset.
"""

from isa.link import BLOCK_BITS, PAYLOAD_BITS
from verification.link_harness import LINK_CONFIGS, figures, run_link

__all__ = ["link_table"]


def link_table(say, table):
    """Run the measurements (``say`` reports progress) and return the table as text."""
    rows = []
    for name, link in LINK_CONFIGS.items():
        say(f"  link {name}: back-to-back vectors ...")
        rate = figures(run_link("throughput", config=name, run_name="bench-throughput"),
                       "throughput")
        say(f"  link {name}: block lock from every bit offset ...")
        lock = figures(run_link("lock_from_every_bit_offset", config=name,
                                run_name="bench-lock"), "lock")
        line = link.serial_lanes * link.serdes_width * PAYLOAD_BITS / BLOCK_BITS / 8
        bandwidth = rate["bytes_per_cycle"]
        measured = "/".join(str(value) for value in rate["latencies"])
        rows.append((
            f"{link.vector_bytes} B, {link.serial_lanes} x {link.serdes_width} bits",
            link.send_interval, f"{bandwidth:.2f}", f"{line:.2f}",
            f"{100 * bandwidth / line:.0f}%", f"{measured} ({rate['frames']} frames)",
            link.latency, f"{lock['median']:g} / {lock['p99']} / {lock['max']}",
        ))
    return table(("link", "SEND interval", "payload B/cycle", "line B/cycle", "efficiency",
                  "latency measured", "declared", "blocks to lock (median / p99 / max)"), rows)

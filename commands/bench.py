"""``make bench``: build time and simulation speed of the RTL, and the GEMM table.

    python -m commands.bench [--preset default] [--set FIELD=VALUE] [--amaranth-cycles 150]
                             [--skip-build] [--no-layers] [--no-link] [--no-system]

Tables (all numbers measured in this run):

1. The Verilator build of the chip, from scratch.
2. Simulation speed: the same programs on Verilator and on Amaranth's own simulator (which
   runs only the first ``--amaranth-cycles`` cycles: it is several thousand times slower), and
   the ratio.
3. GEMMs on the RTL: cycles (simulated = predicted, checked), MXM utilisation (useful MACs /
   (cycles x MXMs x lanes^2)), and for M = 1 the ratio to the weight-streaming bounds: weight
   bytes over what the streams can carry to the MXMs per cycle, and over what the MEM slices
   can read per cycle.
4. Transformer layers (``--no-layers`` leaves them out, as does a preset with folded units):
   all-MiniLM-L6-v2's layer 0 as an encoder layer at 16 and 128 tokens against the MXM bound,
   and as a decoder (a prompt, then one token at a time) against the weight-streaming bound
   (:mod:`commands.bench_layers`).
5. The chip-to-chip link (``--no-link`` leaves it out): payload bandwidth, latency and block
   lock of two links on Verilator (:mod:`commands.bench_link`).
6. Multi-chip systems (``--no-system`` leaves them out, as does a preset with folded units):
   a GEMM split over two chips against the same GEMM on one (:mod:`commands.bench_system`).
7. On a chip with folded units (``PRESET=fpga``): a MiniLM-sized GEMM's cycles and MXM
   utilisation at the folded rates, and its time at the board's clock and at the Fmax of the
   last ``make fpga`` (:mod:`commands.bench_fpga`). The GEMM table's shapes are scaled down
   there to what the preset's SRAM and queues hold.
"""

import argparse
import sys

from golden.archsim import ArchSim
from hdl.chip import CHIP_MODULE
from sim.amaranth_sim import run_on_amaranth
from sim.env import BUILD
from sim.runner import build_model
from sim.verilog import config_directory, export_chip
from verification.compare import compare_runs
from verification.system import run_programs_on_rtl
from .arguments import add_config_arguments, config_from_arguments
from .bench_fpga import bench_cases, fpga_table, is_folded
from .bench_layers import layer_table
from .bench_link import link_table
from .bench_system import SHAPE, system_table

__all__ = ["main"]


def _table(header, rows):
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).rjust(width) if i else str(cell).ljust(width)
                       for i, (cell, width) in enumerate(zip(row, widths)))
             for row in [header] + rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join("  " + line for line in lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu bench",
                                     description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.add_argument("--amaranth-cycles", type=int, default=150,
                        help="cycles to run on Amaranth's simulator (default 150)")
    parser.add_argument("--no-layers", action="store_true",
                        help="leave out the transformer layer table (it compiles for minutes)")
    parser.add_argument("--no-link", action="store_true",
                        help="leave out the link table")
    parser.add_argument("--no-system", action="store_true",
                        help="leave out the multi-chip table")
    parser.add_argument("--skip-build", action="store_true",
                        help="reuse the cached Verilator build instead of timing a clean one")
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)

    def say(message):
        print(message, flush=True)

    say(f"Open LPU bench, preset {config.name!r}: {config.summary()}")
    verilog = export_chip(config, progress=lambda m: say(f"  {m}"))
    build_dir = BUILD / "bench" / f"chip-{config_directory(config).name}"
    if args.skip_build:
        build_seconds = None
    else:
        say("building the Verilator model from scratch ...")
        _, build_seconds = build_model(toplevel=CHIP_MODULE, sources=[verilog], build_dir=build_dir,
                                       clean=True)

    say("compiling the GEMMs ...")
    cases = bench_cases(config, say)
    say("running them on the golden simulator ...")
    golden = [ArchSim(config).execute(case.program) for case in cases]
    say("running them on the RTL ...")
    results = run_programs_on_rtl(config, [c.program for c in cases], name="bench",
                                  build_dir=build_dir)
    for case, g, result in zip(cases, golden, results):
        comparison = compare_runs(case.program, {"golden": g, "rtl": result},
                                  expected={"C": case.expected}, decode=case.kernel.unbind,
                                  name=case.name)
        if not comparison.ok:
            raise SystemExit(f"the bench measures only correct runs:\n{comparison.report()}")

    # Tables 4 and 6 are for unfolded chips: the layers run on `minilm`, and the multi-chip
    # GEMM's operands do not fit a folded (FPGA) preset's SRAM.
    folded = is_folded(config)
    layers = None if args.no_layers or folded else layer_table(say, _table)
    link = None if args.no_link else link_table(say, _table)
    system = None if args.no_system or folded else system_table(say, _table, config)
    fpga = fpga_table(say, _table, config) if folded else None
    speed_case = max(zip(cases, results), key=lambda pair: pair[1].cycles)
    say(f"running the first {args.amaranth_cycles} cycles of {speed_case[0].name} on "
        f"Amaranth's simulator ...")
    amaranth = run_on_amaranth(speed_case[0].program, max_cycles=args.amaranth_cycles)
    if amaranth.cycles == 0:
        raise SystemExit(f"{speed_case[0].name} ran no cycle on Amaranth's simulator: the "
                         f"bench measures only programs that run")

    print()
    print("1. Verilator build (chip top, from scratch)")
    print(_table(("model", "seconds"),
                 [(f"lpu_chip ({config.name})",
                   "cached" if build_seconds is None else f"{build_seconds:.1f}")]))
    print()
    print("2. Simulation speed (run phase: START to DONE; Python idle while the chip runs)")
    verilator_speed = speed_case[1].cycles / speed_case[1].wall_seconds
    print(_table(("program", "cycles", "Verilator cycles/s", "Amaranth cycles/s",
                  "Verilator / Amaranth"),
                 [(speed_case[0].name, speed_case[1].cycles, f"{verilator_speed:,.0f}",
                   f"{amaranth.cycles_per_second:,.1f} ({amaranth.cycles} cycles)",
                   f"{verilator_speed / amaranth.cycles_per_second:,.0f}x")]))
    print()
    print("3. GEMM on the RTL (simulated cycles equal the compiler's prediction; results "
          "bit-exact)")
    lanes, units = config.lanes, 2 * config.mxms
    stream_bytes = units * config.streams * lanes          # to the MXMs, per cycle
    port_bytes = 2 * config.mem_slices * lanes             # MEM reads, per cycle
    rows = []
    for case, result in zip(cases, results):
        kernel = case.kernel
        cycles = result.cycles
        weight_bytes = kernel.k * kernel.n
        if kernel.m == 1:
            bound = (f"{cycles / (weight_bytes / stream_bytes):.2f}x streams, "
                     f"{cycles / (weight_bytes / port_bytes):.2f}x MEM ports")
        else:
            bound = "-"
        rows.append((f"{kernel.m}x{kernel.k}x{kernel.n}", cycles, kernel.predicted_cycles,
                     f"{100 * kernel.utilisation(cycles):.1f}%", bound))
    print(_table(("M x K x N", "cycles", "predicted", "MXM utilisation",
                  "M = 1: cycles / weight-streaming bound"), rows))
    print(f"\n  streams deliver {stream_bytes} B/cycle to the {units} MXMs; MEM slices read "
          f"{port_bytes} B/cycle")
    if layers is not None:
        print()
        print("4. Transformer layers: all-MiniLM-L6-v2 layer 0 (golden simulator cycles, equal "
              "to the prediction; outputs bit-exact)")
        print(layers)
    if link is not None:
        print()
        print("5. Chip-to-chip link: two links on Verilator through the channel model (every "
              "vector delivered intact)")
        print(link)
    if system is not None:
        m, k, n = SHAPE
        print()
        print(f"6. Multi-chip: a {m}x{k}x{n} GEMM split over two chips by output columns, the "
              f"second chip's half gathered over the links (golden simulator cycles, equal to "
              f"every chip's prediction; outputs bit-exact)")
        print(system)
    if fpga is not None:
        print()
        print(f"7. The folded units of preset {config.name!r}: a MiniLM-sized GEMM (compiled "
              f"with SRAM and queues deep enough to hold it; cycles are the compiler's "
              f"prediction, which the RTL regression holds to)")
        print(fpga)
    return 0


if __name__ == "__main__":
    sys.exit(main())

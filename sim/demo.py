"""``make sim``: compile demo programs, run them on the golden simulator and on the RTL
(Verilator), and report bit-exactness, predicted vs simulated cycles, MXM utilisation and
simulation speed.

    python -m sim.demo [--preset default] [--set FIELD=VALUE] [--clock-mhz 900]
"""

import argparse
import sys
import time

import numpy as np

from .export import add_config_arguments, config_from_arguments

__all__ = ["main"]


def _demo_programs(config):
    """``[(name, program, expected regions or decoder, macs)]``."""
    from compiler.elementwise import Graph, compile_graph
    from isa.opcodes import DType, VectorOp
    from verification.gemm_cases import gemm_case

    rng = np.random.default_rng(2026)
    length = 64 * config.lanes
    graph = Graph(length)
    x = graph.input("x", DType.I32)
    residual = graph.input("residual", DType.I8)
    scaled = graph.requantize(graph.op(VectorOp.ADD, x, 1 << 12), multiplier=1518500250,
                              shift=-9)
    graph.output("y", graph.op(VectorOp.ADDS, scaled, residual, dtype=DType.I8))
    kernel = compile_graph(graph, config)
    inputs = {"x": rng.integers(-(1 << 20), 1 << 20, length),
              "residual": rng.integers(-128, 128, length)}
    yield ("requantise + residual", kernel.program(inputs), graph.evaluate(inputs),
           kernel.decode_outputs, 0)
    for m, k, n in [(64, 384, 384), (1, 384, 384)]:
        case = gemm_case(config, m, k, n, seed=1, per_channel=True)
        yield (f"GEMM {m}x{k}x{n}", case.program, {"C": case.expected},
               lambda regions, kernel=case.kernel: {"C": kernel.decode_outputs(regions)},
               case.kernel.macs)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.add_argument("--clock-mhz", type=float, default=900.0,
                        help="clock for the time column (default: 900, the TSP's)")
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)

    from golden.archsim import ArchSim
    from verification.system import run_programs_on_rtl

    def progress(message):
        print(f"  {message}", flush=True)

    print(f"Open LPU demo on preset {config.name!r}: {config.summary()}")
    print("compiling ...", flush=True)
    demos = list(_demo_programs(config))
    print("golden simulator ...", flush=True)
    golden = []
    for name, program, _, _, _ in demos:
        sim = ArchSim(config)
        program.load_into(sim)
        golden.append((sim.run(), program.read_outputs(sim)))
    print("RTL (Verilator; the first run builds the model, a few minutes) ...", flush=True)
    start = time.monotonic()
    rtl = run_programs_on_rtl(config, [d[1] for d in demos], name="demo", progress=progress)
    progress(f"done in {time.monotonic() - start:.1f} s")

    units = 2 * config.mxms
    rows = []
    all_exact = True
    for (name, program, expected, decode, macs), (g, g_regions), r in zip(demos, golden, rtl):
        same_as_golden = all(np.array_equal(r["outputs"][k], g_regions[k]) for k in g_regions)
        outputs = decode(r["outputs"])
        same_as_numpy = all(np.array_equal(outputs[k], v) for k, v in expected.items())
        exact = same_as_golden and same_as_numpy and r["errors"] == 0
        cycle_exact = r["cycles"] == g.cycles == program.predicted_cycles
        all_exact &= exact and cycle_exact
        utilisation = (f"{100 * macs / (r['cycles'] * units * config.lanes ** 2):.1f}%"
                       if macs else "-")
        rows.append((name, "yes" if exact else "NO", str(program.predicted_cycles),
                     str(r["cycles"]), "yes" if cycle_exact else "NO", utilisation,
                     f"{r['cycles'] / args.clock_mhz:.2f}",
                     f"{r['cycles'] / max(r['wall_seconds'], 1e-9):,.0f}"))
    header = ("program", "bit-exact", "predicted", "simulated", "cycle-exact", "MXM util",
              f"us @{args.clock_mhz:g}MHz", "sim cycles/s")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    print()
    for row in [header] + rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    print()
    print("bit-exact against the golden model and NumPy, and cycle-exact: "
          + ("yes" if all_exact else "NO"))
    return 0 if all_exact else 1


if __name__ == "__main__":
    sys.exit(main())

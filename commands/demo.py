"""``make sim``: compile demo programs, run them on the golden simulator and on the RTL
(Verilator), and report bit-exactness, predicted vs simulated cycles, MXM utilisation and
simulation speed.

    python -m commands.demo [--preset default] [--set FIELD=VALUE] [--clock-mhz 900]
                            [--sentence TEXT] [--no-layer]

The last row is all-MiniLM-L6-v2's first encoder layer (its real weights) on a real sentence,
on the ``minilm`` preset (the default chip with the SRAM and instruction queues a MiniLM layer
needs; its Verilator model is built on first use), checked against ``golden.transformer``; the
lines under the table give its latency and tokens/s at the stated clock.
"""

import argparse
import sys

import numpy as np

from compiler.elementwise import compile_graph
from compiler.graph import Graph
from compiler.queues import ScheduleError
from golden.archsim import ArchSim
from golden.transformer.evaluation import EVALUATION_FILE
from isa import preset
from isa.opcodes import DType, VectorOp
from verification.compare import compare_runs
from verification.gemm_cases import gemm_case
from verification.model_runs import layer_run, minilm_model
from verification.programs import composed_case
from verification.reference import evaluate_graph
from verification.system import run_programs_on_rtl
from .arguments import Progress, add_config_arguments, config_from_arguments

__all__ = ["main"]


class _Demo:
    """A demo program with its NumPy expectation, its decoder and its multiply-accumulates."""

    def __init__(self, name, program, expected, decode, kernel=None):
        self.name, self.program, self.expected, self.decode = name, program, expected, decode
        self.kernel = kernel            # a GEMM's kernel, for its utilisation


def _demo_programs(config):
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
    yield _Demo("requantise + residual", kernel.program(inputs),
                evaluate_graph(graph, inputs, config.lanes), kernel.decode_outputs)
    for m, k, n in [(64, 384, 384), (1, 384, 384)]:
        case = _fitting_gemm(config, m, k, n)
        k, n = case.kernel.k, case.kernel.n
        yield _Demo(f"GEMM {m}x{k}x{n}", case.program, {"C": case.expected},
                    case.kernel.unbind, case.kernel)
    case = composed_case(config, seed=1)
    yield _Demo("GEMM -> requantise -> row sum", case.program, case.expected, case.kernel.unbind)


def _fitting_gemm(config, m, k, n):
    """The GEMM case ``m x k x n``, or with ``k`` and ``n`` halved until it fits the preset's
    SRAM and queues (the smallest presets hold no transformer-sized GEMM); raises the last
    :class:`ScheduleError` when not even one vector's width fits."""
    while True:
        try:
            return gemm_case(config, m, k, n, seed=1, per_channel=True)
        except ScheduleError:
            if min(k, n) // 2 < config.lanes:
                raise
            k, n = k // 2, n // 2


def _layer_demo(sentence, progress):
    """``(config, _Demo, tokens)``: MiniLM layer 0 on ``sentence``, on the ``minilm`` preset."""
    config = preset("minilm")
    encoder, tokenizer = minilm_model(log=progress)
    tokens = tokenizer.encode(sentence)
    run = layer_run(config, encoder.layers[0], encoder.tables, encoder.embed(tokens),
                    name=f"MiniLM layer 0, {len(tokens)} tokens")
    return config, _Demo(run.name, run.program, run.expected, run.kernel.unbind,
                         run.kernel), len(tokens)


def _run(config, demos, progress, name):
    """Golden and RTL outcomes of ``demos`` on ``config``."""
    progress(f"running the golden simulator ({config.name})")
    golden = [ArchSim(config).execute(demo.program) for demo in demos]
    progress(f"running the RTL ({config.name}; the first run builds the Verilator model, a "
             f"few minutes)")
    rtl = run_programs_on_rtl(config, [demo.program for demo in demos], name=name,
                              progress=progress)
    return golden, rtl


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu sim",
                                     description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.add_argument("--clock-mhz", type=float, default=900.0,
                        help="clock for the time columns (default: 900, the TSP's)")
    parser.add_argument("--sentence", default=EVALUATION_FILE.read_text().splitlines()[0],
                        help="the sentence of the MiniLM layer row (default: the first of "
                             "golden/transformer/data/evaluation.txt)")
    parser.add_argument("--no-layer", action="store_true",
                        help="leave out the MiniLM layer row")
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)
    progress = Progress(sys.stdout)

    print(f"Open LPU demo on preset {config.name!r}: {config.summary()}")
    progress("compiling")
    try:
        demos = list(_demo_programs(config))
    except ScheduleError as error:
        print(f"error: a demo program does not fit preset {config.name!r}: {error}",
              file=sys.stderr)
        return 1
    golden, rtl = _run(config, demos, progress, "demo")
    layer = None
    if not args.no_layer:
        progress("compiling MiniLM layer 0")
        try:
            layer_config, layer_demo, tokens = _layer_demo(args.sentence, progress)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        layer_golden, layer_rtl = _run(layer_config, [layer_demo], progress, "demo-layer")
        demos.append(layer_demo)
        golden += layer_golden
        rtl += layer_rtl
        layer = (layer_demo, layer_rtl[0], tokens, layer_config)
    progress("done")

    rows = []
    all_ok = True
    for demo, g, r in zip(demos, golden, rtl):
        comparison = compare_runs(demo.program, {"golden": g, "rtl": r},
                                  expected=demo.expected, decode=demo.decode, name=demo.name)
        all_ok &= comparison.ok
        utilisation = (f"{100 * demo.kernel.utilisation(r.cycles):.1f}%"
                       if demo.kernel is not None else "-")
        rows.append((demo.name, "yes" if comparison.bit_exact else "NO",
                     str(demo.program.predicted_cycles), str(r.cycles),
                     "yes" if comparison.cycle_exact else "NO", utilisation,
                     f"{r.cycles / args.clock_mhz:.2f}",
                     f"{r.cycles / max(r.wall_seconds, 1e-9):,.0f}"))
        if not comparison.ok:
            print(comparison.report(), file=sys.stderr)
    header = ("program", "bit-exact", "predicted", "simulated", "cycle-exact", "MXM util",
              f"us @{args.clock_mhz:g}MHz", "sim cycles/s")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    print()
    for row in [header] + rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    print()
    if layer is not None:
        demo, outcome, tokens, layer_config = layer
        latency = outcome.cycles / args.clock_mhz
        print(f"MiniLM layer 0 on {args.sentence!r} ({tokens} tokens, preset "
              f"{layer_config.name!r}): latency {latency:.1f} us per layer at "
              f"{args.clock_mhz:g} MHz, {tokens / latency * 1e6:,.0f} tokens/s per layer "
              f"(one sentence at a time)")
    print("bit-exact against the golden model and NumPy, and cycle-exact: "
          + ("yes" if all_ok else "NO"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

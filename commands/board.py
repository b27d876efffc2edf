"""The board demo: drive the chip on an FPGA board from a PC over the UART-to-AXI4-Lite bridge
(:mod:`sim.board_host`), run a compiled program on it and on the golden simulator, and report
whether the outputs agree bit for bit and the board's cycle counter equals the prediction.

    python -m commands.board --port /dev/ttyUSB0 --preset fpga            # the demo
    python -m commands.board --port /dev/ttyUSB0 --preset fpga --seed 7   # another graph

The program is a random elementwise graph (:func:`verification.programs.graph_case`). A serial
port needs ``pyserial`` (the ``fpga`` extra).
"""

import argparse
import sys
import time

from golden.archsim import ArchSim
from sim.board_host import BoardHost, BridgeClient, BridgeError, SerialTransport
from verification.compare import compare_runs
from verification.programs import graph_case
from .arguments import add_config_arguments, config_from_arguments

__all__ = ["run_demo", "main"]


def run_demo(host, config, seed, *, log=print):
    """Compile the demo graph, run it on ``host`` (a :class:`~sim.board_host.BoardHost`) and
    on the golden simulator; returns whether outputs, cycles and error flags agree."""
    case = graph_case(config, seed)
    program = case.program
    log(f"demo: graph {case.name}, {len(program.queues)} queues, "
        f"predicted {program.predicted_cycles} cycles")
    golden = ArchSim(config).execute(program)
    begin = time.monotonic()
    board = host.execute(program)
    log(f"loaded, ran and read back in {time.monotonic() - begin:.1f} s")
    comparison = compare_runs(program, {"golden": golden, "board": board},
                              expected=case.expected, decode=case.kernel.decode_outputs,
                              name=case.name)
    log(f"board: {board.cycles} cycles, errors {board.errors!r}; golden simulator: "
        f"{golden.cycles} cycles")
    log(f"bit-exact: {'yes' if comparison.bit_exact else 'NO'}; predicted vs measured cycles: "
        f"{program.predicted_cycles} vs {board.cycles} "
        f"({'exact' if comparison.cycle_exact else 'DIFFERENT'})")
    if not comparison.ok:
        log(comparison.report())
    return comparison.ok


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu board",
                                     description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.add_argument("--port", required=True, help="serial port (e.g. /dev/ttyUSB0, COM3)")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--seed", type=int, default=1, help="demo graph seed")
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)
    try:
        transport = SerialTransport(args.port, args.baud)
    except BridgeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        time.sleep(0.05)               # silence: the bridge drops any partial frame
        transport.discard_input()
        host = BoardHost(BridgeClient(transport), config)
        host.check_identity()
        ok = run_demo(host, config, args.seed)
    except BridgeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        transport.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

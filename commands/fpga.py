"""``make fpga`` / ``make fpga-board``: ECP5 synthesis, place-and-route and a resource and
Fmax report, or the ULX3S bitstream (the flow: :mod:`sim.fpga`).

    python -m commands.fpga --preset fpga                 # report for the LFE5U-85F, speed grade 8
    python -m commands.fpga --preset tiny --synth-only    # Yosys only: cell counts, no Fmax
    python -m commands.fpga --preset fpga --board         # the ULX3S bitstream (hdl/board.py)
    python -m commands.fpga --preset fpga --probe lpu_vxm_alu --memories drop   # one unit's cells
    python -m commands.fpga --preset fpga --set mxms=0 --reserve-rows 3   # spread over 2 rows in 3
    python -m commands.fpga --preset fpga --reserve-rows 0   # no rows reserved (default: 1 in 3)
    python -m commands.fpga --preset fpga --seed 4 --attempts 1   # one placement, seed 4
"""

import argparse
import sys

from sim.fpga import (CHIP_RESERVE_PERIOD, CHIP_ROUTE_ATTEMPTS, LFE5U_85F, PROBE_MEMORIES,
                      FpgaError, build_board, place_probe, probe, probe_directory, report_chip,
                      report_directory)
from .arguments import Progress, add_config_arguments, config_from_arguments

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lpu fpga",
                                     description=__doc__.split("\n")[0])
    add_config_arguments(parser, allow_all=False)
    parser.add_argument("--freq", type=float, default=100,
                        help="nextpnr frequency target in MHz (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placer seed")
    parser.add_argument("--attempts", type=int, default=None, metavar="N",
                        help="whole chips: place again with the next seed, up to N seeds, when "
                             "the router diverges or stalls (sim/fpga_router.py; default "
                             f"{CHIP_ROUTE_ATTEMPTS})")
    parser.add_argument("--synth-only", action="store_true", help="stop after Yosys")
    parser.add_argument("--board", action="store_true",
                        help="build the ULX3S 85F bitstream instead of the report")
    parser.add_argument("--baud", type=int, default=115200, help="board UART baud rate")
    parser.add_argument("--reserve-rows", type=int, default=None, metavar="N",
                        help="reserve one row of logic tiles in N for routing, so that the "
                             "placer spreads the chip (sim/fpga_spread.py; N >= 2, 0: none; "
                             f"default {CHIP_RESERVE_PERIOD})")
    parser.add_argument("--probe", metavar="MODULE",
                        help="only synthesise MODULE of the export (lpu_vxm_alu, lpu_chip, ...) "
                             "and print its cells (see probe())")
    parser.add_argument("--memories", choices=sorted(PROBE_MEMORIES), default="keep",
                        help="with --probe: keep, drop or only synthesise its memories")
    parser.add_argument("--blackbox", metavar="MODULE", action="append", default=[],
                        help="with --probe: leave MODULE out (repeatable)")
    parser.add_argument("--place", action="store_true",
                        help="with --probe: also place and route MODULE out of context and "
                             "report its Fmax (see place_probe())")
    args = parser.parse_args(argv)
    config = config_from_arguments(parser, args)
    if args.place and (not args.probe or args.memories != "keep" or args.blackbox):
        parser.error("--place needs --probe MODULE, without --memories or --blackbox")
    if args.reserve_rows is not None and (args.reserve_rows == 1 or args.reserve_rows < 0):
        parser.error(f"--reserve-rows takes a period of at least 2 (0: none), "
                     f"not {args.reserve_rows}")
    if args.attempts is not None and args.attempts < 1:
        parser.error(f"--attempts takes a number of seeds of at least 1, not {args.attempts}")
    for option, value in (("--reserve-rows", args.reserve_rows), ("--attempts", args.attempts)):
        if value is not None and (args.probe or args.synth_only):
            parser.error(f"{option} places a whole chip: not with --probe or --synth-only")
    reserve_period = CHIP_RESERVE_PERIOD if args.reserve_rows is None else args.reserve_rows
    attempts = CHIP_ROUTE_ATTEMPTS if args.attempts is None else args.attempts
    progress = Progress()
    try:
        if args.place:
            report = place_probe(config, args.probe, frequency_mhz=args.freq, seed=args.seed,
                                 progress=progress)
            print(report.markdown())
            print(f"report: {probe_directory(config, args.probe) / 'report.md'}")
            return 0
        if args.probe:
            seconds, cells = probe(config, args.probe, memories=args.memories,
                                   blackbox=args.blackbox, progress=progress)
            for kind, count in sorted(cells.items()):
                print(f"{count:8d}  {kind}")
            print(f"LUT4 sites (LUT4 + 2 x CCU2C): "
                  f"{cells.get('LUT4', 0) + 2 * cells.get('CCU2C', 0)}; {seconds:.0f} s")
            return 0
        if args.board:
            report, bitstream = build_board(config, baud=args.baud, seed=args.seed,
                                            reserve_period=reserve_period,
                                            attempts=attempts, progress=progress)
            print(report.markdown())
            print(f"bitstream: {bitstream}")
            return 0
        result = report_chip(config, frequency_mhz=args.freq, seed=args.seed,
                             synth_only=args.synth_only, reserve_period=reserve_period,
                             attempts=attempts, progress=progress)
    except FpgaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.synth_only:
        for kind, count in sorted(result.items()):
            print(f"{count:8d}  {kind}")
        return 0
    print(result.markdown())
    print(f"report: {report_directory(config, LFE5U_85F) / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

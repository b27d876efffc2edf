"""``lpu``: the one command-line entry point (installed by ``make setup``), whose subcommands
are the project's commands::

    lpu run PROGRAM.s [--engine golden|rtl|both] [--preset P] [--set FIELD=VALUE] ...
    lpu asm PROGRAM.s | lpu disasm PROGRAM.s
    lpu sim | bench | verilog | lint | fpga | embed | timeline | quantize | board | isa-docs

Each subcommand takes the arguments of its module (``lpu sim --preset tiny`` is
``python -m commands.demo --preset tiny``); ``lpu <command> --help`` lists them.
"""

import importlib
import sys

__all__ = ["main", "COMMANDS"]

#: Subcommand -> (module under ``commands``, arguments put first, one-line summary).
COMMANDS = {
    "run": ("run", [], "assemble a program and run it on the golden simulator, the RTL or both"),
    "asm": ("asm", [], "assemble and check a program; print each queue's instruction count"),
    "disasm": ("asm", ["--disassemble"], "print a program's canonical text form"),
    "sim": ("demo", [], "the demo programs and a MiniLM layer on the RTL (make sim)"),
    "bench": ("bench", [], "build time, simulation speed, GEMM and layer tables (make bench)"),
    "verilog": ("verilog", [], "write the chip's Verilog (make verilog)"),
    "soak": ("soak", [], "random programs back to back on the RTL, a million cycles (make soak)"),
    "faults": ("faults", [], "the ECC fault campaign on the RTL, 10,000 injections (make faults)"),
    "lint": ("lint", [], "Verilator lint of the exported Verilog (make lint)"),
    "fpga": ("fpga", [], "ECP5 synthesis and place-and-route (make fpga)"),
    "embed": ("embed", [], "sentence embeddings: integer pipeline, float model, RTL"),
    "timeline": ("timeline", [], "a picture of a compiled program's schedule"),
    "quantize": ("quantize", [], "quantise all-MiniLM-L6-v2 into the integer model"),
    "board": ("board", [], "drive the chip on an FPGA board over its UART"),
    "isa-docs": ("isa_docs", [], "write docs/isa.md from the ISA package"),
}


def usage():
    width = max(map(len, COMMANDS))
    lines = ["usage: lpu COMMAND [ARGUMENTS]  (lpu COMMAND --help for its arguments)", "",
             "commands:"]
    lines += [f"  {name:{width}s}  {summary}" for name, (_, _, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"lpu: error: unknown command {name!r} (commands: {', '.join(COMMANDS)})",
              file=sys.stderr)
        return 2
    module, first, _ = COMMANDS[name]
    command = importlib.import_module(f"commands.{module}")
    try:
        status = command.main(first + rest)
    except KeyboardInterrupt:
        print(f"lpu {name}: interrupted", file=sys.stderr)
        return 130
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())

"""The text of ``docs/isa.md``, generated from the ISA package: presets, floorplan, instruction
formats, the instruction table, latencies, error flags and the host register map (the command
that writes it is ``python -m commands.isa_docs``).
"""

from dataclasses import fields

from . import timing
from .config import PRESETS
from .formats import FORMATS, INSTRUCTIONS, WORD_BITS, Operand
from .geometry import QueueKind, floorplan
from .host import (CHIP_ID, LINK_BASE, LINK_LOCKED_SHIFT, LINK_STRIDE, XFER_DATA_BASE, Control,
                   ErrorFlag, LinkReg, LinkStatus, Reg, Status, XferCommand)
from .opcodes import FIRST_UNIT_OPCODE, OPCODE_BITS

__all__ = ["render"]


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _shape(field):
    if field.shape is Operand:
        return "operand (kind 2, index 5)"
    if isinstance(field.shape, int):
        return f"{'s' if field.signed else 'u'}{field.width}"
    return f"{field.shape.__name__} ({field.width})"


def render():
    out = ["# Instruction set reference",
           "",
           "Generated from `isa/` by `python -m commands.isa_docs`; do not edit (a test checks "
           "it is current).",
           ""]

    out += ["## Presets", ""]
    names = [f.name for f in fields(next(iter(PRESETS.values()))) if f.name != "name"]
    rows = [[name] + [getattr(config, name) for name in names] for name, config in PRESETS.items()]
    out += [_table(["preset"] + names, rows), ""]
    rows = []
    for name, config in PRESETS.items():
        plan = floorplan(config)
        rows.append([name, plan.positions, len(plan.queues), f"{config.sram_bytes // 1024} KiB",
                     2 * config.mxms * config.lanes ** 2])
    out += [_table(["preset", "positions", "queues", "SRAM", "MACs per cycle"], rows), ""]

    plan = floorplan(PRESETS["tiny"])
    out += ["## Floorplan (preset `tiny`)", "",
            "Positions from the west edge; each unit's queues drive it.", ""]
    rows = [[u.position, u.name, ", ".join(q.name for q in plan.queues_of(u))]
            for u in plan.units]
    out += [_table(["position", "unit", "queues"], rows), ""]

    out += ["## Instruction word", "",
            f"Every instruction is {WORD_BITS} bits. Bits {OPCODE_BITS - 1}:0 hold the opcode; "
            f"the format's fields follow from bit {OPCODE_BITS} upwards. "
            f"Opcodes 0-{FIRST_UNIT_OPCODE - 1} are "
            "control instructions every queue executes; opcodes "
            f"{FIRST_UNIT_OPCODE} and up mean different things on "
            "different queue kinds. `REPEAT` adds its stride to the format's *offset field*.",
            ""]
    for fmt in FORMATS.values():
        rows = [[name, f"{lsb + f.width - 1}:{lsb}", _shape(f), f.doc]
                for name, (lsb, f) in fmt.positions.items()]
        offset = f" (offset field: `{fmt.offset}`)" if fmt.offset else ""
        out += [f"### Format `{fmt.name}`{offset}", ""]
        out += [_table(["field", "bits", "type", "meaning"], rows) if rows else "(no fields)", ""]

    out += ["## Instructions", ""]
    for kind in QueueKind:
        specs = [s for s in INSTRUCTIONS if kind in s.queues and s.op.value >= FIRST_UNIT_OPCODE]
        rows = [[s.op.value, f"`{s.mnemonic}`", s.format.name, s.summary] for s in specs]
        out += [f"### Queue kind `{kind.value}` ({kind.name})", "",
                _table(["opcode", "mnemonic", "format", "effect"], rows), ""]
    control = [s for s in INSTRUCTIONS if s.op.value < FIRST_UNIT_OPCODE]
    out += ["### Control (every queue)", "",
            _table(["opcode", "mnemonic", "format", "effect"],
                   [[s.op.value, f"`{s.mnemonic}`", s.format.name, s.summary]
                    for s in control]), ""]

    out += ["## Latencies", "",
            "Cycles from an instruction's issue to its result at the neighbouring position "
            "(see `isa/timing.py` for the whole timing model).", ""]
    rows = [["READ", timing.MEM_READ_LATENCY],
            ["every VXM operation", f"{timing.VXM_LATENCY} unfolded; vxm_fold + "
             f"{timing.VXM_LATENCY - 1 + timing.FOLDED_VXM_STAGES} folded"],
            ["VXM operation -> the same ALU's next operation (at least)", "vxm_fold"],
            ["every SXM operation", f"sxm_fold + {timing.SXM_LATENCY - 1}"],
            ["SXM operation -> the same unit's next operation (at least)", "sxm_fold"],
            ["MM", f"{timing.mxm_latency(PRESETS['default'])} unfolded; "
                   f"mxm_fold + {1 + timing.FOLDED_MXM_STAGES} folded"],
            ["MM -> the same unit's next MM (at least)", "mxm_fold"],
            ["WRITE -> READ of the same word", timing.MEM_WRITE_TO_READ],
            ["LW / LB -> MM with install", timing.LOAD_TO_INSTALL],
            ["NOTIFY -> released queues issue", timing.NOTIFY_TO_ISSUE],
            ["host unload request -> data", timing.HOST_READ_LATENCY],
            ["error or ECC event, or a run's last cycle -> shown in the host registers "
             "(ERRORS, ECC, DONE)", timing.HOST_STATUS_LATENCY],
            ["SEND -> the vector delivered at the link's other end (its RECEIVE's cycle)",
             f"link_latency: {timing.link_latency(PRESETS['default'])} on `default`"],
            ["RECEIVE", timing.LINK_RECEIVE_LATENCY],
            ["SEND -> the next SEND of the same port (at least)",
             f"link_send_interval: {timing.link_send_interval(PRESETS['default'])} on "
             f"`default`"]]
    out += [_table(["what", "cycles"], rows), ""]

    def flags(flag_enum):
        return [[f"0x{int(m):x}", m.name] for m in flag_enum]

    out += ["## Error flags", "", _table(["bit", "flag"], flags(ErrorFlag)), ""]
    out += ["## Host registers (AXI4-Lite, 32-bit)", "",
            f"ID reads `0x{CHIP_ID:08x}`. XFER_DATA word i is at `0x{XFER_DATA_BASE:x} + 4 i`.",
            ""]
    out += [_table(["address", "register"], [[f"0x{int(r):02x}", r.name] for r in Reg]), ""]
    out += [f"Link port k (`Floorplan.link_units` order) has a block of registers from "
            f"`0x{LINK_BASE:x} + 0x{LINK_STRIDE:x} k`:", "",
            _table(["offset", "register"], [[f"0x{int(r):02x}", r.name] for r in LinkReg]), "",
            _table(["link STATUS bit", "name"],
                   [[f"0x{int(m):x}", m.name] for m in LinkStatus] +
                   [[f"bit {LINK_LOCKED_SHIFT} + lane", "LOCKED (each serial lane)"]]), ""]
    out += [_table(["CONTROL bit", "name"], flags(Control)), ""]
    out += [_table(["STATUS bit", "name"], flags(Status)), ""]
    out += [_table(["XFER_CMD", "name"], [[int(c), c.name] for c in XferCommand]), ""]
    return "\n".join(out)

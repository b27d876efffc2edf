"""A program's schedule to look at: every instruction each queue issued, in its cycle, and how
many stream registers hold a value in each cycle, as a Chrome trace-event JSON file (which
Perfetto and ``chrome://tracing`` open) and as an SVG picture.

Both come from one :func:`record` of the program on the golden simulator, stepped cycle by
cycle: the issues are the simulator's issue trace (REPEAT's re-issues included, each at its
cycle), and the occupancy counts the eastward and westward stream registers that carry a value
written during the run (a value stays in the registers, one position a cycle, until a unit
overwrites it or it leaves the chip at an edge: :mod:`isa.timing`).

In the JSON file, one cycle is one microsecond of the viewer's time axis; each queue is a
thread of its unit's process (MEM, VXM, MXM, SXM), each issue a one-cycle slice named by its
mnemonic with the whole instruction in its arguments.
"""

import json
from dataclasses import dataclass, field
from html import escape

import numpy as np

from golden.archsim import ArchSim
from isa.formats import decode
from isa.geometry import QueueKind, floorplan
from .asm import format_instruction

__all__ = ["ScheduleRecord", "record", "chrome_trace", "write_chrome_trace", "schedule_svg"]

#: Unit group of each queue kind: a process of the trace, a colour of the picture.
GROUPS = {QueueKind.MEM_READ: "MEM", QueueKind.MEM_WRITE: "MEM", QueueKind.VXM_ALU: "VXM",
          QueueKind.MXM_LOAD: "MXM", QueueKind.MXM_COMPUTE: "MXM", QueueKind.SXM: "SXM"}
COLOURS = {"MEM": "#4c78a8", "VXM": "#f58518", "MXM": "#54a24b", "SXM": "#b279a2"}


@dataclass
class ScheduleRecord:
    """What :func:`record` saw.

    Attributes
    ----------
    config : ChipConfig
    cycles : int
        The program length.
    issues : list
        ``(cycle, queue number, instruction text, re-issue)`` per issued instruction
        (``re-issue``: by a REPEAT), in cycle order.
    east, west : numpy.ndarray
        Stream registers holding a value in each cycle, per direction (``[cycles]``).
    outcome : RunOutcome
        The run as the golden simulator reports it, output regions included.
    """
    config: object
    cycles: int
    issues: list = field(default_factory=list)
    east: np.ndarray = None
    west: np.ndarray = None
    outcome: object = None


def record(program, *, strict=True, max_cycles=10_000_000):
    """Run ``program`` on the golden simulator cycle by cycle; its :class:`ScheduleRecord`.
    Raises :class:`~golden.archsim.checks.ProgramError` as the simulator does."""
    config = program.config
    plan = floorplan(config)
    # Registers holding a value in cycle c are those the steps before it left: none in cycle 0.
    east, west = [0], [0]

    def count(chip):
        east.append(int(chip.fabric.east_ok.sum()))
        west.append(int(chip.fabric.west_ok.sum()))
    outcome = ArchSim(config, strict=strict).execute(program, trace=True,
                                                     max_cycles=max_cycles, each_cycle=count)
    texts = {}
    issues = []
    for cycle, number, word, offset, _ in outcome.trace:
        if word is None:
            continue
        key = (number, word)
        if key not in texts:
            instr = decode(plan.queues[number].kind, word)
            texts[key] = format_instruction(instr) if instr else f"illegal 0x{word:016x}"
        issues.append((cycle, number, texts[key], bool(offset)))
    return ScheduleRecord(config, outcome.cycles, issues,
                          np.array(east[:outcome.cycles], dtype=np.int64),
                          np.array(west[:outcome.cycles], dtype=np.int64), outcome)


def chrome_trace(schedule):
    """The Chrome trace-event document (a dict to write as JSON) of a :class:`ScheduleRecord`."""
    plan = floorplan(schedule.config)
    processes = {name: pid for pid, name in enumerate(COLOURS, start=1)}
    events = [{"ph": "M", "name": "process_name", "pid": pid, "args": {"name": name}}
              for name, pid in processes.items()]
    events.append({"ph": "M", "name": "process_name", "pid": 0,
                   "args": {"name": "streams"}})
    used = sorted({number for _, number, _, _ in schedule.issues})
    for number in used:
        queue = plan.queues[number]
        events.append({"ph": "M", "name": "thread_name", "pid": processes[GROUPS[queue.kind]],
                       "tid": number, "args": {"name": queue.name}})
        events.append({"ph": "M", "name": "thread_sort_index",
                       "pid": processes[GROUPS[queue.kind]], "tid": number,
                       "args": {"sort_index": number}})
    for cycle, number, text, again in schedule.issues:
        queue = plan.queues[number]
        events.append({"ph": "X", "name": text.split(" ", 1)[0], "cat": GROUPS[queue.kind],
                       "pid": processes[GROUPS[queue.kind]], "tid": number, "ts": cycle,
                       "dur": 1, "args": {"instruction": text, "cycle": cycle,
                                          "repeat": again}})
    # Counters: one sample where the count changes.
    for direction, counts in (("eastward", schedule.east), ("westward", schedule.west)):
        previous = None
        for cycle in range(len(counts)):
            if counts[cycle] != previous:
                previous = int(counts[cycle])
                events.append({"ph": "C", "name": f"{direction} stream registers in use",
                               "pid": 0, "ts": cycle, "args": {"registers": previous}})
    return {"traceEvents": events,
            "otherData": {"preset": schedule.config.name, "cycles": schedule.cycles,
                          "time axis": "1 us = 1 cycle"}}


def write_chrome_trace(schedule, path):
    """Write :func:`chrome_trace` of ``schedule`` to ``path``."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(chrome_trace(schedule), handle)


def schedule_svg(schedule, *, width=960, row=12, title=None):
    """An SVG picture of a :class:`ScheduleRecord`: one row per queue that issued, its issues
    as ticks coloured by unit (a column of ``cycles / width`` cycles shaded by the fraction
    in which the queue issued), and below them the share of each direction's stream registers
    in use (a column's mean). Returns the text."""
    plan = floorplan(schedule.config)
    cycles = max(schedule.cycles, 1)
    columns = min(width, cycles)
    per_column = cycles / columns
    used = sorted({number for _, number, _, _ in schedule.issues})
    counts = np.zeros((len(used), columns))
    index = {number: k for k, number in enumerate(used)}
    for cycle, number, _, _ in schedule.issues:
        counts[index[number], min(int(cycle / per_column), columns - 1)] += 1
    label = 110
    plot = 60
    top = 24
    height = top + row * len(used) + plot + 16
    scale = 1 if columns == width else width / columns
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label + width + 10}" '
             f'height="{height}" font-family="monospace" font-size="10">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="4" y="14">{escape(f"{title}: " if title else "")}'
             f'{schedule.cycles} cycles, preset '
             f'{escape(schedule.config.name)}, {per_column:.3g} cycles per column</text>']
    for k, number in enumerate(used):
        queue = plan.queues[number]
        y = top + k * row
        colour = COLOURS[GROUPS[queue.kind]]
        parts.append(f'<text x="4" y="{y + row - 3}">{escape(queue.name)}</text>')
        # Shades in four steps; a run of columns of one shade is one rectangle, in a group
        # that gives the row's position, height and colour once.
        shades = np.ceil(4 * np.minimum(1.0, counts[k] / per_column)).astype(int)
        parts.append(f'<g transform="translate({label},{y + 1})" fill="{colour}">')
        column = 0
        while column < columns:
            end = column
            while end < columns and shades[end] == shades[column]:
                end += 1
            if shades[column]:
                parts.append(f'<rect x="{round(column * scale, 1):g}" '
                             f'width="{round((end - column) * scale, 1):g}" '
                             f'height="{row - 2}" opacity="{shades[column] / 4:g}"/>')
            column = end
        parts.append("</g>")
    base = top + row * len(used) + plot + 8
    parts.append(f'<text x="4" y="{base - plot // 2}">streams in use</text>')
    per_direction = schedule.config.streams * plan.positions
    for k, (direction, used_registers, colour) in enumerate(
            (("eastward", schedule.east, "#e45756"), ("westward", schedule.west, "#72b7b2"))):
        parts.append(f'<text x="4" y="{base - plot // 2 + 12 * (k + 1)}" fill="{colour}">'
                     f'{direction}</text>')
        if not len(used_registers):
            continue
        edges = np.linspace(0, len(used_registers), columns + 1).astype(int)
        means = [used_registers[a:b].mean() if b > a else 0 for a, b in zip(edges, edges[1:])]
        points = " ".join(f"{label + (c + 0.5) * scale:.1f},{base - plot * m / per_direction:.1f}"
                          for c, m in enumerate(means))
        parts.append(f'<polyline fill="none" stroke="{colour}" points="{points}"/>')
    parts.append(f'<line x1="{label}" y1="{base}" x2="{label + width}" y2="{base}" '
                 f'stroke="#999"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

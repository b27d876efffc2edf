"""A picture of a program: which queue issues what in which cycle.

Runs the program on the golden simulator with tracing and draws one row per busy queue, one
column per cycle: a letter for each issued instruction (its mnemonic's first letter, or
:data:`LETTERS`), upper case for the first issue of a run and lower case for REPEAT's
re-issues, ``.`` for idle. :func:`occupancy` draws a long program (a transformer layer)
coarsely: one column per ``bucket`` cycles, shaded by the fraction of them in which a queue
issued. The command is ``python -m commands.timeline``.
"""

from golden.archsim import ArchSim
from isa.formats import decode
from isa.geometry import floorplan

__all__ = ["timeline", "occupancy", "LETTERS", "SHADES"]

#: Occupancy shades, from idle to busy in every cycle of a column.
SHADES = " .:-=+*#%@"

#: Letters for mnemonics whose first letter another one already uses.
LETTERS = {"lb": "b", "req": "q", "rshr": "h", "rot": "t", "ldc": "k", "lutw": "u"}


def timeline(program, first=0, last=None):
    """The chart of ``program`` for cycles ``first`` .. ``last`` (exclusive), as text."""
    config = program.config
    plan = floorplan(config)
    result = ArchSim(config).execute(program, trace=True)
    last = result.cycles if last is None else min(last, result.cycles)
    rows = {}
    for cycle, number, word, offset, _ in result.trace:
        if word is None or not first <= cycle < last:
            continue
        instr = decode(plan.queues[number].kind, word)
        letter = LETTERS.get(instr.spec.mnemonic, instr.spec.mnemonic[0]) if instr else "?"
        rows.setdefault(number, {})[cycle] = letter.lower() if offset else letter.upper()
    width = last - first
    name_width = max((len(plan.queues[n].name) for n in rows), default=5)
    ruler = "".join("|" if (first + i) % 10 == 0 else " " for i in range(width))
    lines = [f"{'cycle':<{name_width}}  {first}..{last - 1} ({result.cycles} in all)",
             f"{'':<{name_width}}  {ruler}"]
    for number in sorted(rows):
        cells = "".join(rows[number].get(first + i, ".") for i in range(width))
        lines.append(f"{plan.queues[number].name:<{name_width}}  {cells}")
    return "\n".join(lines)


def occupancy(program, bucket):
    """The chart of ``program`` with one column per ``bucket`` cycles: per queue that issued
    at all, a shade of :data:`SHADES` for the fraction of the column's cycles in which it
    issued (``@`` every cycle), the MEM slices' read and write queues summed into one row
    each. Returns text."""
    config = program.config
    plan = floorplan(config)
    result = ArchSim(config).execute(program, trace=True)
    columns = -(-result.cycles // bucket)
    counts = {}
    sizes = {}
    for cycle, number, word, _, _ in result.trace:
        if word is None:
            continue
        name = plan.queues[number].name
        if name.startswith("mem_"):
            name = "mem (all)." + name.rsplit(".", 1)[1]
            sizes.setdefault(name, set()).add(number)
        counts.setdefault(name, [0] * columns)[cycle // bucket] += 1
    order = sorted(counts, key=lambda n: (not n.startswith("mem"), n))
    width = max(len(n) for n in order)
    top = SHADES[-1]
    lines = [f"{'cycle':<{width}}  0..{result.cycles - 1}, {bucket} cycles per column",
             f"{'':<{width}}  " + "".join("|" if i % 10 == 0 else " " for i in range(columns))]
    for name in order:
        capacity = bucket * len(sizes.get(name, (None,)))
        cells = "".join(top if count >= capacity else SHADES[count * (len(SHADES) - 1)
                                                             // capacity]
                        for count in counts[name])
        lines.append(f"{name:<{width}}  {cells}")
    return "\n".join(lines)

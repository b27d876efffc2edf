"""A picture of a program: which queue issues what in which cycle.

Runs the program on the golden simulator with tracing and draws one row per busy queue, one
column per cycle: a letter for each issued instruction (its mnemonic's first letter, or
:data:`LETTERS`), upper case for the first issue of a run and lower case for REPEAT's
re-issues, ``.`` for idle. The command is ``python -m commands.timeline``.
"""

from golden.archsim import ArchSim
from isa.formats import decode
from isa.geometry import floorplan

__all__ = ["timeline", "LETTERS"]

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

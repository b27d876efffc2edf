"""Watching nextpnr-ecp5's router2 converge, so a run that will not route is stopped early.

router2 negotiates congestion: each iteration rips up and reroutes the nets on over-used wires
and raises those wires' costs, and prints one line per iteration
(``Info:     iter=12 wires=926247 overused=1348 overuse=1349 archfail=NA``). On a chip that
fills most of the part, the count of over-used wires either falls to zero (the chip routes) or
falls to a few hundred and then climbs for good (measured on the ``fpga`` chip: 352 at
iteration 25, then 378, 407, ... 1,478 at 43; 772 at 22, then up to 3,123 at 33), and router2
has no iteration limit of its own. Near zero it also hovers for tens of iterations, a few
wires up and down, before it routes (the ALU placed alone: 1 wire over-used from iteration 65
to 93, then 0), so a run is judged first by how far it has climbed from its best, and only
after many iterations by how long since it improved. :class:`RouterWatch` reads the log lines
as they come and says when to stop; the flow (:func:`sim.fpga.route_chip`) then places the
chip again with the next seed.
"""

import re
from dataclasses import dataclass, field

#: One router2 iteration's line in nextpnr's log: its number and the over-used wires left.
ITERATION = re.compile(r"^Info:\s+iter=(\d+)\s+wires=\d+\s+overused=(\d+)\b")


@dataclass
class RouterWatch:
    """Decides, line by line of a nextpnr log, whether router2 has diverged or stalled.

    A run has *diverged* when its over-used wires exceed both ``growth`` times and
    ``margin`` more than the fewest it has reached, and has *stalled* when ``patience``
    iterations have passed without a new fewest. Calling the watch with a log line returns
    ``None`` to go on, or a sentence saying why to stop."""
    growth: float = 2.0
    margin: int = 100
    patience: int = 40
    history: list = field(default_factory=list)     #: [(iteration, over-used wires)]

    def __post_init__(self):
        for name, low in (("growth", 1.0), ("margin", 0), ("patience", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
                raise ValueError(f"RouterWatch {name} must be a number >= {low}, "
                                 f"not {value!r}")

    def __call__(self, line):
        match = ITERATION.match(line)
        if not match:
            return None
        iteration, now = int(match[1]), int(match[2])
        self.history.append((iteration, now))
        # The first iteration with the fewest over-used wires so far.
        best, fewest = min(self.history, key=lambda entry: (entry[1], entry[0]))
        if now > fewest * self.growth and now > fewest + self.margin:
            return (f"router2 diverged: {now} wires over-used at iteration {iteration}, "
                    f"up from {fewest} at iteration {best}")
        if iteration - best >= self.patience:
            return (f"router2 stalled: no fewer than {fewest} wires over-used (iteration "
                    f"{best}) in the {iteration - best} iterations since")
        return None

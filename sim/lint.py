"""``verilator --lint-only -Wall`` on the exported Verilog (the command is ``make lint``,
:mod:`commands.lint`).

Lints the very file ``make verilog`` writes (:func:`sim.verilog.export_chip`) with the waivers of
:data:`WAIVERS` (one file, one reason per line, each scoped to generated Verilog), and the
hand-written ``lpu_sram`` module on its own with no waiver at all. Clean means: Verilator exits
0 and prints no warning.
"""

import collections
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hdl import sram
from hdl.chip import CHIP_MODULE
from .env import BUILD, setup_verilator
from .verilog import export_chip, locked

__all__ = ["WAIVERS", "LintResult", "lint_file", "lint_chip", "lint_sram", "waiver_rules"]

#: The only lint waivers of the project (a Verilator control file).
WAIVERS = Path(__file__).with_name("lint_waivers.vlt")

_WARNING = re.compile(r"^%(Warning|Error)(?:-([A-Z0-9_]+))?:", re.M)


@dataclass
class LintResult:
    """What one Verilator lint run reported."""
    path: Path
    returncode: int
    seconds: float
    output: str
    warnings: collections.Counter = field(default_factory=collections.Counter)
    errors: list = field(default_factory=list)

    @property
    def clean(self):
        return self.returncode == 0 and not self.warnings and not self.errors

    def summary(self):
        if self.clean:
            return f"clean ({self.seconds:.1f} s)"
        parts = [f"{count} {rule}" for rule, count in self.warnings.most_common()]
        parts += [f"error: {line}" for line in self.errors[:5]]
        return f"NOT clean (rc={self.returncode}, {self.seconds:.1f} s): " + ", ".join(parts)


def lint_file(path, top, *, waivers=WAIVERS, extra_args=()):
    """Run ``verilator --lint-only -Wall`` on ``path`` with top module ``top``."""
    setup_verilator()
    command = ["verilator", "--lint-only", "-Wall", "--top-module", top, *extra_args]
    if waivers is not None:
        command.append(str(waivers))
    command.append(str(path))
    begin = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True)
    result = LintResult(Path(path), run.returncode, time.monotonic() - begin,
                        run.stdout + run.stderr)
    for match in _WARNING.finditer(result.output):
        kind, rule = match.groups()
        if kind == "Warning":
            result.warnings[rule or "?"] += 1
        elif not result.output[match.end():].startswith(" Exiting due to"):
            line = result.output[match.start():result.output.find("\n", match.start())]
            result.errors.append(line)
    return result


def lint_chip(config, *, progress=None):
    """Export (if needed) the chip of ``config`` and lint it with the project's waivers."""
    path = export_chip(config, progress=progress)
    if progress:
        progress(f"linting {path}")
    return lint_file(path, CHIP_MODULE)


def lint_sram(module=sram.MODULE_NAME):
    """Lint one hand-written SRAM module of :data:`hdl.sram.VERILOG` (``lpu_sram`` or
    ``lpu_sram_undefined_collision``) on its own, without any waiver."""
    directory = BUILD / "lint"
    with locked(directory):
        path = directory / f"{module}.v"
        if not path.exists() or path.read_text() != sram.MODULES[module]:
            path.write_text(sram.MODULES[module])
        return lint_file(path, module, waivers=None)


def waiver_rules(path=WAIVERS):
    """``[(rule, file glob, match or None, reason)]`` for every ``lint_off`` line of ``path``."""
    pattern = re.compile(r'^lint_off\s+-rule\s+(\S+)\s+-file\s+"([^"]+)"'
                         r'(?:\s+-match\s+"([^"]+)")?\s*(?://\s*(.*))?$')
    rules = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.startswith("lint_off"):
            continue
        match = pattern.match(line)
        if not match:
            raise ValueError(f"{path}:{number}: waiver not of the form "
                             f'lint_off -rule R -file "glob" [-match "text"] // reason')
        rules.append((match[1], match[2], match[3], (match[4] or "").strip()))
    return rules

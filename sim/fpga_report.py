"""The FPGA flow's report (:mod:`sim.fpga`): resources and Fmax read from nextpnr's
``--report`` JSON, the critical path by the design's signal names, and the summary written as
``report.json`` and ``report.md`` beside the run's files.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .fpga_tools import FpgaError

__all__ = ["RESOURCES", "FpgaReport", "path_signals", "parse_pnr_report", "write_report"]

#: Cell types of the nextpnr utilisation report, by the name the report gives them.
_LOGIC_CELLS = "TRELLIS_COMB"
RESOURCES = {_LOGIC_CELLS: "LUT4", "TRELLIS_FF": "FF", "MULT18X18D": "DSP (18x18)",
             "DP16KD": "BRAM (18 Kb)", "TRELLIS_RAMW": "LUTRAM", "TRELLIS_IO": "IO"}


@dataclass
class FpgaReport:
    """Resources and timing of one place-and-route run."""
    config: str
    summary: str
    device: str
    frequency_target_mhz: float
    fmax_mhz: float
    utilisation: dict                   #: {cell type: (used, available)}
    critical_path: list                 #: [(delay ns, kind, "from -> to")]
    critical_path_ns: float
    synth_seconds: float
    pnr_seconds: float
    synth_cells: dict = field(default_factory=dict)
    top: str = ""
    global_nets: list = field(default_factory=list)     #: ["net (N flip-flop controls)"]
    reserve_period: int = 0     #: every n-th row of logic tiles reserved for routing (0: none)
    reserved_luts: int = 0      #: LUT4 sites they take (not in ``utilisation``)
    seed: int = 1               #: nextpnr's seed of the run reported
    stopped: list = field(default_factory=list)     #: ["seed N: why its router was stopped"]

    def row(self):
        """One row of the docs table."""
        def use(kind):
            used, available = self.utilisation.get(kind, (0, 0))
            return f"{used} ({100 * used / available:.0f}%)" if available else str(used)
        return (f"| {self.config} | {use('TRELLIS_COMB')} | {use('TRELLIS_FF')} | "
                f"{use('MULT18X18D')} | {use('DP16KD')} | {self.fmax_mhz:.1f} |")

    def markdown(self):
        lines = [f"# FPGA report: {self.config} on {self.device}", "",
                 f"Configuration: {self.summary}", "",
                 "| preset | LUT4 | FF | DSP 18x18 | BRAM 18 Kb | Fmax (MHz) |",
                 "|---|---|---|---|---|---|", self.row(), "",
                 f"Target {self.frequency_target_mhz:g} MHz; synthesis {self.synth_seconds:.0f} s, "
                 f"place and route {self.pnr_seconds:.0f} s.", ""]
        if self.global_nets:
            lines += ["Nets on global networks besides the clock: " +
                      "; ".join(self.global_nets) + ".", ""]
        lines += [f"nextpnr seed {self.seed}."]
        if self.stopped:
            lines[-1] = (f"nextpnr seed {self.seed}; stopped before it (placed again with the "
                         f"next seed): " + "; ".join(self.stopped) + ".")
        lines += [""]
        if self.reserved_luts:
            lines += [f"One row of logic tiles in {self.reserve_period} reserved for routing "
                      f"({self.reserved_luts} LUT4 sites, not counted above).", ""]
        routing = sum(delay for delay, kind, _ in self.critical_path if kind == "routing")
        lines += [f"Critical path ({self.critical_path_ns:.2f} ns, {routing:.2f} of them "
                  f"routing), through the design's signals:", "",
                  " -> ".join(path_signals(self.critical_path)), "",
                  "Step by step (cell and pin names as nextpnr gives them):", "", "```"]
        lines += [f"{delay:6.2f} ns  {kind:9s} {where}" for delay, kind, where in
                  self.critical_path]
        lines += ["```", ""]
        return "\n".join(lines)


#: Where the names Yosys and nextpnr give mapped cells begin: a design signal's name, then the
#: primitives it was mapped to and their pins (``chip.host.errors_TRELLIS_FF_Q_4_DI_PFUMX_Z``).
_PRIMITIVE_SUFFIX = re.compile(
    r"(_(TRELLIS_FF|TRELLIS_COMB|TRELLIS_DPR16X4|LUT4|CCU2C|PFUMX|L6MUX21|MULT18X18D|"
    r"ALU54B|DP16KD|DCCA)(?=[_.$]|$)|\$CCU2_COMB|\.(ram|mem)\.).*")


def path_signals(critical_path):
    """The design signals a critical path (:attr:`FpgaReport.critical_path`) passes through,
    in order and each once in a row: every step's cell name without the primitive and pin
    names appended to it in mapping. Cells with no design name (``$nextpnr_CCU2C_5``, Yosys'
    ``\\$597``) are left out."""
    signals = []
    for _, _, where in critical_path:
        cell = where.split(" -> ")[-1].rpartition(".")[0]     # a routing step's destination
        name = _PRIMITIVE_SUFFIX.sub("", cell)
        if not name or name.lstrip("\\").startswith("$"):
            continue
        if not signals or signals[-1] != name:
            signals.append(name)
    return signals


def _cell_name(endpoint):
    return f"{endpoint.get('cell', '?')}.{endpoint.get('port', '?')}"


def parse_pnr_report(path):
    """``(fmax MHz, {type: (used, available)}, critical path steps, path ns)`` from nextpnr's
    ``--report`` JSON. The clock with the lowest achieved Fmax is the one reported, with its
    own critical path (between two of its edges) when the report has one."""
    report = json.loads(Path(path).read_text())
    fmax = report.get("fmax", {})
    if not fmax:
        raise FpgaError(f"{path} has no clock: the design has no registers on a clock?")
    clock = min(fmax, key=lambda name: fmax[name]["achieved"])
    fmax_mhz = fmax[clock]["achieved"]
    utilisation = {kind: (entry["used"], entry["available"])
                   for kind, entry in report.get("utilization", {}).items()}
    steps, total = [], 0.0
    paths = [p for p in report.get("critical_paths", []) if p.get("path")]
    own = [p for p in paths
           if p.get("from", "").split()[-1:] == [clock] == p.get("to", "").split()[-1:]]
    if paths:
        worst = max(own or paths, key=lambda p: sum(step["delay"] for step in p["path"]))
        for step in worst["path"]:
            total += step["delay"]
            where = (f"{_cell_name(step['from'])} -> {_cell_name(step['to'])}"
                     if step["type"] == "routing" else _cell_name(step.get("to", step["from"])))
            steps.append((step["delay"], step["type"], where))
    return fmax_mhz, utilisation, steps, total


def write_report(directory, config, device, frequency_mhz, synth_seconds, pnr_seconds, cells,
                 top, promotions=(), reserve_period=0, reserved_luts=0, seed=1, stopped=()):
    """The :class:`FpgaReport` of the nextpnr run in ``directory`` (``device`` as the report
    names it; ``seed`` its seed, ``stopped`` the runs stopped before it), also written there
    as ``report.json`` and ``report.md``. The ``reserved_luts`` LUT4 sites of reserved rows
    are not the design's: they leave its logic-cell count."""
    fmax, utilisation, steps, total = parse_pnr_report(directory / "pnr_report.json")
    if reserved_luts:
        used, available = utilisation[_LOGIC_CELLS]
        utilisation[_LOGIC_CELLS] = (used - reserved_luts, available)
    report = FpgaReport(config.name, config.summary(), device, frequency_mhz, fmax, utilisation,
                        steps, total, synth_seconds, pnr_seconds, synth_cells=cells, top=top,
                        global_nets=[f"{p.net} ({p.loads} flip-flop controls)"
                                     for p in promotions],
                        reserve_period=reserve_period, reserved_luts=reserved_luts,
                        seed=seed, stopped=list(stopped))
    (directory / "report.json").write_text(json.dumps(asdict(report), indent=1))
    (directory / "report.md").write_text(report.markdown())
    return report



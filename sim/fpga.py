"""The FPGA flow: ECP5 synthesis (Yosys ``synth_ecp5``), place-and-route (nextpnr-ecp5,
router2) and a resource and Fmax report, with the YoWASP tools from PyPI (the command is
``make fpga``, :mod:`commands.fpga`). Between the two, whole-chip runs move their widest
flip-flop controls onto global networks (:mod:`sim.fpga_globals`).

The report design is the exported chip (the very file ``make verilog`` writes) inside a thin
shell (:class:`hdl.board.ChipShell`) that brings the AXI4-Lite port to pins and leaves the fast
transfer port idle, as the board does. Outputs go to ``build/fpga/<config>/``: ``synth.log``,
``synth.json``, ``global.json`` (the netlist placed), ``pnr.log``, ``pnr_report.json``
(nextpnr's own), ``report.json`` and ``report.md`` (the summary). Both tools print progress on
stderr while they run; a synthesis or place-and-route failure raises :class:`FpgaError` with
the end of the tool's log.
"""

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from amaranth.back import verilog

from hdl.board import BoardTop, ChipShell, board_plan
from hdl.chip import CHIP_MODULE
from .env import BUILD
from .fpga_globals import promote_file
from .fpga_spread import LFE5U_85F_SLICES, SliceGrid, reserve_file
from .verilog import config_directory, export_chip, locked

__all__ = ["Device", "LFE5U_85F", "ULX3S_85F", "FpgaError", "FpgaReport", "SmokeResult", "tool",
           "smoke_check", "probe", "probe_directory", "place_probe", "synthesize",
           "place_and_route", "promote_globals", "parse_utilisation", "parse_pnr_report",
           "pack_bitstream", "report_chip", "build_board"]


@dataclass(frozen=True)
class Device:
    """An ECP5 part as nextpnr-ecp5 names it."""
    name: str           #: marketing name, for reports
    nextpnr: str        #: nextpnr-ecp5's device option
    package: str
    speed: int
    slices: SliceGrid   #: its logic tiles (:mod:`sim.fpga_spread`)

    def __str__(self):
        return f"{self.name}-{self.speed}{self.package}"


#: The report's device: the part on the ULX3S 85F and ECPIX-5 85 boards, fastest speed grade.
LFE5U_85F = Device("LFE5U-85F", "--85k", "CABGA381", 8, LFE5U_85F_SLICES)
#: The ULX3S 85F board as shipped (speed grade 6).
ULX3S_85F = Device("LFE5U-85F", "--85k", "CABGA381", 6, LFE5U_85F_SLICES)

#: Cell types of the nextpnr utilisation report, by the name the report gives them.
_LOGIC_CELLS = "TRELLIS_COMB"
RESOURCES = {_LOGIC_CELLS: "LUT4", "TRELLIS_FF": "FF", "MULT18X18D": "DSP (18x18)",
             "DP16KD": "BRAM (18 Kb)", "TRELLIS_RAMW": "LUTRAM", "TRELLIS_IO": "IO"}


class FpgaError(RuntimeError):
    """A synthesis, place-and-route or packing run failed; the message ends with its log."""


def tool(name):
    """The command of YoWASP tool ``name`` (``"yosys"``, ``"nextpnr-ecp5"``, ``"ecppack"``)."""
    command = f"yowasp-{name}"
    found = shutil.which(command) or shutil.which(command, path=str(Path(sys.executable).parent))
    if found is None:
        raise FpgaError(f"{command} not found: install the FPGA tools with "
                        f"`pip install -e '.[fpga]'` (make setup does)")
    return found


def _relative(path, cwd):
    """``path`` as the YoWASP tools running in ``cwd`` must be given it.

    The YoWASP runtime mounts a private directory at ``/tmp``, hiding the host's, so an
    absolute path under ``/tmp`` names nothing inside the tools. It also maps the working
    directory and each of its parents by relative path (``.``, ``..``, ``../..``, ...), so a
    path relative to ``cwd`` reaches the file wherever the checkout and the build directory
    are. Every path the flow passes to a tool goes through here."""
    return os.path.relpath(Path(path).resolve(), Path(cwd).resolve())


def _run(command, *, log, cwd, progress, show, heartbeat=30.0):
    """Run ``command`` in ``cwd``, copy its output to ``log`` and pass the lines ``show``
    selects (a function returning a message or None) to ``progress``; print a heartbeat when
    it is quiet. Paths in ``command`` and in the scripts it reads must be relative to ``cwd``
    (:func:`_relative`). Raises :class:`FpgaError` with the end of the log if it fails."""
    begin = time.monotonic()
    lines = queue.Queue()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace")

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    last_shown = time.monotonic()
    last_line = ""
    tail = []
    with open(log, "w") as handle:
        while True:
            try:
                line = lines.get(timeout=heartbeat)
            except queue.Empty:
                if progress:
                    progress(f"  ... still running ({time.monotonic() - begin:.0f} s): "
                             f"{last_line.strip()[:100]}")
                continue
            if line is None:
                break
            handle.write(line)
            handle.flush()          # the log is followed live on long runs (`tail -f`)
            last_line = line
            tail = (tail + [line])[-40:]
            message = show(line)
            if message and progress:
                progress(f"  {message}")
                last_shown = time.monotonic()
            elif progress and time.monotonic() - last_shown > heartbeat:
                progress(f"  ... ({time.monotonic() - begin:.0f} s) {line.strip()[:100]}")
                last_shown = time.monotonic()
    code = process.wait()
    process.stdout.close()
    if code != 0:
        raise FpgaError(f"{Path(command[0]).name} failed (exit {code}) after "
                        f"{time.monotonic() - begin:.0f} s; log {log}:\n{''.join(tail)}")
    return time.monotonic() - begin


_YOSYS_PASS = re.compile(r"^(\d+\.\d+)\. Executing (.*)$")


def _show_yosys(line):
    match = _YOSYS_PASS.match(line)
    if match:
        return f"yosys {match[1]}: {match[2].rstrip('.')}"
    if line.startswith(("ERROR", "Warning: Replacing memory", "Warning: wire")):
        return line.strip()
    return None


_NEXTPNR_SHOWN = re.compile(
    r"^(ERROR|Info: (Packing|Running|Placing|Routing|Setting up|Checksum|Max frequency|"
    r"HeAP Placer Time|Router2 time|Program finished|Device utilisation)|"
    r"Info:\s+(TRELLIS_COMB|TRELLIS_FF|MULT18X18D|DP16KD|TRELLIS_RAMW):|"
    r"Info:\s+iter #?\d+[:=]?|Info:\s+iter=\d+ wires=|Info:\s+at (initial|iteration) #?\d+|"
    r"Info: HPWL after legalise|Info: Legalis|Info: Critical path report|Info: \d+ arcs|"
    r"Info:\s+Running main)")


def _show_nextpnr(line):
    if _NEXTPNR_SHOWN.match(line):
        return "nextpnr: " + line.strip().removeprefix("Info: ").strip()
    return None


def _yosys_reader(source):
    source = Path(source)
    if source.suffix == ".il":
        return f"read_rtlil {source.name}"
    return f"read_verilog -defer {source.name}"


#: Declarations of the ECP5 cells a board design instantiates (the platform's ``SGSR``).
_ECP5_PRIMITIVES = "read_verilog -lib -specify +/ecp5/cells_sim.v +/ecp5/cells_bb.v"


def _elaboration(sources, top, directory, primitives):
    """Copy ``sources`` (Verilog and RTLIL files) into ``directory`` (created if need be);
    returns the Yosys commands that read them, with the ECP5 cell declarations first if
    ``primitives``, and check the hierarchy under ``top``."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for source in sources:
        source = Path(source)
        target = directory / source.name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        names.append(target)
    return [*([_ECP5_PRIMITIVES] if primitives else []),
            *(_yosys_reader(name) for name in names),
            f"hierarchy -check -top {top}"]


def synthesize(sources, top, directory, *, progress=None, nodsp=False, primitives=False):
    """Yosys ``synth_ecp5`` of ``sources`` (Verilog and RTLIL files) into
    ``directory/synth.json``; with ``primitives``, the sources may instantiate ECP5 cells
    (such as the board platform's ``SGSR``), whose declarations are read first. Returns
    ``(seconds, cell counts of the netlist)``."""
    directory = Path(directory)
    script = "\n".join([
        *_elaboration(sources, top, directory, primitives),
        f"synth_ecp5 -top {top} {'-nodsp ' if nodsp else ''}-json synth.json",
        "tee -q -o synth_stat.json stat -json",
        "",
    ])
    if progress:
        progress(f"synthesising {top} with Yosys synth_ecp5 ({directory})")
    return _yosys_cells(directory, "synth", script, top, progress=progress)


def _yosys_cells(directory, name, script, top, *, progress=None):
    """Run the Yosys ``script`` (saved as ``<name>.ys``, which writes ``<name>_stat.json``) in
    ``directory``; returns ``(seconds, {cell type: count})`` of module ``top``."""
    (directory / f"{name}.ys").write_text(script)
    (directory / f"{name}_stat.json").unlink(missing_ok=True)
    seconds = _run([tool("yosys"), "-s", f"{name}.ys"], log=directory / f"{name}.log",
                   cwd=directory, progress=progress, show=_show_yosys)
    stat = json.loads((directory / f"{name}_stat.json").read_text())
    cells = stat.get("design", {}).get("num_cells_by_type") or \
        stat["modules"][f"\\{top}"]["num_cells_by_type"]
    return seconds, dict(cells)


#: The placer of whole-chip runs (``make fpga``, ``make fpga-board``). On the ``fpga`` chip at
#: 77.7% of the logic cells, not timing-driven, HeAP left the router fewer over-used wires
#: than the "static" placer after every iteration (66,362 against 75,560 after the fourth),
#: placing in 9 minutes against 7; docs/fpga.md.
CHIP_PLACER = "heap"
#: Whether whole-chip runs place and route for timing. router2 scales a connection's
#: congestion cost by one less its squared criticality (its path's delay over the longest
#: path's, whatever the target), so the connections of paths nearly as long as the longest
#: barely avoid congestion. Whole chips are routed for congestion alone, and the report
#: still states the timing reached (docs/fpga.md).
CHIP_TIMING_DRIVEN = False
#: Every how many rows of logic tiles whole-chip runs reserve one for routing (0: none;
#: :mod:`sim.fpga_spread`). HeAP packs a chip as densely as it can, whatever its size, and the
#: router then stalls; with one row in four taken, the placer spreads the 8-lane ``fpga`` chip
#: over the other three and the router has their wires and the reserved rows' (docs/fpga.md).
CHIP_RESERVE_PERIOD = 4

#: The netlist whole-chip runs place: ``synth.json`` with its widest flip-flop controls moved
#: onto global networks (:mod:`sim.fpga_globals`).
GLOBAL_NETLIST = "global.json"
#: The netlist whole-chip runs place when rows of logic tiles are reserved for routing
#: (``reserve_period``): :data:`GLOBAL_NETLIST` with the rows taken (:mod:`sim.fpga_spread`).
RESERVED_NETLIST = "reserved.json"


def promote_globals(directory, *, progress=None):
    """Write ``directory/GLOBAL_NETLIST`` from ``directory/synth.json``; returns the
    :class:`~sim.fpga_globals.Promotion` list."""
    promotions = promote_file(directory / "synth.json", directory / GLOBAL_NETLIST)
    if progress:
        for promotion in promotions:
            progress(f"global network for {promotion.net} "
                     f"({promotion.loads} flip-flop controls)")
    return promotions


def place_and_route(directory, device, *, frequency_mhz, seed=1, lpf=None, netlist="synth.json",
                    out_of_context=False, placer="heap", timing_driven=True, progress=None):
    """nextpnr-ecp5 (router2) of ``directory/<netlist>`` for ``device``; writes
    ``pnr_report.json`` and (unless ``out_of_context``) ``pnr.config``. Missing
    ``frequency_mhz`` is not an error: the achieved Fmax is what the report states.
    ``out_of_context`` places a module without IO buffers (its ports stay unplaced, so only
    paths between its registers are timed). ``placer`` is nextpnr's (``heap`` or
    ``static``). Without ``timing_driven`` nextpnr places and routes for wire length and
    congestion alone (``--no-tmdriv``), and still reports the timing it reaches. Returns the
    seconds it took."""
    directory = Path(directory)
    command = [tool("nextpnr-ecp5"), device.nextpnr, "--package", device.package,
               "--speed", str(device.speed), "--json", netlist, "--report", "pnr_report.json",
               "--freq", str(frequency_mhz), "--placer", placer, "--router", "router2",
               "--timing-allow-fail", "--seed", str(seed)]
    if lpf is not None:
        command += ["--lpf", _relative(lpf, directory)]
    # Out of context there is no bitstream to configure.
    command += ["--out-of-context"] if out_of_context else ["--textcfg", "pnr.config"]
    command += [] if timing_driven else ["--no-tmdriv"]
    if progress:
        driven = "timing-driven" if timing_driven else "not timing-driven"
        progress(f"placing and routing for {device} at a {frequency_mhz} MHz target "
                 f"({placer} placer, router2, {driven}, seed {seed})")
    try:
        return _run(command, log=directory / "pnr.log", cwd=directory, progress=progress,
                    show=_show_nextpnr)
    except FpgaError as error:
        over = [f"{kind} {used}/{available} ({100 * used / available:.0f}%)"
                for kind, (used, available) in
                parse_utilisation(directory / "pnr.log").items() if used > available]
        if over:
            raise FpgaError(f"the design does not fit the {device}: {', '.join(over)}; "
                            f"log {directory / 'pnr.log'}") from error
        raise


_UTILISATION = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%")


def parse_utilisation(log):
    """``{cell type: (used, available)}`` from the utilisation table of a nextpnr log."""
    found = {}
    for line in Path(log).read_text(errors="replace").splitlines():
        match = _UTILISATION.match(line)
        if match:
            found[match[1]] = (int(match[2]), int(match[3]))
    return found


def pack_bitstream(directory, name, *, progress=None):
    """``ecppack --compress`` of ``directory/pnr.config`` into ``directory/<name>.bit``."""
    directory = Path(directory)
    if progress:
        progress(f"packing {directory / name}.bit")
    _run([tool("ecppack"), "--compress", "--input", "pnr.config", "--bit", f"{name}.bit"],
         log=directory / "pack.log", cwd=directory, progress=progress, show=lambda line: None)
    return directory / f"{name}.bit"


# ---- The fast synthesis smoke check (default test tier). ----

#: Yosys script of :func:`smoke_check`; ``{source}`` and ``{top}`` are filled in.
SMOKE_SCRIPT = """\
read_verilog {source}
hierarchy -check -top {top}
proc
check -assert
select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr
memory -nomap
tee -q -o memories.txt select -list t:$mem_v2
design -save inferred
memory_libmap -lib +/lattice/lutrams_trellis.txt -lib +/lattice/brams_16kd.txt
tee -q -o unmapped.txt select -list t:$mem_v2
tee -q -o brams.txt select -list t:$__DP16KD_
design -load inferred
flatten
check -assert
"""


@dataclass
class SmokeResult:
    """What :func:`smoke_check` found (it raises :class:`FpgaError` on a latch or a loop)."""
    seconds: float
    memories: list      #: every inferred memory, ``module/name``
    unmapped: list      #: memories that map to neither block RAM nor LUT RAM (flip-flops)
    brams: list         #: ``module/cell`` of every block RAM cell (``$__DP16KD_``)
    log: Path
    mapping: dict = field(default_factory=dict)   #: ``{module/name: RAM primitive}``


def smoke_check(config, *, progress=None):
    """Yosys on the exported chip, without technology mapping of the logic: the processes
    infer no latch, no module has a combinational loop, a multiple driver or an undriven
    wire (``check -assert``, per module and flattened), and memories are inferred as RAM
    and mapped to ECP5 block or LUT RAM where they can be."""
    source = export_chip(config, progress=progress)
    directory = BUILD / "fpga" / f"smoke-{config_directory(config).name}"
    with locked(directory):
        (directory / "smoke.ys").write_text(
            SMOKE_SCRIPT.format(source=_relative(source, directory), top=CHIP_MODULE))
        for name in ("memories.txt", "unmapped.txt", "brams.txt"):
            (directory / name).unlink(missing_ok=True)
        if progress:
            progress(f"Yosys smoke check of {source}")
        seconds = _run([tool("yosys"), "-s", "smoke.ys"], log=directory / "smoke.log",
                       cwd=directory, progress=progress, show=_show_yosys)

        def listed(name):
            return [line.strip() for line in (directory / name).read_text().splitlines()
                    if line.strip()]
        mapping = {f"{match[1]}/{match[2]}": match[3] for match in re.finditer(
            r"^mapping memory (\S+)\.(\w+) via (\S+)$",
            (directory / "smoke.log").read_text(), re.M)}
        return SmokeResult(seconds, listed("memories.txt"), listed("unmapped.txt"),
                           listed("brams.txt"), directory / "smoke.log", mapping)


# ---- Unit probes: the cost of one shared cell, for a design that does not fit. ----

#: How :func:`probe` treats the memories Yosys infers in the probed module and its submodules.
PROBE_MEMORIES = {
    "keep": "",
    # Delete them; their read data become constant zero.
    "drop": "proc\nflatten\nmemory -nomap\ndelete t:$mem_v2\nsetundef -undriven -zero\n",
    # Synthesise only them: moved into a module of their own, which becomes the top. `opt`
    # first, as synth_ecp5 does: it merges a write port's per-bit enables, without which
    # memory_libmap maps every data bit to a RAM cell of its own.
    "only": ("proc\nflatten\nopt -nodffe -nosdff\nmemory -nomap\nopt_clean\n"
             "submod -name {top}_memories {top}/t:$mem_v2\nhierarchy -top {top}_memories\n"),
}

#: Yosys script of :func:`probe`: ``synth_ecp5`` with its LUT mapping step (ABC9) replaced by
#: ABC's classic 4-input LUT mapper, which also completes on the VXM ALU (ABC9 stops on it
#: with exit status 1 and no message, after about 4 minutes).
PROBE_SCRIPT = """\
read_verilog -defer {chip}
read_verilog -defer {shell}
hierarchy -check -top {module}
{blackboxes}{memories}synth_ecp5 -top {top} -run begin:map_luts
techmap -map +/lattice/latches_map.v
abc -lut 4
clean
synth_ecp5 -top {top} -run map_cells:
tee -q -o probe_stat.json stat -json
{netlist}"""


def probe_directory(config, module, *, memories="keep", blackbox=()):
    """Where :func:`probe` and :func:`place_probe` write their files."""
    tag = "-".join([module, memories, *(f"no-{name}" for name in blackbox)])
    return BUILD / "fpga" / f"probe-{config_directory(config).name}" / tag


def probe(config, module, *, memories="keep", blackbox=(), netlist=False, progress=None):
    """The cells of ``module`` of the exported chip of ``config`` (a shared cell such as
    ``lpu_vxm_alu``, the chip ``lpu_chip`` or the report shell ``lpu_fpga_top``), synthesised
    alone with the script :data:`PROBE_SCRIPT`; the modules in ``blackbox`` are left out.
    ``memories`` is a key of :data:`PROBE_MEMORIES`; ``netlist`` also writes the mapped netlist
    (``probe.json``, for :func:`place_probe`). Returns ``(seconds, cell counts)``; a
    ``CCU2C`` (two bits of carry chain) takes two LUT4 sites."""
    if memories not in PROBE_MEMORIES:
        raise ValueError(f"memories must be one of {', '.join(PROBE_MEMORIES)}, "
                         f"not {memories!r}")
    chip = export_chip(config, progress=progress)
    directory = probe_directory(config, module, memories=memories, blackbox=blackbox)
    with locked(directory):
        shell = directory / f"{ChipShell.MODULE}.v"
        shell.write_text(_shell_verilog(config))
        top = f"{module}_memories" if memories == "only" else module
        script = PROBE_SCRIPT.format(
            chip=_relative(chip, directory), shell=shell.name, module=module, top=top,
            blackboxes="".join(f"blackbox {name}\n" for name in blackbox),
            memories=PROBE_MEMORIES[memories].format(top=module),
            netlist="write_json probe.json\n" if netlist else "")
        if progress:
            progress(f"probing {top} of {config.name} ({directory})")
        return _yosys_cells(directory, "probe", script, top, progress=progress)


def place_probe(config, module, *, device=LFE5U_85F, frequency_mhz=100, seed=1, progress=None):
    """Synthesise ``module`` as :func:`probe` does, then place and route it alone, out of
    context (see :func:`place_and_route`): the Fmax of its register-to-register paths, for a
    module of a chip too large for the part. Writes ``report.md`` and ``report.json`` next to
    the probe's files and returns the :class:`FpgaReport`."""
    synth_seconds, cells = probe(config, module, netlist=True, progress=progress)
    directory = probe_directory(config, module)
    with locked(directory):
        pnr_seconds = place_and_route(directory, device, frequency_mhz=frequency_mhz, seed=seed,
                                      netlist="probe.json", out_of_context=True,
                                      progress=progress)
        return _write_report(directory, config, f"{device}, {module} out of context",
                             frequency_mhz, synth_seconds, pnr_seconds, cells, module)


# ---- The report. ----

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


def _write_report(directory, config, device, frequency_mhz, synth_seconds, pnr_seconds, cells,
                  top, promotions=(), reserve_period=0, reserved_luts=0):
    """The :class:`FpgaReport` of the nextpnr run in ``directory`` (``device`` as the report
    names it), also written there as ``report.json`` and ``report.md``. The ``reserved_luts``
    LUT4 sites of reserved rows are not the design's: they leave its logic-cell count."""
    fmax, utilisation, steps, total = parse_pnr_report(directory / "pnr_report.json")
    if reserved_luts:
        used, available = utilisation[_LOGIC_CELLS]
        utilisation[_LOGIC_CELLS] = (used - reserved_luts, available)
    report = FpgaReport(config.name, config.summary(), device, frequency_mhz, fmax, utilisation,
                        steps, total, synth_seconds, pnr_seconds, synth_cells=cells, top=top,
                        global_nets=[f"{p.net} ({p.loads} flip-flop controls)"
                                     for p in promotions],
                        reserve_period=reserve_period, reserved_luts=reserved_luts)
    (directory / "report.json").write_text(json.dumps(asdict(report), indent=1))
    (directory / "report.md").write_text(report.markdown())
    return report


def _shell_verilog(config):
    return verilog.convert(ChipShell(config), name=ChipShell.MODULE, emit_src=False,
                           strip_internal_attrs=True)


def report_directory(config, device):
    return BUILD / "fpga" / f"{config_directory(config).name}-{device.speed}"


def _placed_netlist(directory, device, reserve_period, progress):
    """The netlist a whole-chip run places: :data:`GLOBAL_NETLIST`, or with every
    ``reserve_period``-th row of logic tiles reserved (:data:`RESERVED_NETLIST`). Returns its
    name and the LUT4 sites reserved."""
    if not reserve_period:
        return GLOBAL_NETLIST, 0
    reserved = reserve_file(directory / GLOBAL_NETLIST, directory / RESERVED_NETLIST,
                            device.slices, reserve_period)
    if progress:
        progress(f"one row of logic tiles in {reserve_period} reserved for routing "
                 f"({reserved} LUT4 sites)")
    return RESERVED_NETLIST, reserved


def report_chip(config, *, device=LFE5U_85F, frequency_mhz=100, seed=1, synth_only=False,
                reserve_period=CHIP_RESERVE_PERIOD, progress=None):
    """Export, synthesise, place and route the chip of ``config`` and write the report.
    ``reserve_period`` > 0 reserves every such row of logic tiles for routing
    (:mod:`sim.fpga_spread`; 0: none).

    Returns the :class:`FpgaReport` (or, with ``synth_only``, the synthesised cell counts)."""
    chip = export_chip(config, progress=progress)
    directory = report_directory(config, device)
    with locked(directory):
        shell = directory / f"{ChipShell.MODULE}.v"
        text = _shell_verilog(config)
        if not shell.exists() or shell.read_text() != text:
            shell.write_text(text)
        synth_key = hashlib.sha256(chip.read_bytes() + text.encode()).hexdigest()[:16]
        stamp = directory / "synth.key"
        if (stamp.exists() and stamp.read_text() == synth_key and
                (directory / "synth_stat.json").exists() and (directory / "synth.json").exists()):
            stat = json.loads((directory / "synth_stat.json").read_text())
            cells = stat.get("design", {}).get("num_cells_by_type", {})
            synth_seconds = float((directory / "synth.seconds").read_text())
            if progress:
                progress(f"synthesis of {config.name} is up to date ({directory})")
        else:
            stamp.unlink(missing_ok=True)
            synth_seconds, cells = synthesize([chip, shell], ChipShell.MODULE, directory,
                                              progress=progress)
            (directory / "synth.seconds").write_text(f"{synth_seconds:.1f}")
            stamp.write_text(synth_key)
        if synth_only:
            return cells
        promotions = promote_globals(directory, progress=progress)
        netlist, reserved = _placed_netlist(directory, device, reserve_period, progress)
        pnr_seconds = place_and_route(directory, device, frequency_mhz=frequency_mhz,
                                      seed=seed, placer=CHIP_PLACER, netlist=netlist,
                                      timing_driven=CHIP_TIMING_DRIVEN, progress=progress)
        report = _write_report(directory, config, str(device), frequency_mhz, synth_seconds,
                               pnr_seconds, cells, ChipShell.MODULE, promotions,
                               reserve_period, reserved)
    return report


def _board_files(config, directory, baud):
    """Write the amaranth-boards plan of :class:`hdl.board.BoardTop` into ``directory``;
    returns the names of its RTLIL top and its pin constraints."""
    plan = board_plan(BoardTop(config, baud=baud))
    for name, content in plan.files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(directory / name, mode) as handle:
            handle.write(content)
    il = next(name for name in plan.files if name.endswith(".il"))
    lpf = next(name for name in plan.files if name.endswith(".lpf"))
    return il, lpf


def check_board(config, *, baud=115200, progress=None):
    """Yosys elaborates the board design of ``config`` (the board top, the exported chip and
    the ECP5 cells they instantiate) with ``hierarchy -check``: the first step of
    :func:`build_board`, in seconds. Raises :class:`FpgaError` with the log's error."""
    chip = export_chip(config, progress=progress)
    directory = BUILD / "fpga" / f"board-check-{config_directory(config).name}"
    with locked(directory):
        il, _ = _board_files(config, directory, baud)
        lines = _elaboration([chip, directory / il], Path(il).stem, directory, True)
        (directory / "check.ys").write_text("\n".join([*lines, ""]))
        _run([tool("yosys"), "-s", "check.ys"], log=directory / "check.log", cwd=directory,
             progress=progress, show=_show_yosys)
    return directory / "check.log"


def build_board(config, *, baud=115200, seed=1, reserve_period=CHIP_RESERVE_PERIOD,
                progress=None):
    """The ULX3S 85F bitstream of :class:`hdl.board.BoardTop` for ``config``; returns the
    :class:`FpgaReport` and the path of the ``.bit`` file. ``reserve_period``: as for
    :func:`report_chip`."""
    chip = export_chip(config, progress=progress)
    directory = BUILD / "fpga" / f"board-{config_directory(config).name}"
    with locked(directory):
        il, lpf = _board_files(config, directory, baud)
        top = Path(il).stem
        synth_seconds, cells = synthesize([chip, directory / il], top, directory,
                                          progress=progress, primitives=True)
        promotions = promote_globals(directory, progress=progress)
        netlist, reserved = _placed_netlist(directory, ULX3S_85F, reserve_period, progress)
        pnr_seconds = place_and_route(directory, ULX3S_85F, frequency_mhz=BoardTop.CLOCK_MHZ,
                                      seed=seed, lpf=directory / lpf, placer=CHIP_PLACER,
                                      netlist=netlist, timing_driven=CHIP_TIMING_DRIVEN,
                                      progress=progress)
        report = _write_report(directory, config, f"ULX3S ({ULX3S_85F})", BoardTop.CLOCK_MHZ,
                               synth_seconds, pnr_seconds, cells, top, promotions,
                               reserve_period, reserved)
        if report.fmax_mhz < BoardTop.CLOCK_MHZ:
            raise FpgaError(f"the board design reaches {report.fmax_mhz:.1f} MHz, below the "
                            f"board's {BoardTop.CLOCK_MHZ} MHz clock; see "
                            f"{directory / 'report.md'}")
        bitstream = pack_bitstream(directory, top, progress=progress)
    return report, bitstream

"""The FPGA flow: ECP5 synthesis (Yosys ``synth_ecp5``), place-and-route (nextpnr-ecp5,
router2) and a resource and Fmax report, with the YoWASP tools from PyPI (the command is
``make fpga``, :mod:`commands.fpga`). Between the two, whole-chip runs move their widest
flip-flop controls onto global networks (:mod:`sim.fpga_globals`) and reserve rows of logic
tiles for routing (:mod:`sim.fpga_spread`); their router is watched
(:mod:`sim.fpga_router`), and a placement it cannot route is placed again with the next seed.

The report design is the exported chip (the very file ``make verilog`` writes) inside a thin
shell (:class:`hdl.board.ChipShell`) that brings the AXI4-Lite port to pins and leaves the fast
transfer port idle, as the board does. Outputs go to ``build/fpga/<config>/``: ``synth.log``,
``synth.json``, ``global.json`` and ``reserved.json`` (the netlist placed), ``pnr.log``
(``pnr-seed<N>.log`` for runs stopped), ``pnr_report.json`` (nextpnr's own), ``report.json``
and ``report.md`` (the summary, :mod:`sim.fpga_report`). Both tools print progress on stderr
while they run (:mod:`sim.fpga_tools`); a synthesis or place-and-route failure raises
:class:`FpgaError` with the end of the tool's log.
"""

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import verilog

from hdl.board import BoardTop, ChipShell, board_plan
from hdl.chip import CHIP_MODULE
from .env import BUILD
from .fpga_globals import promote_file
from .fpga_report import FpgaReport, parse_pnr_report, path_signals, write_report
from .fpga_router import RouterWatch
from .fpga_spread import LFE5U_85F_SLICES, SliceGrid, reserve_file
from .fpga_tools import (PLACE_LOG, PLACED_NETLIST, FpgaError, RouterStalled, elaboration,
                         pack_bitstream, parse_utilisation, place_and_route, relative_path,
                         run_tool, show_yosys, synthesize, tool, yosys_cells)
from .verilog import config_directory, export_chip, locked

__all__ = ["Device", "LFE5U_85F", "ULX3S_85F", "FpgaError", "RouterStalled", "FpgaReport",
           "SmokeResult", "tool", "smoke_check", "probe", "probe_directory", "place_probe",
           "synthesize", "PLACE_LOG", "PLACED_NETLIST", "place_and_route", "promote_globals",
           "parse_utilisation", "parse_pnr_report", "path_signals", "write_report",
           "pack_bitstream", "report_chip", "check_board", "route_chip", "build_board"]


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

#: The placer of whole-chip runs (``make fpga``, ``make fpga-board``). On the ``fpga`` chip at
#: 77.7% of the logic cells, not timing-driven, HeAP left the router fewer over-used wires
#: than the "static" placer after every iteration (66,362 against 75,560 after the fourth),
#: placing in 9 minutes against 7; docs/fpga.md.
CHIP_PLACER = "heap"
#: Whether whole-chip runs place for timing, and whether they route for it. router2 scales a
#: connection's congestion cost by one less its squared criticality (its path's delay over the
#: longest path's, whatever the target), so routed for timing, the connections of paths nearly
#: as long as the longest barely avoid congestion and the chip did not route. Whole chips are
#: placed for timing and routed for congestion alone (two nextpnr runs,
#: :func:`~sim.fpga_tools.place_and_route`): 48.6 MHz on the ``fpga`` chip, against 34.7
#: placed and routed for congestion (docs/fpga.md).
CHIP_PLACE_FOR_TIMING = True
CHIP_ROUTE_FOR_TIMING = False
#: Every how many rows of logic tiles whole-chip runs reserve one for routing (0: none;
#: :mod:`sim.fpga_spread`). HeAP packs a chip as densely as it can, whatever its size, and the
#: router then stalls; with one row in three taken, the placer spreads the 8-lane ``fpga`` chip
#: over the other two and the router has their wires and the reserved rows'. One row in four
#: left netlists of the same chip a few gates apart unroutable (docs/fpga.md).
CHIP_RESERVE_PERIOD = 3
#: How many seeds a whole-chip run places and routes with before it gives up: a run whose
#: router diverges or stalls (:class:`~sim.fpga_router.RouterWatch`) is stopped and the chip
#: placed again with the next seed. router2's convergence on a chip this full is chaotic: the
#: same placement flow routes one netlist in 19 iterations and diverges on one a few gates
#: different (docs/fpga.md).
CHIP_ROUTE_ATTEMPTS = 3

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
            SMOKE_SCRIPT.format(source=relative_path(source, directory), top=CHIP_MODULE))
        for name in ("memories.txt", "unmapped.txt", "brams.txt"):
            (directory / name).unlink(missing_ok=True)
        if progress:
            progress(f"Yosys smoke check of {source}")
        seconds = run_tool([tool("yosys"), "-s", "smoke.ys"], log=directory / "smoke.log",
                       cwd=directory, progress=progress, show=show_yosys)

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
            chip=relative_path(chip, directory), shell=shell.name, module=module, top=top,
            blackboxes="".join(f"blackbox {name}\n" for name in blackbox),
            memories=PROBE_MEMORIES[memories].format(top=module),
            netlist="write_json probe.json\n" if netlist else "")
        if progress:
            progress(f"probing {top} of {config.name} ({directory})")
        return yosys_cells(directory, "probe", script, top, progress=progress)


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
        return write_report(directory, config, f"{device}, {module} out of context",
                             frequency_mhz, synth_seconds, pnr_seconds, cells, module)


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


def route_chip(directory, device, *, seed=1, attempts=CHIP_ROUTE_ATTEMPTS, progress=None,
               **options):
    """:func:`place_and_route` of a whole chip in ``directory`` (``options`` are its
    keywords), watched by a :class:`~sim.fpga_router.RouterWatch`: a run whose router diverges
    or stalls is stopped, its log kept as ``pnr-seed<N>.log``, and the chip placed again with
    the next seed, ``attempts`` seeds in all from ``seed``. Returns ``(seconds of every run,
    the seed that routed, [why each earlier seed was stopped])``; raises :class:`FpgaError`
    if none routed."""
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be a whole number >= 1, not {attempts!r}")
    directory = Path(directory)
    seconds, stopped = 0.0, []
    for attempt in range(seed, seed + attempts):
        begin = time.monotonic()
        try:
            seconds += place_and_route(directory, device, seed=attempt, watch=RouterWatch(),
                                       progress=progress, **options)
            return seconds, attempt, stopped
        except RouterStalled as error:
            seconds += time.monotonic() - begin
            shutil.copyfile(directory / "pnr.log", directory / f"pnr-seed{attempt}.log")
            stopped.append(f"seed {attempt}: {error.reason}")
            if progress:
                progress(f"seed {attempt} stopped ({error.reason}); "
                         f"log kept as pnr-seed{attempt}.log")
    raise FpgaError(f"no placement routed with seeds {seed} to {seed + attempts - 1} "
                    f"({'; '.join(stopped)}); logs {directory}/pnr-seed<N>.log. More room for "
                    f"the router (a smaller reserve period) or more attempts may route it")


def report_chip(config, *, device=LFE5U_85F, frequency_mhz=100, seed=1, synth_only=False,
                reserve_period=CHIP_RESERVE_PERIOD, attempts=CHIP_ROUTE_ATTEMPTS,
                progress=None):
    """Export, synthesise, place and route the chip of ``config`` and write the report.
    ``reserve_period`` > 0 reserves every such row of logic tiles for routing
    (:mod:`sim.fpga_spread`; 0: none); up to ``attempts`` seeds from ``seed`` are tried
    (:func:`route_chip`).

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
        pnr_seconds, routed, stopped = route_chip(
            directory, device, seed=seed, attempts=attempts, progress=progress,
            frequency_mhz=frequency_mhz, placer=CHIP_PLACER, netlist=netlist,
            place_for_timing=CHIP_PLACE_FOR_TIMING, route_for_timing=CHIP_ROUTE_FOR_TIMING)
        report = write_report(directory, config, str(device), frequency_mhz, synth_seconds,
                              pnr_seconds, cells, ChipShell.MODULE, promotions,
                              reserve_period, reserved, routed, stopped)
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
        lines = elaboration([chip, directory / il], Path(il).stem, directory, True)
        (directory / "check.ys").write_text("\n".join([*lines, ""]))
        run_tool([tool("yosys"), "-s", "check.ys"], log=directory / "check.log", cwd=directory,
                 progress=progress, show=show_yosys)
    return directory / "check.log"


def build_board(config, *, baud=115200, seed=1, reserve_period=CHIP_RESERVE_PERIOD,
                attempts=CHIP_ROUTE_ATTEMPTS, progress=None):
    """The ULX3S 85F bitstream of :class:`hdl.board.BoardTop` for ``config``; returns the
    :class:`FpgaReport` and the path of the ``.bit`` file. ``reserve_period``, ``seed`` and
    ``attempts``: as for :func:`report_chip`."""
    chip = export_chip(config, progress=progress)
    directory = BUILD / "fpga" / f"board-{config_directory(config).name}"
    with locked(directory):
        il, lpf = _board_files(config, directory, baud)
        top = Path(il).stem
        synth_seconds, cells = synthesize([chip, directory / il], top, directory,
                                          progress=progress, primitives=True)
        promotions = promote_globals(directory, progress=progress)
        netlist, reserved = _placed_netlist(directory, ULX3S_85F, reserve_period, progress)
        pnr_seconds, routed, stopped = route_chip(
            directory, ULX3S_85F, seed=seed, attempts=attempts, progress=progress,
            frequency_mhz=BoardTop.CLOCK_MHZ, lpf=directory / lpf, placer=CHIP_PLACER,
            netlist=netlist, place_for_timing=CHIP_PLACE_FOR_TIMING,
            route_for_timing=CHIP_ROUTE_FOR_TIMING)
        report = write_report(directory, config, f"ULX3S ({ULX3S_85F})", BoardTop.CLOCK_MHZ,
                              synth_seconds, pnr_seconds, cells, top, promotions,
                              reserve_period, reserved, routed, stopped)
        if report.fmax_mhz < BoardTop.CLOCK_MHZ:
            raise FpgaError(f"the board design reaches {report.fmax_mhz:.1f} MHz, below the "
                            f"board's {BoardTop.CLOCK_MHZ} MHz clock; see "
                            f"{directory / 'report.md'}")
        bitstream = pack_bitstream(directory, top, progress=progress)
    return report, bitstream

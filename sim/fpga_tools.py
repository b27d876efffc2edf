"""Running the YoWASP tools of the FPGA flow (:mod:`sim.fpga`): Yosys ``synth_ecp5``,
nextpnr-ecp5 (router2, watched by :class:`sim.fpga_router.RouterWatch`) and ``ecppack``, each
in its build directory with paths relative to it, its output copied to a log and its progress
passed on. A failure raises :class:`FpgaError` with the end of the tool's log.
"""

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

__all__ = ["FpgaError", "RouterStalled", "tool", "relative_path", "run_tool", "synthesize",
           "elaboration", "yosys_cells", "PLACED_NETLIST", "PLACE_LOG", "place_and_route",
           "parse_utilisation", "pack_bitstream"]


class FpgaError(RuntimeError):
    """A synthesis, place-and-route or packing run failed; the message ends with its log."""


class RouterStalled(FpgaError):
    """nextpnr was stopped because its router diverged or stalled
    (:class:`~sim.fpga_router.RouterWatch`); ``reason`` says how far it got."""

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


def tool(name):
    """The command of YoWASP tool ``name`` (``"yosys"``, ``"nextpnr-ecp5"``, ``"ecppack"``)."""
    command = f"yowasp-{name}"
    found = shutil.which(command) or shutil.which(command, path=str(Path(sys.executable).parent))
    if found is None:
        raise FpgaError(f"{command} not found: install the FPGA tools with "
                        f"`pip install -e '.[fpga]'` (make setup does)")
    return found


def relative_path(path, cwd):
    """``path`` as the YoWASP tools running in ``cwd`` must be given it.

    The YoWASP runtime mounts a private directory at ``/tmp``, hiding the host's, so an
    absolute path under ``/tmp`` names nothing inside the tools. It also maps the working
    directory and each of its parents by relative path (``.``, ``..``, ``../..``, ...), so a
    path relative to ``cwd`` reaches the file wherever the checkout and the build directory
    are. Every path the flow passes to a tool goes through here."""
    return os.path.relpath(Path(path).resolve(), Path(cwd).resolve())


def run_tool(command, *, log, cwd, progress, show, stop=None, heartbeat=30.0):
    """Run ``command`` in ``cwd``, copy its output to ``log`` and pass the lines ``show``
    selects (a function returning a message or None) to ``progress``; print a heartbeat when
    it is quiet. ``stop``, if given, sees every line too: when it returns a reason, the tool
    is terminated and :class:`RouterStalled` raised with it. Paths in ``command`` and in the
    scripts it reads must be relative to ``cwd`` (:func:`relative_path`). Raises
    :class:`FpgaError` with the end of the log if it fails."""
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
            reason = stop(line) if stop else None
            if reason:
                process.terminate()
                process.wait()
                process.stdout.close()
                handle.write(f"[stopped: {reason}]\n")
                raise RouterStalled(f"{Path(command[0]).name} stopped after "
                                    f"{time.monotonic() - begin:.0f} s: {reason}; log {log}",
                                    reason)
    code = process.wait()
    process.stdout.close()
    if code != 0:
        raise FpgaError(f"{Path(command[0]).name} failed (exit {code}) after "
                        f"{time.monotonic() - begin:.0f} s; log {log}:\n{''.join(tail)}")
    return time.monotonic() - begin


_YOSYS_PASS = re.compile(r"^(\d+\.\d+)\. Executing (.*)$")


def show_yosys(line):
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


def show_nextpnr(line):
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


def elaboration(sources, top, directory, primitives):
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
        *elaboration(sources, top, directory, primitives),
        f"synth_ecp5 -top {top} {'-nodsp ' if nodsp else ''}-json synth.json",
        "tee -q -o synth_stat.json stat -json",
        "",
    ])
    if progress:
        progress(f"synthesising {top} with Yosys synth_ecp5 ({directory})")
    return yosys_cells(directory, "synth", script, top, progress=progress)


def yosys_cells(directory, name, script, top, *, progress=None):
    """Run the Yosys ``script`` (saved as ``<name>.ys``, which writes ``<name>_stat.json``) in
    ``directory``; returns ``(seconds, {cell type: count})`` of module ``top``."""
    (directory / f"{name}.ys").write_text(script)
    (directory / f"{name}_stat.json").unlink(missing_ok=True)
    seconds = run_tool([tool("yosys"), "-s", f"{name}.ys"], log=directory / f"{name}.log",
                       cwd=directory, progress=progress, show=show_yosys)
    stat = json.loads((directory / f"{name}_stat.json").read_text())
    cells = stat.get("design", {}).get("num_cells_by_type") or \
        stat["modules"][f"\\{top}"]["num_cells_by_type"]
    return seconds, dict(cells)


#: The placed netlist a placement run (:func:`place_and_route` with ``place_for_timing`` but not
#: ``route_for_timing``) writes for the routing run, and the placement run's log.
PLACED_NETLIST = "placed.json"
PLACE_LOG = "place.log"


def place_and_route(directory, device, *, frequency_mhz, seed=1, lpf=None, netlist="synth.json",
                    out_of_context=False, placer="heap", place_for_timing=True,
                    route_for_timing=True, watch=None, progress=None):
    """nextpnr-ecp5 (router2) of ``directory/<netlist>`` for ``device``; writes ``pnr.log``,
    ``pnr_report.json`` and (unless ``out_of_context``) ``pnr.config``. Missing
    ``frequency_mhz`` is not an error: the achieved Fmax is what the report states.
    ``out_of_context`` places a module without IO buffers (its ports stay unplaced, so only
    paths between its registers are timed). ``placer`` is nextpnr's (``heap`` or
    ``static``). ``place_for_timing`` and ``route_for_timing`` say whether the placer and the
    router weigh timing as well as wire length and congestion (nextpnr's ``--no-tmdriv``
    turns off both; the report states the timing reached either way). Placed for timing and
    routed for congestion alone, nextpnr runs twice: the placement run (log
    :data:`PLACE_LOG`) writes :data:`PLACED_NETLIST`, which the routing run routes. ``watch``
    (a :class:`~sim.fpga_router.RouterWatch`) stops a router that diverges or stalls, raising
    :class:`RouterStalled`. Returns the seconds it took."""
    if route_for_timing and not place_for_timing:
        raise ValueError("place_and_route: routing for timing needs placing for timing")
    directory = Path(directory)
    common = [tool("nextpnr-ecp5"), device.nextpnr, "--package", device.package,
              "--speed", str(device.speed), "--freq", str(frequency_mhz), "--placer", placer,
              "--router", "router2", "--timing-allow-fail", "--seed", str(seed)]
    if lpf is not None:
        common += ["--lpf", relative_path(lpf, directory)]
    # Out of context there is no bitstream to configure.
    outputs = ["--report", "pnr_report.json",
               *(["--out-of-context"] if out_of_context else ["--textcfg", "pnr.config"])]
    two_runs = place_for_timing and not route_for_timing
    if progress:
        how = {(True, True): "placed and routed for timing",
               (True, False): "placed for timing, then routed for congestion alone",
               (False, False): "placed and routed for wire length and congestion"}
        progress(f"placing and routing for {device} at a {frequency_mhz} MHz target "
                 f"({placer} placer, router2, {how[place_for_timing, route_for_timing]}, "
                 f"seed {seed})")
    log = directory / "pnr.log"
    seconds = 0.0
    try:
        if two_runs:
            log = directory / PLACE_LOG
            seconds += run_tool([*common, "--json", netlist, "--no-route", "--write",
                                 PLACED_NETLIST], log=log, cwd=directory, progress=progress,
                                show=show_nextpnr)
            log = directory / "pnr.log"
            return seconds + run_tool(
                [*common, "--json", PLACED_NETLIST, "--no-pack", "--no-place", "--no-tmdriv",
                 *outputs], log=log, cwd=directory, progress=progress, show=show_nextpnr,
                stop=watch)
        return run_tool([*common, "--json", netlist, *outputs,
                         *([] if place_for_timing else ["--no-tmdriv"])],
                        log=log, cwd=directory, progress=progress, show=show_nextpnr,
                        stop=watch)
    except RouterStalled:
        raise
    except FpgaError as error:
        over = [f"{kind} {used}/{available} ({100 * used / available:.0f}%)"
                for kind, (used, available) in parse_utilisation(log).items()
                if used > available]
        if over:
            raise FpgaError(f"the design does not fit the {device}: {', '.join(over)}; "
                            f"log {log}") from error
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
    run_tool([tool("ecppack"), "--compress", "--input", "pnr.config", "--bit", f"{name}.bit"],
             log=directory / "pack.log", cwd=directory, progress=progress, show=lambda line: None)
    return directory / f"{name}.bit"



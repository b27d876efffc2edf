"""Waveforms of a program run: cut the VCD a traced Verilator model writes down to the signals
a user follows and to a window of the program's cycles.

A traced chip model dumps every signal of the whole simulation (the host's loads included):
tens of thousands of signals. :func:`cut_vcd` keeps those whose dotted path below the chip
top matches one of the patterns (:data:`DEFAULT_SIGNALS`: the clock, the run state and the
program's cycle counter, every queue's program counter and issued instruction, the VXM's ALU
results, and the stream registers beside chosen units), and the value changes from the clock
period in which the chip's cycle counter reads ``first`` to the one in which it reads ``last``
(program cycles, 0 being the cycle the program starts in). The file stays a VCD that GTKWave
and Surfer open.
"""

import fnmatch
import re

__all__ = ["DEFAULT_SIGNALS", "stream_signals", "cut_vcd", "WavesError", "read_vcd_header"]

#: The chip top's module name in the dump, whose signals the patterns name.
TOP = "lpu_chip"

#: Signals kept by default (patterns of dotted paths below the chip top).
DEFAULT_SIGNALS = (
    "clk", "running", "done", "cycle", "errors",
    "q*_*.pc", "q*_*.issue__valid", "q*_*.issue__word", "q*_*.issue__offset",
    "vxm.unit.result_*",
)


class WavesError(ValueError):
    """A window or signal selection the dump cannot give (the message says why)."""


def stream_signals(units):
    """Patterns of the eastward and westward stream registers beside each of ``units`` (unit
    names: ``vxm``, ``mem_w0``, ``mxm_e0``, ``sxm_w0``, ...)."""
    return tuple(f"{unit}.{hop}_hop.value_*" for unit in units for hop in ("east", "west"))


class _Var:
    __slots__ = ("code", "path", "index")

    def __init__(self, code, path, index):
        self.code, self.path, self.index = code, path, index


def read_vcd_header(handle):
    """``(header lines, [_Var])`` of an open VCD: every line up to ``$enddefinitions``, and
    each variable with its code, its dotted path below :data:`TOP` (``None`` outside it) and
    the number of its header line."""
    header, variables, scope = [], [], []
    for line in handle:
        header.append(line)
        words = line.split()
        if not words:
            continue
        if words[0] == "$scope":
            scope.append(words[2])
        elif words[0] == "$upscope":
            scope.pop()
        elif words[0] == "$var":
            inside = TOP in scope
            path = ".".join(scope[scope.index(TOP) + 1:] + [words[4]]) if inside else None
            variables.append(_Var(words[3], path, len(header) - 1))
        elif words[0] == "$enddefinitions":
            return header, variables
    raise WavesError("the waveform file ends inside its header")


def _select(variables, patterns):
    """The variables matching ``patterns``. A pattern of :data:`DEFAULT_SIGNALS` may match
    nothing (a chip with one VXM ALU has its result only as ``vxm.unit.alu0.result``); any other
    pattern names signals the user asked for, and must match."""
    kept = [v for v in variables if v.path is not None and
            any(fnmatch.fnmatchcase(v.path, pattern) for pattern in patterns)]
    unmatched = [p for p in patterns if p not in DEFAULT_SIGNALS and
                 not any(fnmatch.fnmatchcase(v.path, p) for v in kept)]
    if unmatched:
        raise WavesError(f"no signal of the chip matches {', '.join(map(repr, unmatched))}")
    return kept


def _code_of(variables, path):
    for v in variables:
        if v.path == path:
            return v.code
    raise WavesError(f"the waveform has no signal {TOP}.{path}")


def _changes(handle):
    """``(time, code, value text)`` per value change of the VCD body."""
    time = 0
    for line in handle:
        line = line.strip()
        if not line or line.startswith("$"):
            continue
        if line[0] == "#":
            time = int(line[1:])
            continue
        if line[0] in "bBrR":
            value, code = line.split()
            yield time, code, value
        else:
            yield time, line[1:], line[0]


def _number(value):
    digits = value[1:] if value[0] in "bB" else value
    return int(digits, 2) if re.fullmatch(r"[01]+", digits) else None


def cut_vcd(source, target, *, first, last, patterns=DEFAULT_SIGNALS):
    """Write to ``target`` the signals of ``source`` matching ``patterns`` over program cycles
    ``first`` .. ``last``; returns ``(signals written, clock periods in the window)``."""
    if not 0 <= first <= last:
        raise WavesError(f"the window must be 0 <= first <= last, not {first} .. {last}")
    with open(source, encoding="ascii", errors="replace") as handle:
        header, variables = read_vcd_header(handle)
        kept = _select(variables, patterns)
        codes = {v.code for v in kept}
        clock, running, cycle = (_code_of(variables, name) for name in ("clk", "running",
                                                                        "cycle"))
        state = {}                  # code -> value text, of every kept signal and the three
        begin = end = None
        pending = []
        periods = 0
        for time, code, value in _changes(handle):
            if code in codes or code in (clock, running, cycle):
                before = state.get(code)
                state[code] = value
            else:
                continue
            if begin is None:
                on = _number(state.get(running, "0")) == 1
                if on and _number(state.get(cycle, "x")) == first:
                    begin = time
                    initial = {c: state[c] for c in codes if c in state}
                continue
            if code in codes:
                pending.append((time, code, value))
            if code == clock and value == "1" and before != "1":
                periods += 1
            if (code == cycle and _number(value) is not None and _number(value) > last) or \
                    (code == running and value == "0"):
                end = time
                break
    if begin is None:
        raise WavesError(f"the program never reached cycle {first} (the run is shorter)")
    # The changes in the window's first instant belong to its initial values.
    for when, code, value in pending:
        if when == begin:
            initial[code] = value
    pending = [change for change in pending
               if begin < change[0] and (end is None or change[0] < end)]
    with open(target, "w", encoding="ascii") as out:
        out.write(_header(header, {v.index for v in kept}))
        out.write(f"#{begin}\n$dumpvars\n")
        for code, value in sorted(initial.items()):
            out.write(_change(code, value))
        out.write("$end\n")
        time = begin
        for when, code, value in pending:
            if when != time:
                out.write(f"#{when}\n")
                time = when
            out.write(_change(code, value))
        if end is not None:
            out.write(f"#{end}\n")
    return len(kept), periods


def _change(code, value):
    return f"{value} {code}\n" if value[0] in "bBrR" else f"{value}{code}\n"


def _header(lines, kept):
    """The header with only the variable lines numbered in ``kept`` and the scopes holding
    them."""
    out, scopes = [], []        # scopes: [line, written] of the open scopes
    for number, line in enumerate(lines):
        words = line.split()
        if words and words[0] == "$scope":
            scopes.append([line, False])
        elif words and words[0] == "$upscope":
            opened = scopes.pop()
            if opened[1]:
                out.append(line)
        elif words and words[0] == "$var":
            if number in kept:
                for opened in scopes:
                    if not opened[1]:
                        out.append(opened[0])
                        opened[1] = True
                out.append(line)
        else:
            out.append(line)
    return "".join(out)

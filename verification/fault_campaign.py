"""The ECC fault campaign: many injections of one or two flipped bits into stored SRAM words
while programs of the regression run on the RTL, each classified against an oracle derived
from the golden simulator.

Planning (:func:`plan_campaign`, in the pytest or command process): for each program, one
traced golden run gives its clean outputs and every READ issue, hence for each word the
cycles it is read in. An injection targets a word the program loads and reads but never
writes: a single flip (one bit, data or check, anywhere in the stored word) or a double flip
(two bits of one code word). Its expectation follows from the read schedule alone, without
another golden run:

- single: the outputs equal the clean run's, ``ECC_CORRECTED`` counts every read of the word,
  nothing is flagged;
- double: ``ECC_UNCORRECTABLE`` counts every read of the word, ERRORS holds
  ``ECC_UNCORRECTABLE`` on the slice's read queue at the cycle after the first read, and the
  first-error registers name the word.

Running (:mod:`verification.tb_fault_campaign`): the chip is reset once; each program is
loaded once and then, per injection, the loaded words the program overwrites are reloaded, the
bits are flipped, the program runs, its outputs and registers are read, and the same bits are
flipped back (the program never writes the word, so this restores it).

Classification (:func:`classify`): ``corrected`` and ``flagged`` are the two right answers;
``silent`` is an output that differs from the clean run with nothing flagged (the failure ECC
exists to prevent); ``wrong`` is anything else (a count, a flag or a first-error register that
differs from the expectation).
"""

import pickle
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from golden.archsim import ArchSim
from hdl.chip import CHIP_MODULE
from isa.ecc import DATA_BITS, code_word_bits
from isa.formats import decode
from isa.geometry import QueueKind, floorplan
from isa.host import EccReport, ErrorFlag
from sim.runner import run_cocotb
from sim.verilog import export_chip
from .faults import code_bits
from .regression import assembly, composed, graph, reduction, switch
from .system import chip_build_dir, progress_file

__all__ = ["Injection", "CampaignProgram", "CampaignReport", "plan_campaign", "classify",
           "run_campaign", "CLASSES", "campaign_programs"]

#: The verdicts, the first two right.
CLASSES = ("corrected", "flagged", "silent", "wrong")


@dataclass(frozen=True)
class Injection:
    """Bits ``bits`` of word ``address`` of SRAM ``slice`` flipped before program
    ``program`` (an index into the campaign's programs) runs."""
    program: int
    kind: str               # "single" or "double"
    slice: int
    address: int
    bits: tuple


@dataclass
class CampaignProgram:
    """A program of the campaign with its clean golden run and read schedule."""
    name: str
    program: object
    outputs: dict                       # the clean run's output regions
    cycles: int
    reads: dict = field(default_factory=dict)   # (slice, address) -> [cycles read]
    read_queue: dict = field(default_factory=dict)  # slice -> its read queue's number
    #: ``[(slice, address, words)]``: loaded words the program overwrites, reloaded before
    #: each of its runs (so that every run starts from the same state).
    restore: list = field(default_factory=list)
    #: Words the host reads back after a run (the output regions).
    unloaded: set = field(default_factory=set)


def campaign_programs(config):
    """The regression's programs a campaign draws from: short ones of every kind that leaves
    its inputs alone (``(name, build)``)."""
    specs = [("graph-0", lambda: graph(config, 0)), ("graph-3", lambda: graph(config, 3)),
             ("reduce-sum", lambda: reduction(config, "sum", 2)),
             ("reduce-max", lambda: reduction(config, "max", 2)),
             ("switch", lambda: switch(config, 1)), ("composed", lambda: composed(config, 3))]
    if config.vxm_alus >= 3:
        specs.insert(0, ("asm-add-requant", lambda: assembly(config)))
    return specs


def _schedule(config, name, program):
    """Run ``program`` on the golden simulator, traced: its :class:`CampaignProgram`, and the
    words it writes."""
    plan = floorplan(config)
    sim = ArchSim(config)
    outcome = sim.execute(program, trace=True)
    if outcome.errors:
        raise ValueError(f"campaign program {name} raises {outcome.errors!r} on a clean run")
    entry = CampaignProgram(name, program, outcome.outputs, outcome.cycles)
    written = set()
    # A word read in cycle t leaves the slice in t + 1; the cycle the run ends in (its length)
    # only halts, so a word leaving then is neither counted nor flagged.
    for queue in plan.queues:
        if queue.kind not in (QueueKind.MEM_READ, QueueKind.MEM_WRITE):
            continue
        index = plan.sram_index(queue.unit)
        for cycle, word, offset in outcome.issues(queue.number):
            address = decode(queue.kind, word).addr + offset
            if queue.kind is QueueKind.MEM_READ:
                entry.read_queue[index] = queue.number
                if cycle + 1 < outcome.cycles:
                    entry.reads.setdefault((index, address), []).append(cycle)
            else:
                written.add((index, address))
    return entry, written


def plan_campaign(config, count, *, seed=0, progress=None):
    """``(programs, injections)``: the campaign's :class:`CampaignProgram` s and ``count``
    :class:`Injection` s (half single, half double), reproducible from ``seed``."""
    if not (isinstance(count, int) and count >= 1):
        raise ValueError(f"injection count must be a positive integer, not {count!r}")
    rng = random.Random(seed)
    programs = []
    targets = []
    for name, build in campaign_programs(config):
        case = build()
        entry, written = _schedule(config, name, case.program)
        loaded = {(index, address + k) for index, address, words in case.program.sram
                  for k in range(len(words))}
        entry.restore = [(index, address + k, words[k:k + 1])
                         for index, address, words in case.program.sram
                         for k in range(len(words)) if (index, address + k) in written]
        entry.unloaded = {(region.slice, region.address + k) for region in case.program.outputs
                          for k in range(region.count)}
        eligible = sorted(word for word in entry.reads if word in loaded and word not in written)
        if eligible:
            programs.append(entry)
            targets.append(eligible)
            if progress:
                progress(f"  {name}: {entry.cycles} cycles, {len(eligible)} words to target")
    bits = code_bits(config)
    injections = []
    for n in range(count):
        number = n % len(programs)
        index, address = rng.choice(targets[number])
        if n % 2 == 0:
            injections.append(Injection(number, "single", index, address,
                                        (rng.randrange(bits),)))
        else:
            word = rng.randrange(config.vector_bits // DATA_BITS)
            pair = rng.sample(code_word_bits(config.vector_bits, word), 2)
            injections.append(Injection(number, "double", index, address, tuple(sorted(pair))))
    return programs, injections


def expectation(entry, injection):
    """``(errors, error_queue, error_cycle, EccReport)`` the injection must produce."""
    word = (injection.slice, injection.address)
    reads = entry.reads[word]
    # The host's unload reads the word too if it lies in an output region (after the run's
    # registers were read, so it adds to the counts only).
    count = len(reads) + (word in entry.unloaded)
    if injection.kind == "single":
        return ErrorFlag(0), 0, 0, EccReport(corrected=count)
    first = min(reads) + 1
    return (ErrorFlag.ECC_UNCORRECTABLE, entry.read_queue[injection.slice], first,
            EccReport(uncorrectable=count, slice=injection.slice,
                      address=injection.address, cycle=first))


def classify(entry, injection, outcome):
    """The verdict (one of :data:`CLASSES`) on ``outcome`` (a :class:`~isa.host.RunOutcome`
    of the RTL with ``injection``), and a line saying why when it is not right."""
    same = all(np.array_equal(outcome.outputs.get(name), values)
               for name, values in entry.outputs.items())
    got = (outcome.errors, outcome.error_queue, outcome.error_cycle, outcome.ecc)
    want = expectation(entry, injection)
    flagged = bool(outcome.errors & ErrorFlag.ECC_UNCORRECTABLE) or outcome.ecc.uncorrectable
    if not same and not flagged:
        return "silent", f"{entry.name} {injection}: outputs differ, nothing flagged"
    if got != want or outcome.cycles != entry.cycles or (injection.kind == "single" and
                                                          not same):
        return "wrong", (f"{entry.name} {injection}: got {got}, {outcome.cycles} cycles, "
                         f"outputs {'equal' if same else 'differ'}; want {want}, "
                         f"{entry.cycles} cycles")
    return ("corrected" if injection.kind == "single" else "flagged"), ""


def summarise(programs, injections, outcomes):
    """``(Counter of verdicts per kind, [reasons of the wrong ones])``."""
    verdicts = Counter()
    reasons = []
    for injection, outcome in zip(injections, outcomes):
        verdict, why = classify(programs[injection.program], injection, outcome)
        verdicts[(injection.kind, verdict)] += 1
        if why:
            reasons.append(why)
    return verdicts, reasons


def by_program(injections):
    """``{program index: [positions in injections]}``."""
    groups = defaultdict(list)
    for position, injection in enumerate(injections):
        groups[injection.program].append(position)
    return dict(groups)


@dataclass
class CampaignReport:
    """What a campaign did and found."""
    preset: str
    seed: int
    injections: int = 0
    verdicts: Counter = field(default_factory=Counter)     # (kind, verdict) -> count
    reasons: list = field(default_factory=list)
    plan_seconds: float = 0.0
    rtl_seconds: float = 0.0

    @property
    def ok(self):
        """Every single flip corrected and every double flip flagged."""
        right = self.verdicts[("single", "corrected")] + self.verdicts[("double", "flagged")]
        return right == self.injections

    def table(self):
        lines = [f"ECC fault campaign, preset {self.preset}, seed {self.seed}: "
                 f"{'PASS' if self.ok else 'FAIL'}",
                 f"  injections   {self.injections:,} in {self.rtl_seconds:.0f} s on the RTL "
                 f"({self.plan_seconds:.0f} s planning on the golden simulator)"]
        for kind, right in (("single", "corrected"), ("double", "flagged")):
            total = sum(n for (k, _), n in self.verdicts.items() if k == kind)
            share = 100 * self.verdicts[(kind, right)] / total if total else 0.0
            others = ", ".join(f"{verdict} {self.verdicts[(kind, verdict)]}"
                               for verdict in CLASSES if verdict != right)
            lines.append(f"  {kind} flips {total:,}: {right} {self.verdicts[(kind, right)]:,} "
                         f"({share:.1f} %); {others}")
        silent = sum(n for (_, verdict), n in self.verdicts.items() if verdict == "silent")
        lines.append(f"  silent corruptions: {silent}")
        lines += [f"  {reason}" for reason in self.reasons[:10]]
        return "\n".join(lines)


def run_campaign(config, count, *, seed=0, progress=None):
    """Plan ``count`` injections, run them on the RTL of ``config`` (one simulator launch)
    and classify them: a :class:`CampaignReport`."""
    say = progress or (lambda message: None)
    report = CampaignReport(preset=config.name, seed=seed, injections=count)
    begin = time.monotonic()
    say(f"planning {count:,} injections on the golden simulator")
    programs, injections = plan_campaign(config, count, seed=seed, progress=progress)
    report.plan_seconds = time.monotonic() - begin
    build_dir = chip_build_dir(config)
    build_dir.mkdir(parents=True, exist_ok=True)
    stem = build_dir / f"campaign-{seed}"
    inputs, outputs = stem.with_suffix(".in.pickle"), stem.with_suffix(".out.pickle")
    with open(inputs, "wb") as handle:
        pickle.dump({"config": config, "programs": [p.program for p in programs],
                     "restore": [p.restore for p in programs], "injections": injections},
                    handle)
    outputs.unlink(missing_ok=True)
    begin = time.monotonic()
    say(f"running {count:,} injections on the RTL")
    with progress_file(stem.with_suffix(".progress"), say) as watched:
        run_cocotb(toplevel=CHIP_MODULE, sources=[export_chip(config, progress=progress)],
                   test_module="verification.tb_fault_campaign", build_dir=build_dir,
                   run_name="campaign", progress=progress,
                   extra_env={"LPU_CAMPAIGN": str(inputs), "LPU_RESULTS": str(outputs),
                              "LPU_PROGRESS": str(watched)})
    report.rtl_seconds = time.monotonic() - begin
    with open(outputs, "rb") as handle:
        outcomes = pickle.load(handle)
    inputs.unlink()
    outputs.unlink()
    report.verdicts, report.reasons = summarise(programs, injections, outcomes)
    return report

"""The exported schedule (``--trace`` Chrome JSON, ``--svg`` picture) against the program:
every instruction a queue issues appears once, at its cycle, on its queue, checked against an
expansion of the queue words written here from the timing rules of :mod:`isa.timing` (NOP n
takes n cycles, REPEAT n with gap g re-issues n times g + 1 cycles apart, HALT ends the queue);
the stream registers in use follow from when the values enter the streams."""

import json
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from compiler.asm import assemble, format_instruction
from compiler.schedule_trace import chrome_trace, record, schedule_svg
from isa import preset
from isa.formats import FORMATS, decode
from isa.geometry import floorplan
from isa.opcodes import ControlOp, opcode_of
from verification.gemm_cases import gemm_case

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "add.s"


def expected_issues(program):
    """``Counter((cycle, queue name, instruction text))`` of a program without SYNC."""
    plan = floorplan(program.config)
    issues = Counter()
    for number, words in program.queues.items():
        queue = plan.queues[number]
        cycle, last = 0, None
        for word in words:
            op = opcode_of(word)
            if op == ControlOp.HALT.value:
                break
            if op == ControlOp.NOP.value:
                cycle += FORMATS["count"].unpack(word)["count"]
            elif op == ControlOp.REPEAT.value:
                fields = FORMATS["repeat"].unpack(word)
                for _ in range(fields["count"]):
                    cycle += fields["gap"]
                    issues[(cycle, queue.name, last)] += 1
                    cycle += 1
            else:
                assert op not in (ControlOp.SYNC.value, ControlOp.NOTIFY.value)
                last = format_instruction(decode(queue.kind, word))
                issues[(cycle, queue.name, last)] += 1
                cycle += 1
    return issues


def exported_issues(document):
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in document["traceEvents"]
               if e["ph"] == "M" and e["name"] == "thread_name"}
    return Counter((e["ts"], threads[(e["pid"], e["tid"])], e["args"]["instruction"])
                   for e in document["traceEvents"] if e["ph"] == "X")


@pytest.fixture(scope="module")
def programs():
    tiny = preset("tiny")
    return {"example": assemble(EXAMPLE.read_text(), preset("default"), str(EXAMPLE)),
            "gemm": gemm_case(tiny, 24, 40, 40, seed=3).program}


@pytest.mark.parametrize("name", ["example", "gemm"])
def test_every_issue_appears_once_at_its_cycle_on_its_queue(programs, name, tmp_path):
    program = programs[name]
    schedule = record(program)
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(chrome_trace(schedule)))
    document = json.loads(path.read_text())
    found, expected = exported_issues(document), expected_issues(program)
    assert sum(found.values()) == sum(expected.values()) > 0
    assert found == expected
    if program.predicted_cycles is not None:
        assert schedule.cycles == program.predicted_cycles


def test_stream_registers_in_use_follow_the_reads_and_results(programs):
    # The example reads x[0..3] in cycles 0..3: each is on an eastward register from two
    # cycles later on. The ADDs issue in cycles 2..5; each int32 result takes four westward
    # registers from two cycles later on. Nothing reaches an edge within 11 cycles.
    schedule = record(programs["example"])
    cycles = np.arange(schedule.cycles)
    east = [sum(t + 2 <= c for t in range(4)) for c in cycles]
    west = [4 * sum(t + 2 <= c for t in range(2, 6)) for c in cycles]
    assert schedule.east.tolist() == east
    assert schedule.west.tolist() == west
    counters = [e for e in chrome_trace(schedule)["traceEvents"] if e["ph"] == "C"]
    eastward = {e["ts"]: e["args"]["registers"] for e in counters if "east" in e["name"]}
    assert eastward == {0: 0, 2: 1, 3: 2, 4: 3, 5: 4}


def test_the_picture_is_svg_with_a_row_per_queue(programs):
    schedule = record(programs["gemm"])
    root = ElementTree.fromstring(schedule_svg(schedule, title="gemm"))
    assert root.tag.endswith("svg")
    labels = {t.text for t in root.iter() if t.tag.endswith("text")}
    plan = floorplan(programs["gemm"].config)
    queues = {plan.queues[number].name for _, number, _, _ in schedule.issues}
    assert queues <= labels

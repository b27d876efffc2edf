"""The pictures in the docs are what the tools draw today: every timeline in docs/compiler.md
follows the command that draws it, and must equal that command's output; so must every schedule
picture of docs/pictures that it names with its command."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from commands import timeline

COMPILER_DOC = Path(__file__).resolve().parent.parent / "docs" / "compiler.md"
#: A command in backticks, then (after some text) the picture in the next code block.
PICTURE = re.compile(r"`python -m commands\.timeline ([^`]+)`"
                     r"(?:(?!python -m commands\.timeline).)*?```\n(.*?)```", re.S)


def pictures():
    found = PICTURE.findall(COMPILER_DOC.read_text())
    assert len(found) >= 3, "docs/compiler.md lost its timeline pictures"
    return found


@pytest.mark.parametrize("arguments, picture", pictures(),
                         ids=[arguments for arguments, _ in pictures()])
def test_timeline_pictures_are_current(arguments, picture):
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert timeline.main(shlex.split(arguments.replace("\n", " "))) == 0
    assert output.getvalue() == picture, (
        f"docs/compiler.md: the picture of `python -m commands.timeline {arguments}` is stale")


#: An SVG picture in docs/pictures and the timeline arguments that draw it.
SVG = re.compile(r"`lpu timeline ([^`]+?) --svg\s+docs/pictures/(\w+\.svg)`")


def svg_pictures():
    found = SVG.findall(COMPILER_DOC.read_text())
    assert len(found) >= 2, "docs/compiler.md lost its schedule pictures"
    return found


@pytest.mark.parametrize("arguments, name", svg_pictures(),
                         ids=[name for _, name in svg_pictures()])
def test_schedule_pictures_are_current(arguments, name, tmp_path):
    drawn = tmp_path / name
    with contextlib.redirect_stdout(io.StringIO()):
        assert timeline.main(shlex.split(arguments.replace("\n", " ")) +
                             ["--svg", str(drawn)]) == 0
    assert drawn.read_text() == (COMPILER_DOC.parent / "pictures" / name).read_text(), (
        f"docs/pictures/{name} is stale: `lpu timeline {arguments} --svg "
        f"docs/pictures/{name}` draws it")

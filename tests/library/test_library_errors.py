"""A broken instrument file is reported with its file:line, the field path and the reason,
and every problem of the library is reported at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edc import errors
from edc.library import load_library, mappings_root

# (file, text to replace, replacement, line fragment, field path, message fragment)
BREAKAGES = [
    (
        "sins.yaml",
        "  - id: sins-pain\n",
        "  - id: sins-pain\n    colour: red\n",
        "colour: red",
        "items[1].colour",
        "unknown key",
    ),
    (
        "spinal-lesion.yaml",
        "    min: 1\n    max: 25\n",
        "    min: lots\n    max: 25\n",
        "min: lots",
        "items[1].min",
        "lots",
    ),
    (
        "tomita.yaml",
        "%tomitaPoints.count() = 3, %tomitaPoints.aggregate($this + $total, 0), {})",
        "%tomitaPoints.count() = = 3, %tomitaPoints.aggregate($this + $total, 0), {})",
        "%tomitaPoints.count() = = 3",
        "scores[0].expression",
        "invalid FHIRPath",
    ),
    (
        # A linkId that is not in the form: the lookup would silently find nothing.
        "tomita.yaml",
        "'tomita-bone')).answerOption",
        "'tomita-bones')).answerOption",
        "'tomita-bones'",
        "variables[0].expression",
        "linkId 'tomita-bones' is not an item of this form",
    ),
    (
        "procedure-record.yaml",
        '      - {question: ablation, operator: "=", answer: true}\n  - id: ablation-time',
        '      - {question: ablashun, operator: "=", answer: true}\n  - id: ablation-time',
        "question: ablashun",
        "items[6].enable_when[0].question",
        "unknown item 'ablashun'",
    ),
]


def _copy_library(tmp_path: Path) -> Path:
    source = Path(str(mappings_root().joinpath("instruments")))
    shutil.copytree(source, tmp_path / "instruments")
    return tmp_path


def _break(root: Path, name: str, old: str, new: str) -> None:
    path = root / "instruments" / name
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {name}"
    path.write_text(text.replace(old, new))


def _line_of(text: str, fragment: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(lines) == 1, f"{fragment!r} is on lines {lines}"
    return lines[0]


@pytest.mark.parametrize(("name", "old", "new", "line_fragment", "field", "message"), BREAKAGES)
def test_broken_instrument_is_located(
    tmp_path: Path, name: str, old: str, new: str, line_fragment: str, field: str, message: str
) -> None:
    root = _copy_library(tmp_path)
    _break(root, name, old, new)
    line = _line_of((root / "instruments" / name).read_text(), line_fragment)
    with pytest.raises(errors.ProblemsError) as caught:
        load_library(root)
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    [problem] = caught.value.problems
    assert problem.where == f"fhir_mappings/instruments/{name}:{line}"
    assert problem.field == field
    assert message in problem.message


def test_all_broken_instruments_are_reported_at_once(tmp_path: Path) -> None:
    root = _copy_library(tmp_path)
    for name, old, new, *_ in BREAKAGES:
        _break(root, name, old, new)
    with pytest.raises(errors.ProblemsError) as caught:
        load_library(root)
    reported = {(p.where.split(":")[0], p.field) for p in caught.value.problems}
    assert reported == {(f"fhir_mappings/instruments/{b[0]}", b[4]) for b in BREAKAGES}


def test_the_copied_library_loads_unbroken(tmp_path: Path) -> None:
    # Guards the tests above: only the breakage makes the copy fail.
    assert "sins" in load_library(_copy_library(tmp_path)).instruments

"""Loading protocol files: valid files load; every kind of bad input is located and reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors
from edc.cli import main
from edc.library import Library
from edc.protocol import load_protocol
from tests.protocol.conftest import line_of

STUDIES = Path(__file__).parents[2] / "fhir_mappings" / "studies"


def problems_of(path: Path, library: Library) -> list[errors.Problem]:
    with pytest.raises(errors.ProblemsError) as caught:
        load_protocol(path, library)
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    return caught.value.problems


def test_minimal_protocol_loads(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    loaded = load_protocol(write_protocol(minimal_text), library)
    assert loaded.protocol.study.id == "MINI-01"
    assert [arm.id for arm in loaded.protocol.arms] == ["ARM-A", "ARM-B"]
    assert loaded.source_text == minimal_text


@pytest.mark.parametrize("name", ["spine-mwa-01.yaml", "spine-prd-01.yaml"])
def test_example_studies_load(name: str, library: Library) -> None:
    loaded = load_protocol(STUDIES / name, library)
    assert len(loaded.protocol.study.sites) == 3
    assert loaded.protocol.randomization.ratio == {"ARM-A": 1, "ARM-B": 1}


def test_invalid_yaml_names_the_line(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("  short_title: MINI-01", "  short_title: [MINI-01")
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert "invalid YAML" in problem.message
    # PyYAML notices the unclosed flow sequence on the following line.
    assert problem.where == f"{path}:{line_of(text, 'short_title: [MINI-01') + 1}"


def test_unknown_key_is_reported_with_line_and_path(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace(
        "  target_enrollment: 20", "  target_enrollment: 20\n  colour: blue"
    )
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.where == f"{path}:{line_of(text, 'colour: blue')}"
    assert problem.field == "study.colour"
    assert "unknown key" in problem.message


def test_wrong_type_is_reported(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("target_enrollment: 20", "target_enrollment: twenty")
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.where == f"{path}:{line_of(text, 'target_enrollment: twenty')}"
    assert problem.field == "study.target_enrollment"
    assert "'twenty'" in problem.message


def test_missing_required_key_points_at_its_parent(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("  short_title: MINI-01\n", "")
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.field == "study.short_title"
    assert problem.where == f"{path}:{line_of(text, 'study:')}"
    assert "missing required key" in problem.message


def test_duplicate_keys_are_not_silently_replaced(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace(
        "  target_enrollment: 20", "  target_enrollment: 20\n  target_enrollment: 30"
    )
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.where == f"{path}:{line_of(text, 'target_enrollment: 30')}"
    assert "duplicate key" in problem.message


def test_unknown_instrument(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("instrument: nrs-pain", "instrument: nrs-pian")
    path = write_protocol(text)
    problems = problems_of(path, library)
    assert [p.field for p in problems] == ["forms[0].instrument"]
    assert problems[0].where == f"{path}:{line_of(text, 'nrs-pian')}"
    assert "did you mean 'nrs-pain'" in problems[0].message


def test_unknown_ctcae_term(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("{term: Radiculitis}", "{term: Radiculits}")
    (problem,) = problems_of(write_protocol(text), library)
    assert problem.field == "adverse_events.expected[0].term"
    assert "not a CTCAE 5.0 term" in problem.message and "'Radiculitis'" in problem.message


def test_other_specify_term_needs_a_verbatim(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace(
        "{term: Radiculitis}", "{term: 'Nervous system disorders - Other, specify'}"
    )
    (problem,) = problems_of(write_protocol(text), library)
    assert "needs 'specify'" in problem.message


def test_visit_anchored_on_itself(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace(
        "{id: W1, title: Week 1, anchor: randomization", "{id: W1, title: Week 1, anchor: W1"
    )
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.field == "schedule.visits[1].anchor"
    assert problem.where == f"{path}:{line_of(text, 'anchor: W1')}"
    assert "anchored on itself" in problem.message


def test_anchor_cycle(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace(
        "{id: BL, title: Baseline, anchor: randomization", "{id: BL, title: Baseline, anchor: W1"
    ).replace("{id: W1, title: Week 1, anchor: randomization", "{id: W1, title: Week 1, anchor: BL")
    problems = problems_of(write_protocol(text), library)
    cycles = [p for p in problems if "cycle" in p.message]
    assert len(cycles) == 1
    assert "BL -> W1 -> BL" in cycles[0].message


def test_overlapping_windows(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("window: {low: 5, high: 9}", "window: {low: -1, high: 9}")
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.field == "schedule.visits[1].window"
    assert "overlaps" in problem.message and "'BL'" in problem.message


def test_ratio_naming_a_missing_arm(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("ratio: {ARM-A: 1, ARM-B: 1}", "ratio: {ARM-A: 1, ARM-C: 1}")
    path = write_protocol(text)
    problems = problems_of(path, library)
    messages = {p.field: p.message for p in problems}
    assert "arm 'ARM-C'" in messages["randomization.ratio.ARM-C"]
    assert "no weight" in messages["arms[1].id"]
    assert all(p.where.startswith(f"{path}:") for p in problems)


def test_unparsable_fhirpath(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace(
        '"%patient.birthDate <= %screeningDate.toDate() - 18 years"',
        '"%patient.birthDate <= (%screeningDate.toDate() - 18 years"',
    )
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.field == "eligibility.inclusion[0].expression"
    assert problem.where == f"{path}:{line_of(text, '(%screeningDate')}"
    assert "invalid FHIRPath" in problem.message


def test_all_problems_are_reported_at_once(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = (
        minimal_text.replace("instrument: nrs-pain", "instrument: nope")
        .replace("{term: Radiculitis}", "{term: Nope}")
        .replace("block_sizes: [2, 4]", "block_sizes: [3, 4]")
        .replace("window: {low: 5, high: 9}", "window: {low: 8, high: 9}")
    )
    fields = {p.field for p in problems_of(write_protocol(text), library)}
    assert {
        "forms[0].instrument",
        "adverse_events.expected[0].term",
        "randomization.block_sizes[0]",
        "schedule.visits[1].window",
    } <= fields


def test_cli_check_exit_codes(
    write_protocol: Callable[[str], Path], minimal_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["protocol", "check", str(write_protocol(minimal_text))]) == 0
    assert "ok: MINI-01 v1.0" in capsys.readouterr().out
    bad = write_protocol(minimal_text.replace("ARM-B: 1}", "ARM-Z: 1}"), "bad.yaml")
    assert main(["protocol", "check", str(bad)]) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "randomization.ratio.ARM-Z" in err
    assert "Traceback" not in err


def test_missing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "check", str(tmp_path / "nope.yaml")]) == errors.EXIT_BAD_INPUT
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        ("%screening_date.toDate()", "unknown variable %screening_date"),
        ("%patient.birthDat", "'birthDat' is not an element of Patient"),
    ],
)
def test_fhirpath_names_that_would_evaluate_to_nothing_are_errors(
    write_protocol: Callable[[str], Path],
    minimal_text: str,
    library: Library,
    capsys: pytest.CaptureFixture[str],
    wrong: str,
    message: str,
) -> None:
    # Both are valid FHIRPath that evaluate to an empty collection: the criterion would be
    # "unknown" for every patient, silently.
    original = "%patient.birthDate <= %screeningDate.toDate() - 18 years"
    replaced = original.replace(
        "%screeningDate.toDate()" if "screening" in wrong else "%patient.birthDate", wrong
    )
    text = minimal_text.replace(original, replaced)
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.field == "eligibility.inclusion[0].expression"
    assert problem.where == f"{path}:{line_of(text, wrong)}"
    assert message in problem.message
    assert main(["protocol", "check", str(path)]) == errors.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


def test_an_element_missing_after_of_type_is_an_error(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace(").value.where(code = '10*9/L'", ").valu.where(code = '10*9/L'")
    (problem,) = problems_of(write_protocol(text), library)
    assert problem.field == "eligibility.exclusion[0].expression"
    assert "'valu' is not an element of Observation" in problem.message


def test_a_quantity_compared_without_its_unit_is_an_error(
    write_protocol: Callable[[str], Path],
    minimal_text: str,
    library: Library,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Issue 12 item 8: platelets read as value.value pass whatever unit the lab used.
    unit = ".value.where(code = '10*9/L' or code = '10*3/uL').value"
    assert unit in minimal_text
    text = minimal_text.replace(unit, ".value.value")
    path = write_protocol(text)
    (problem,) = problems_of(path, library)
    assert problem.field == "eligibility.exclusion[0].expression"
    assert problem.where == f"{path}:{line_of(text, 'expression: >-')}"
    assert "whatever its unit" in problem.message and "35 mm" in problem.message
    assert main(["protocol", "check", str(path)]) == errors.EXIT_BAD_INPUT
    assert "whatever its unit" in capsys.readouterr().err

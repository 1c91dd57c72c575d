"""`edc protocol check` on the newer format features, each mistake at file:line: arm-specific
schedules (unknown arms, anchors missing in an arm, arm-specific visits before randomization),
visit-specific items, derived strata."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors
from edc.cli import main
from edc.library import Library
from edc.protocol import load_protocol
from tests.actions.test_derived_strata import DERIVED
from tests.protocol.conftest import line_of
from tests.synth.test_protocol_features import arm_protocol


def problems_of(path: Path, library: Library) -> list[errors.Problem]:
    with pytest.raises(errors.ProblemsError) as caught:
        load_protocol(path, library)
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    return caught.value.problems


def test_the_arm_specific_protocol_checks(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    load_protocol(write_protocol(arm_protocol()), library)


def test_an_unknown_arm_is_reported_where_it_is_written(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = arm_protocol().replace(
        "arm_anchors: {ARM-B: rt-start}", "arm_anchors: {ARM-X: rt-start}"
    )
    text = text.replace(
        "    arms: [ARM-A]\n    items:\n      - {id: healed",
        "    arms: [ARM-Z]\n    items:\n      - {id: healed",
    )
    path = write_protocol(text)
    problems = problems_of(path, library)
    by_field = {p.field: p for p in problems}
    anchors = by_field["schedule.visits[2].arm_anchors.ARM-X"]
    assert anchors.where == f"{path}:{line_of(text, 'ARM-X')}"
    assert anchors.message == "unknown arm 'ARM-X' (arms: ARM-A, ARM-B)"
    assert by_field["forms[3].arms[0]"].where == f"{path}:{line_of(text, 'ARM-Z')}"


def test_an_anchor_missing_in_an_arm_and_an_arm_specific_visit_before_randomization(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = arm_protocol().replace(", arm_anchors: {ARM-B: rt-start}}", "}")
    baseline = "forms: [pain, odi, status, eligibility]"
    text = text.replace(f"{baseline}}}", f"{baseline}, arms: [ARM-A]}}")
    path = write_protocol(text)
    messages = {p.field: p.message for p in problems_of(path, library)}
    assert messages["schedule.visits[2].anchor"] == (
        "'W1' is anchored on 'procedure', which is not in ARM-B: give it arm_anchors: "
        "{ARM-B: <anchor>} or limit it with arms: [...]"
    )
    assert messages["schedule.visits[0]"] == (
        "'BL' depends on the arm but does not come after 'randomization' "
        "(the arm is not known before randomization)"
    )


def test_a_visit_specific_item_at_a_visit_without_its_form_or_with_enable_when(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = arm_protocol().replace("visits: [BL]", "visits: [BL, PROC]")
    text = text.replace(
        "      - {id: healed, text: Wound healed?, type: boolean, required: true}",
        "      - {id: healed, text: Wound healed?, type: boolean, required: true}\n"
        "      - {id: note, text: Note, type: string, visits: [W1],"
        " enable_when: [{question: healed, operator: '=', answer: false}]}",
    )
    path = write_protocol(text)
    messages = {p.field: (p.where, p.message) for p in problems_of(path, library)}
    assert messages["forms[1].items[1].visits[1]"] == (
        f"{path}:{line_of(text, 'visits: [BL, PROC]')}",
        "visit 'PROC' does not list this form (visits that do: BL, W1)",
    )
    assert messages["forms[3].items[1].visits"][1] == (
        "an item with visits cannot also have enable_when; put it in a group that has the visits"
    )


def test_a_derived_stratum_is_checked_against_its_item_and_levels(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = (Path(__file__).parents[1] / "data" / "protocols" / "three-arm-blinded.yaml").read_text()
    for old, new in DERIVED.items():
        text = text.replace(old, new)
    load_protocol(write_protocol(text), library)  # as written: fine
    wrong = text.replace("[{level: fit, below: 5}, {level: frail}]", "[{level: fit, below: 5}]")
    path = write_protocol(wrong)
    messages = {p.field: (p.where, p.message) for p in problems_of(path, library)}
    assert messages["randomization.stratify_by[1].source.bands"] == (
        f"{path}:{line_of(wrong, 'bands:')}",
        "every band but the last needs below; the last takes the rest (no below)",
    )
    assert messages["randomization.stratify_by[1].levels"][1] == (
        "no band or answer gives the level(s) frail"
    )
    mapped = text.replace("item: frailty-score", "item: frailty").replace(
        "bands: [{level: fit, below: 5}, {level: frail}]", "map: {fit: fit, frail: robust}"
    )
    path = write_protocol(mapped)
    messages = {p.field: (p.where, p.message) for p in problems_of(path, library)}
    assert messages["randomization.stratify_by[1].source.map.frail"][1] == (
        "'robust' is not a level of frailty (fit, frail)"
    )


def test_a_blinded_study_refuses_arm_specific_visits_forms_and_anchors(
    write_protocol: Callable[[str], Path], library: Library, capsys: pytest.CaptureFixture[str]
) -> None:
    text = arm_protocol().replace("blinding: open-label", "blinding: double-blind")
    path = write_protocol(text)
    assert main(["protocol", "check", str(path)]) == errors.EXIT_BAD_INPUT
    assert "reveal the allocation" in capsys.readouterr().err
    by_field = {p.field: p for p in problems_of(path, library)}
    procedure = by_field["schedule.visits[1].arms"]
    assert procedure.where == f"{path}:{line_of(text, 'id: PROC')}"
    assert procedure.message == (
        "the study is double-blind: an arm-specific visit would reveal the allocation to "
        "blinded readers (visit plans, casebook, subject page, dashboard); give every arm the "
        "same schedule or make the study open-label"
    )
    assert "arm-specific visit anchor" in by_field["schedule.visits[2].arm_anchors"].message
    assert "arm-specific event " in by_field["schedule.events[2].arms"].message
    assert "arm-specific form " in by_field["forms[3].arms"].message
    # the same study open-label is fine (test_the_arm_specific_protocol_checks)

"""`edc protocol check` on arm-specific schedules: unknown arms, anchors missing in an arm and
arm-specific visits before randomization, each at file:line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors
from edc.library import Library
from edc.protocol import load_protocol
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

"""Checking responses against a precompiled Questionnaire index, and typing their answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from edc.compiler import CompiledStudy
from edc.sync import qcheck, qindex

EXT = "http://hl7.org/fhir/StructureDefinition"
QUESTIONNAIRE: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "url": "https://edc.example.org/fhir/Questionnaire/test",
    "version": "1.0",
    "item": [
        {"linkId": "pain", "type": "integer", "required": True,
         "extension": [{"url": f"{EXT}/minValue", "valueInteger": 0},
                       {"url": f"{EXT}/maxValue", "valueInteger": 10}]},
        {"linkId": "dose", "type": "decimal"},
        {"linkId": "rescue", "type": "boolean", "required": True},
        {"linkId": "rescue-drug", "type": "choice", "required": True, "repeats": True,
         "enableWhen": [{"question": "rescue", "operator": "=", "answerBoolean": True}],
         "answerOption": [{"valueCoding": {"system": "urn:drugs", "code": "morphine"}},
                          {"valueCoding": {"system": "urn:drugs", "code": "oxycodone"}}]},
        {"linkId": "seen", "type": "date",
         "extension": [{"url": f"{EXT}/minValue", "valueDate": "2020-01-01"}]},
        {"linkId": "at", "type": "dateTime"},
        {"linkId": "note", "type": "string", "maxLength": 5},
        {"linkId": "lesions", "type": "group", "repeats": True, "item": [
            {"linkId": "level", "type": "open-choice",
             "answerOption": [{"valueCoding": {"system": "urn:levels", "code": "T10"}}]},
            {"linkId": "size", "type": "quantity"},
        ]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def index() -> qindex.QuestionnaireIndex:
    return qindex.build_index(QUESTIONNAIRE, {})


def _response(*items: dict[str, Any]) -> dict[str, Any]:
    base = [
        {"linkId": "pain", "answer": [{"valueInteger": 4}]},
        {"linkId": "rescue", "answer": [{"valueBoolean": False}]},
    ]
    return {"resourceType": "QuestionnaireResponse", "item": [*base, *items]}


def _problems(index: qindex.QuestionnaireIndex, response: dict[str, Any]) -> list[tuple[str, str]]:
    return qcheck.check_response(index, response).problems


def test_a_valid_response_becomes_typed_values_in_long_format(
    index: qindex.QuestionnaireIndex,
) -> None:
    t10 = {"valueCoding": {"system": "urn:levels", "code": "T10"}}
    size = {"valueQuantity": {"value": 12, "unit": "mm"}}
    checked = qcheck.check_response(
        index,
        _response(
            {"linkId": "dose", "answer": [{"valueDecimal": 2.50}]},
            {"linkId": "seen", "answer": [{"valueDate": "2026-02"}]},
            {"linkId": "at", "answer": [{"valueDateTime": "2026-02-03T10:00:00+08:00"}]},
            {"linkId": "lesions", "item": [{"linkId": "level", "answer": [t10]}]},
            {"linkId": "lesions", "item": [
                {"linkId": "level", "answer": [{"valueString": "L2 (other)"}]},
                {"linkId": "size", "answer": [size]},
            ]},
        ),
    )  # fmt: skip
    assert checked.problems == []
    rows = {(v[0], v[1]): dict(zip(qcheck.VALUE_COLUMNS, v, strict=True)) for v in checked.values}
    assert rows[("pain", 0)]["value_number"] == Decimal(4)
    assert rows[("dose", 0)]["value_number"] == Decimal("2.5")
    assert rows[("rescue", 0)]["value_bool"] is False
    # A partial date keeps its text; a dateTime with a time is an instant.
    assert rows[("seen", 0)]["value_date"] is None and rows[("seen", 0)]["value_text"] == "2026-02"
    assert rows[("at", 0)]["value_datetime"] == dt.datetime(2026, 2, 3, 2, 0, tzinfo=dt.UTC)
    # Answers inside a repeating group are numbered per linkId across the repetitions.
    assert (
        rows[("level", 0)]["value_code"] == "T10"
        and rows[("level", 1)]["value_text"] == "L2 (other)"
    )
    assert (rows[("size", 0)]["value_number"], rows[("size", 0)]["unit"]) == (Decimal(12), "mm")


R = "QuestionnaireResponse.item"
MORPHINE = {"valueCoding": {"system": "urn:drugs", "code": "morphine"}}
BAD_ANSWERS = [
    ("nope", [{"valueInteger": 1}], f"{R}[2].linkId", "unknown linkId"),
    ("dose", [{"valueString": "2"}], f"{R}[2].answer[0]", "takes valueDecimal"),
    ("dose", [{"valueDecimal": True}], f"{R}[2].answer[0].valueDecimal", "not a decimal"),
    ("seen", [{"valueDate": "2019-12-31"}], f"{R}[2].answer[0].valueDate", "below the minimum"),
    ("seen", [{"valueDate": "2026-02-30"}], f"{R}[2].answer[0].valueDate", "not a calendar date"),
    ("at", [{"valueDateTime": "2026-02-03T10:00:00"}], f"{R}[2].answer[0].valueDateTime", "zone"),
    ("note", [{"valueString": "too long"}], f"{R}[2].answer[0].valueString", "the maximum 5"),
    ("dose", [{"valueDecimal": 1}, {"valueDecimal": 2}], f"{R}[2].answer", "does not repeat"),
    ("rescue-drug", [MORPHINE], f"{R}.where(linkId='rescue-drug')", "enableWhen disables it"),
]


@pytest.mark.parametrize(("link_id", "answers", "path", "message"), BAD_ANSWERS)
def test_each_kind_of_bad_answer_is_reported_with_its_path(
    index: qindex.QuestionnaireIndex,
    link_id: str,
    answers: list[dict[str, Any]],
    path: str,
    message: str,
) -> None:
    problems = _problems(index, _response({"linkId": link_id, "answer": answers}))
    assert any(p == path and message in m for p, m in problems), problems


def test_items_at_the_wrong_level_or_twice_are_reported(index: qindex.QuestionnaireIndex) -> None:
    twice = _response({"linkId": "dose", "answer": [{"valueDecimal": 1}]}, {"linkId": "dose"})
    assert (f"{R}[3]", "linkId 'dose' appears twice") in _problems(index, twice)
    nested = {"linkId": "pain", "answer": [{"valueInteger": 1}]}
    misplaced = _response({"linkId": "lesions", "item": [nested]})
    assert (f"{R}[2].item[0].linkId", "unknown linkId 'pain' here") in _problems(index, misplaced)


def test_enable_when_makes_an_item_required(index: qindex.QuestionnaireIndex) -> None:
    response = _response()
    response["item"][1]["answer"] = [{"valueBoolean": True}]
    assert _problems(index, response) == [
        ("QuestionnaireResponse.item.where(linkId='rescue-drug')", "required, but has no answer")
    ]
    response["item"].append({"linkId": "rescue-drug", "answer": [
        {"valueCoding": {"system": "urn:drugs", "code": "morphine"}},
        {"valueCoding": {"system": "urn:drugs", "code": "fentanyl"}},
    ]})  # fmt: skip
    assert _problems(index, response) == [
        (f"{R}[2].answer[1].valueCoding", "'urn:drugs|fentanyl' is not a permitted answer")
    ]


def test_missing_and_out_of_range_required_answers(index: qindex.QuestionnaireIndex) -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "item": [{"linkId": "pain", "answer": [{"valueInteger": 11}]}],
    }
    assert _problems(index, response) == [
        ("QuestionnaireResponse.item[0].answer[0].valueInteger", "11 is above the maximum 10"),
        ("QuestionnaireResponse.item.where(linkId='rescue')", "required, but has no answer"),
    ]  # fmt: skip


def test_answer_value_sets_are_expanded_from_the_compiled_bundle(minimal: CompiledStudy) -> None:
    value_sets = qindex.value_set_codes(minimal.resources)
    terms = value_sets["https://edc.example.org/fhir/ValueSet/mini-01-ae-terms|1.0"]
    assert len(terms) == 837 and ("https://www.meddra.org", "10028813") in terms
    ae = minimal.questionnaires()["https://edc.example.org/fhir/Questionnaire/mini-01-ae|1.0"]
    rule = qindex.build_index(ae, value_sets).items["ae-term"]
    assert rule.options == terms


def test_not_equals_holds_for_an_unanswered_question() -> None:
    # R4 enableWhen "!=": true when no answer equals the value, so also when there is none.
    questionnaire = {
        "resourceType": "Questionnaire",
        "url": "https://edc.example.org/fhir/Questionnaire/ne",
        "version": "1.0",
        "item": [
            {"linkId": "none", "type": "boolean"},
            {"linkId": "dose", "type": "decimal",
             "enableWhen": [{"question": "none", "operator": "!=", "answerBoolean": True}]},
        ],
    }  # fmt: skip
    index = qindex.build_index(questionnaire, {})
    dose = {"linkId": "dose", "answer": [{"valueDecimal": 10}]}
    unanswered = {"resourceType": "QuestionnaireResponse", "item": [dose]}
    assert _problems(index, unanswered) == []
    no = {"linkId": "none", "answer": [{"valueBoolean": False}]}
    assert _problems(index, {"resourceType": "QuestionnaireResponse", "item": [no, dose]}) == []
    yes = {"linkId": "none", "answer": [{"valueBoolean": True}]}
    assert _problems(index, {"resourceType": "QuestionnaireResponse", "item": [yes, dose]}) == [
        (
            "QuestionnaireResponse.item.where(linkId='dose')",
            "answered, but its enableWhen disables it",
        )
    ]


def test_enable_when_in_a_repeating_group_reads_its_own_instance() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "url": "https://edc.example.org/fhir/Questionnaire/rg",
        "version": "1.0",
        "item": [{"linkId": "entry", "type": "group", "repeats": True, "item": [
            {"linkId": "drug", "type": "string"},
            {"linkId": "dose", "type": "decimal", "required": True,
             "enableWhen": [{"question": "drug", "operator": "!=", "answerString": "patch"}]},
            {"linkId": "patch", "type": "decimal", "required": True,
             "enableWhen": [{"question": "drug", "operator": "=", "answerString": "patch"}]},
        ]}],
    }  # fmt: skip
    index = qindex.build_index(questionnaire, {})

    def entry(*items: dict[str, Any]) -> dict[str, Any]:
        return {"linkId": "entry", "item": list(items)}

    morphine = entry(
        {"linkId": "drug", "answer": [{"valueString": "morphine"}]},
        {"linkId": "dose", "answer": [{"valueDecimal": 30}]},
    )
    patch = entry(
        {"linkId": "drug", "answer": [{"valueString": "patch"}]},
        {"linkId": "patch", "answer": [{"valueDecimal": 25}]},
    )
    # Unanswered drug in its own entry: "!=" holds there; the other entry's patch is not read.
    no_drug = entry({"linkId": "dose", "answer": [{"valueDecimal": 5}]})
    response = {"resourceType": "QuestionnaireResponse", "item": [morphine, patch, no_drug]}
    assert _problems(index, response) == []
    wrong = entry(
        {"linkId": "drug", "answer": [{"valueString": "patch"}]},
        {"linkId": "dose", "answer": [{"valueDecimal": 25}]},
    )
    problems = _problems(
        index, {"resourceType": "QuestionnaireResponse", "item": [morphine, wrong]}
    )
    assert [message for _, message in problems] == [
        "answered, but its enableWhen disables it",
        "required, but has no answer",
    ]

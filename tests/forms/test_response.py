"""Building QuestionnaireResponses from plain answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import fhirkit
import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from edc import forms
from edc.compiler.questionnaire import instrument_questionnaire
from edc.library import Library

ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
AUTHORED = dt.datetime(2026, 2, 12, 14, 15, tzinfo=dt.timezone(dt.timedelta(hours=4)))
COLOURS = "https://example.org/CodeSystem/colours"

# A hand-written Questionnaire with what the instruments do not use: a non-repeating group,
# a display item, open-choice, a value-set bound choice, date, dateTime, string and text.
GENERIC: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "url": "https://example.org/Questionnaire/generic",
    "version": "2.0",
    "status": "active",
    "item": [
        {"linkId": "intro", "type": "display", "text": "Intro"},
        {
            "linkId": "visit",
            "type": "group",
            "text": "Visit",
            "item": [
                {"linkId": "visit-date", "type": "date", "text": "Date"},
                {"linkId": "seen-at", "type": "dateTime", "text": "Seen at"},
                {
                    "linkId": "colour",
                    "type": "open-choice",
                    "text": "Colour",
                    "answerOption": [
                        {"valueCoding": {"system": COLOURS, "code": "red", "display": "Red"}}
                    ],
                },
            ],
        },
        {"linkId": "term", "type": "choice", "text": "Term", "answerValueSet": "http://x/vs"},
        {"linkId": "note", "type": "text", "text": "Note"},
        {"linkId": "name", "type": "string", "text": "Name"},
    ],
}


def compiled(library: Library, instrument_id: str) -> dict[str, Any]:
    return instrument_questionnaire(library.instruments[instrument_id])


def build(questionnaire: dict[str, Any], answers: Any, /, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("subject", "Patient/p1")
    kwargs.setdefault("authored", AUTHORED)
    return forms.build_response(questionnaire, answers, **kwargs)


def assert_valid(response: dict[str, Any]) -> None:
    assert fhirkit.validate(response) == []
    QuestionnaireResponse.model_validate(response)


def test_header_fields(library: Library) -> None:
    questionnaire = compiled(library, "nrs-pain")
    response = build(
        questionnaire,
        {"nrs": 6},
        encounter="Encounter/e1",
        author="Practitioner/d1",
        identifier={"system": "https://edc.example.org/fhir/sid/crf", "value": "S1.V3.nrs"},
        response_id="qr-1",
        status="in-progress",
    )
    assert response == {
        "resourceType": "QuestionnaireResponse",
        "id": "qr-1",
        "identifier": {"system": "https://edc.example.org/fhir/sid/crf", "value": "S1.V3.nrs"},
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "status": "in-progress",
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
        "authored": "2026-02-12T14:15:00+04:00",
        "author": {"reference": "Practitioner/d1"},
        "item": [{"linkId": "nrs", "answer": [{"valueInteger": 6}]}],
    }
    assert_valid(response)
    other = build(questionnaire, {}, canonical="https://x/Q|9", authored="2026-02-12")
    assert (other["questionnaire"], other["authored"]) == ("https://x/Q|9", "2026-02-12")
    assert "item" not in other


def test_choice_answers_carry_the_option_coding_and_weight(library: Library) -> None:
    questionnaire = compiled(library, "odi")
    response = build(questionnaire, {"odi-q01": "s1-3", "odi-q08": None})
    option = questionnaire["item"][0]["answerOption"][3]
    assert response["item"] == [
        {
            "linkId": "odi-q01",
            "answer": [
                {"valueCoding": {"extension": option["extension"], **option["valueCoding"]}}
            ],
        }
    ]
    coding = response["item"][0]["answer"][0]["valueCoding"]
    assert coding["extension"] == [{"url": ITEM_WEIGHT, "valueDecimal": 3}]
    assert set(coding) == {"extension", "system", "version", "code", "display"}
    assert_valid(response)


def test_loinc_answers_keep_loinc_codings(library: Library) -> None:
    response = build(compiled(library, "kps"), {"kps": "LA29177-5"})
    coding = response["item"][0]["answer"][0]["valueCoding"]
    assert (coding["system"], coding["code"]) == ("http://loinc.org", "LA29177-5")
    assert coding["extension"] == [{"url": ITEM_WEIGHT, "valueDecimal": 80}]


def test_repeating_groups_and_repeating_choices(library: Library) -> None:
    medd = build(
        compiled(library, "medd"),
        {
            "medd-none": False,
            "medd-entry": [
                {"medd-opioid": "oxycodone", "medd-dose": Decimal("20.5")},
                {},  # an empty repetition records nothing
                {"medd-opioid": "fentanyl-transdermal", "medd-patch": 25},
            ],
        },
    )
    assert [item["linkId"] for item in medd["item"]] == ["medd-none", "medd-entry", "medd-entry"]
    first, second = medd["item"][1]["item"], medd["item"][2]["item"]
    assert [i["linkId"] for i in first] == ["medd-opioid", "medd-dose"]
    assert first[1]["answer"] == [{"valueDecimal": 20.5}]
    assert [i["linkId"] for i in second] == ["medd-opioid", "medd-patch"]
    assert second[0]["answer"][0]["valueCoding"]["extension"][0]["valueDecimal"] == 2.4
    assert_valid(medd)

    procedure = build(
        compiled(library, "procedure-record"),
        {"cement-leakage": True, "leakage-sites": ["intradiscal", "venous"], "levels-treated": []},
    )
    [leakage, sites] = procedure["item"]
    assert leakage == {"linkId": "cement-leakage", "answer": [{"valueBoolean": True}]}
    assert [a["valueCoding"]["code"] for a in sites["answer"]] == ["intradiscal", "venous"]
    assert_valid(procedure)


def test_generic_item_types_and_transparent_groups() -> None:
    response = build(
        GENERIC,
        {
            "visit-date": dt.date(2026, 2, 1),
            "seen-at": AUTHORED,
            "colour": "mauve",
            "term": {"system": "http://x/cs", "code": "c1", "display": None},
            "note": "free text",
            "name": "A",
        },
    )
    assert response["item"] == [
        {
            "linkId": "visit",
            "item": [
                {"linkId": "visit-date", "answer": [{"valueDate": "2026-02-01"}]},
                {"linkId": "seen-at", "answer": [{"valueDateTime": "2026-02-12T14:15:00+04:00"}]},
                {"linkId": "colour", "answer": [{"valueString": "mauve"}]},
            ],
        },
        {"linkId": "term", "answer": [{"valueCoding": {"system": "http://x/cs", "code": "c1"}}]},
        {"linkId": "note", "answer": [{"valueString": "free text"}]},
        {"linkId": "name", "answer": [{"valueString": "A"}]},
    ]
    assert_valid(response)
    red = build(GENERIC, {"colour": "red", "seen-at": dt.date(2026, 2, 1)})["item"][0]["item"]
    assert red[0] == {"linkId": "seen-at", "answer": [{"valueDateTime": "2026-02-01"}]}
    assert red[1]["answer"] == [
        {"valueCoding": {"system": COLOURS, "code": "red", "display": "Red"}}
    ]


def test_integer_and_decimal_values(library: Library) -> None:
    questionnaire = compiled(library, "procedure-record")
    response = build(
        questionnaire,
        {"operation-time": Decimal("45"), "cement-volume": Decimal("4.5"), "ablation-power": 30},
    )
    assert [item["answer"][0] for item in response["item"]] == [
        {"valueInteger": 45},
        {"valueDecimal": 4.5},
        {"valueDecimal": 30},
    ]


def test_responses_share_no_mutable_parts(library: Library) -> None:
    template = forms.ResponseTemplate(compiled(library, "odi"))
    first = template.build({"odi-q01": "s1-2"}, subject="Patient/p1", authored=AUTHORED)
    first["item"][0]["answer"][0]["valueCoding"]["extension"][0]["valueDecimal"] = 99
    first["item"][0]["answer"][0]["valueCoding"]["code"] = "changed"
    second = template.build({"odi-q01": "s1-2"}, subject="Patient/p1", authored=AUTHORED)
    assert second["item"][0]["answer"][0]["valueCoding"]["code"] == "s1-2"
    assert second["item"][0]["answer"][0]["valueCoding"]["extension"][0]["valueDecimal"] == 2


@pytest.mark.parametrize(
    ("instrument_id", "answers", "message"),
    [
        ("odi", {"odi-q11": "s1-1"}, "the form: unknown linkId(s) odi-q11"),
        ("odi", {"odi-q01": "s2-1"}, "odi-q01: unknown answer code 's2-1'"),
        ("odi", {"odi-q01": ["s1-1", "s1-2"]}, "odi-q01: does not repeat"),
        (
            "medd",
            {"medd-entry": [{"medd-dose": 1, "dose": 2}]},
            "medd-entry: unknown linkId(s) dose",
        ),
        ("medd", {"medd-entry": {"medd-dose": 1}}, "medd-entry: repeats; give a list"),
        ("medd", {"medd-entry": ["oxycodone"]}, "medd-entry: expected a mapping"),
        ("medd", {"medd-dose": 1}, "unknown linkId(s) medd-dose"),
        ("medd", {"medd-none": "no"}, "medd-none: 'no' is not a valid boolean answer"),
        ("medd", {"medd-entry": [{"medd-dose": "10"}]}, "'10' is not a valid decimal answer"),
        ("medd", {"medd-entry": [{"medd-dose": True}]}, "True is not a valid decimal answer"),
        ("medd", {"medd-entry": [{"medd-dose": float("nan")}]}, "nan is not a valid decimal"),
        ("nrs-pain", {"nrs": 6.5}, "nrs: 6.5 is not a valid integer answer"),
        ("nrs-pain", {"nrs": True}, "nrs: True is not a valid integer answer"),
        ("procedure-record", {"leakage-sites": "venous"}, "leakage-sites: repeats; give a list"),
        ("eligibility-labs", {"lab-date": AUTHORED}, "is not a valid date answer"),
        ("kps", {"kps": {"code": "LA29177-5"}}, "is not a valid choice answer"),
    ],
)
def test_bad_answers_are_rejected(
    library: Library, instrument_id: str, answers: Any, message: str
) -> None:
    with pytest.raises(forms.AnswerError) as caught:
        build(compiled(library, instrument_id), answers)
    assert message in str(caught.value)


def test_bad_response_fields_are_rejected() -> None:
    with pytest.raises(forms.AnswerError, match="unknown QuestionnaireResponse status"):
        build(GENERIC, {}, status="done")
    with pytest.raises(forms.AnswerError, match="authored needs a time zone"):
        build(GENERIC, {}, authored=dt.datetime(2026, 1, 1))
    with pytest.raises(
        forms.AnswerError, match="seen-at: a dateTime with a time needs a time zone"
    ):
        build(GENERIC, {"seen-at": dt.datetime(2026, 1, 1, 8)})
    with pytest.raises(forms.AnswerError, match="name: '' is not a valid string answer"):
        build(GENERIC, {"name": ""})
    with pytest.raises(forms.AnswerError, match="expected a mapping of linkId to answer"):
        build(GENERIC, ["name"])


def test_unsupported_questionnaire_features_are_rejected() -> None:
    integer_options = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [{"linkId": "q", "type": "choice", "answerOption": [{"valueInteger": 1}]}],
    }
    with pytest.raises(forms.AnswerError, match="only valueCoding answer options"):
        forms.ResponseTemplate(integer_options)
    quantity = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [{"linkId": "q", "type": "quantity"}],
    }
    with pytest.raises(forms.AnswerError, match="q: quantity items are not supported"):
        build(quantity, {"q": 1})

"""SDC scores evaluated with FHIRPath on built responses agree with the Python scoring, and
calculated answers are written into responses in Questionnaire order."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

import fhirkit
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from edc import forms
from edc.compiler.questionnaire import instrument_questionnaire
from edc.library import load_library, scoring
from edc.library.answers import Answers
from edc.protocol.forms import walk_items

SCORED = sorted({instrument_id for instrument_id, _ in scoring.RULES})
CALC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
AUTHORED = dt.datetime(2026, 2, 12, 14, 15, tzinfo=dt.timezone(dt.timedelta(hours=4)))


@functools.cache
def compiled(
    instrument_id: str,
) -> tuple[dict[str, Any], forms.ResponseTemplate, forms.ScoreProgram]:
    questionnaire = instrument_questionnaire(load_library().instruments[instrument_id])
    return questionnaire, forms.ResponseTemplate(questionnaire), forms.score_program(questionnaire)


def with_skips(
    full: st.SearchStrategy[dict[str, Any]], ids: list[str]
) -> st.SearchStrategy[Answers]:
    """Fully answered mappings with some keys dropped: a few (complete forms come up often)
    or about half of them (the "enough items answered" limits come up often)."""
    few = st.sets(st.sampled_from(ids))
    half = st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)).map(
        lambda flags: {link_id for link_id, flag in zip(ids, flags, strict=True) if flag}
    )
    return st.tuples(full, few | half).map(
        lambda drawn: {k: v for k, v in drawn[0].items() if k not in drawn[1]}
    )


@functools.cache
def answers_strategy(instrument_id: str) -> st.SearchStrategy[Answers]:
    """Random answers, codes taken from the instrument file, any item possibly skipped."""
    instrument = load_library().instruments[instrument_id]
    codes = {
        item.id: [option.code for option in item.options] for item in walk_items(instrument.items)
    }
    if instrument_id != "medd":
        choices = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in codes.items()})
        return with_skips(choices, sorted(codes))
    amount = (
        st.integers(0, 400)
        | st.decimals(min_value=0, max_value=400, places=2)
        | st.floats(0, 400).map(lambda value: round(value, 1))
    )
    entry: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
        {
            "medd-opioid": st.sampled_from(codes["medd-opioid"]),
            "medd-dose": amount,
            "medd-patch": amount,
        }
    )
    # Mostly complete entries, sometimes with the opioid or the amount missing.
    entries = st.lists(with_skips(entry, ["medd-opioid", "medd-dose", "medd-patch"]), max_size=4)
    full: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
        {"medd-none": st.booleans(), "medd-entry": entries}
    )
    return with_skips(full, ["medd-none", "medd-entry"])


@pytest.mark.parametrize("instrument_id", SCORED)
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    # Each example evaluates FHIRPath (milliseconds): shrinking a failure would take minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
def test_fhirpath_scores_equal_python_scores(instrument_id: str, data: st.DataObject) -> None:
    _, template, program = compiled(instrument_id)
    answers = data.draw(answers_strategy(instrument_id))
    response = template.build(answers, subject="Patient/p1", authored=AUTHORED)

    fhirpath_scores = forms.evaluate_scores(program, response)
    python_scores = scoring.instrument_scores(instrument_id, answers)

    assert fhirpath_scores == python_scores
    for calc in program.calculations:
        value = fhirpath_scores[calc.link_id]
        assert value is None or isinstance(value, int if calc.item_type == "integer" else Decimal)
    # The generator's fast path (Python scores passed in as answers) builds exactly the
    # response a form filler would complete.
    written = forms.write_scores(program, response)
    assert written == template.build(
        {**answers, **python_scores}, subject="Patient/p1", authored=AUTHORED
    )
    assert fhirkit.validate(written) == []


def test_scores_read_decimals_exactly() -> None:
    questionnaire, template, _ = compiled("medd")
    entries: list[Answers] = [
        {"medd-opioid": "tramadol", "medd-dose": 0.1},
        {"medd-opioid": "codeine", "medd-dose": 1},
    ]
    response = template.build({"medd-entry": entries}, subject="Patient/p1", authored=AUTHORED)
    # 0.2 x 0.1 + 0.15 x 1 in binary floats is 0.17000000000000004.
    assert forms.evaluate_scores(questionnaire, response) == {"medd-total": Decimal("0.17")}


def test_write_scores_replaces_stale_and_removes_empty_scores() -> None:
    questionnaire, template, _ = compiled("qlq-bm22")
    answers = {f"bm22-q{n}": "2" for n in range(31, 36)} | {"bm22-ps": 99, "bm22-fi": 12}
    response = template.build(answers, subject="Patient/p1", authored=AUTHORED)
    written = forms.write_scores(questionnaire, response)
    scores = {item["linkId"]: item["answer"] for item in written["item"] if "answer" in item}
    assert scores["bm22-ps"] == [{"valueDecimal": 33.3}]
    assert "bm22-fi" not in scores  # no FI item answered: the stale 12 is removed
    assert response["item"][-1] == {"linkId": "bm22-fi", "answer": [{"valueDecimal": 12}]}


def _questionnaire(*items: dict[str, Any], extension: list[Any] | None = None) -> dict[str, Any]:
    questionnaire: dict[str, Any] = {"resourceType": "Questionnaire", "status": "active"}
    if extension:
        questionnaire["extension"] = extension
    questionnaire["item"] = list(items)
    return questionnaire


def _calculated(link_id: str, expression: str, item_type: str = "integer") -> dict[str, Any]:
    return {
        "linkId": link_id,
        "type": item_type,
        "readOnly": True,
        "extension": [
            {
                "url": CALC,
                "valueExpression": {"language": "text/fhirpath", "expression": expression},
            }
        ],
    }


def _answer_of(link_id: str) -> str:
    return f"%resource.repeat(item).where(linkId = '{link_id}').answer.value"


def _response(*items: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": "completed", "item": list(items)}


def test_scores_may_read_later_scores_and_variables() -> None:
    variable = {
        "url": "http://hl7.org/fhir/StructureDefinition/variable",
        "valueExpression": {
            "name": "x",
            "language": "text/fhirpath",
            "expression": _answer_of("x"),
        },
    }
    questionnaire = _questionnaire(
        {"linkId": "x", "type": "integer"},
        _calculated("doubled", f"{_answer_of('plus-one')} * 2"),
        _calculated("plus-one", "%x + 1"),
        extension=[variable],
    )
    stale = _response(
        {"linkId": "x", "answer": [{"valueInteger": 4}]},
        {"linkId": "plus-one", "answer": [{"valueInteger": 100}]},
    )
    assert forms.evaluate_scores(questionnaire, stale) == {"doubled": 10, "plus-one": 5}


def test_scores_in_groups_are_inserted_in_questionnaire_order() -> None:
    questionnaire = _questionnaire(
        {
            "linkId": "g",
            "type": "group",
            "item": [
                {"linkId": "x", "type": "decimal"},
                _calculated("half", f"{_answer_of('x')} / 2", "decimal"),
                {"linkId": "y", "type": "integer"},
            ],
        },
        {"linkId": "z", "type": "integer"},
    )
    x, y, z = ({"linkId": link_id, "answer": [{"valueInteger": 1}]} for link_id in ("x", "y", "z"))
    answered = _response({"linkId": "g", "item": [x, y]}, z)
    assert forms.write_scores(questionnaire, answered)["item"] == [
        {"linkId": "g", "item": [x, {"linkId": "half", "answer": [{"valueDecimal": 0.5}]}, y]},
        z,
    ]
    created = forms.write_scores(questionnaire, _response(z, {"linkId": "g", "item": [x]}))
    assert created["item"][1]["item"][1]["linkId"] == "half"
    stale_only = _response(
        {"linkId": "g", "item": [{"linkId": "half", "answer": [{"valueDecimal": 3}]}]}
    )
    assert "item" not in forms.write_scores(questionnaire, stale_only)
    assert forms.write_scores(questionnaire, _response(z))["item"] == [z]


@pytest.mark.parametrize(
    ("expression", "item_type", "message"),
    [
        ("%resource.repeat(item).answer.value", "integer", "the expression gave 2 values"),
        ("%nowhere + 1", "integer", "undefined environment variable"),
        ("2.5", "integer", "integer item, but the expression gave 2.5"),
        ("'text'", "decimal", "not a number"),
        ("true", "decimal", "not a number"),
    ],
)
def test_bad_expression_results_raise(expression: str, item_type: str, message: str) -> None:
    questionnaire = _questionnaire(
        {"linkId": "a", "type": "integer"},
        {"linkId": "b", "type": "integer"},
        _calculated("s", expression, item_type),
    )
    response = _response(
        {"linkId": "a", "answer": [{"valueInteger": 1}]},
        {"linkId": "b", "answer": [{"valueInteger": 2}]},
    )
    with pytest.raises(forms.ScoreError, match=message):
        forms.evaluate_scores(questionnaire, response)


def test_scores_that_never_settle_raise() -> None:
    questionnaire = _questionnaire(
        _calculated("a", f"iif({_answer_of('b')}.exists(), {_answer_of('b')} + 1, 1)"),
        _calculated("b", f"{_answer_of('a')} + 1"),
    )
    with pytest.raises(forms.ScoreError, match="cycle"):
        forms.evaluate_scores(questionnaire, _response())


def test_unsupported_calculations_raise() -> None:
    in_repeating_group = _questionnaire(
        {"linkId": "g", "type": "group", "repeats": True, "item": [_calculated("s", "1")]}
    )
    with pytest.raises(forms.ScoreError, match="s: calculated items that repeat"):
        forms.score_program(in_repeating_group)
    item_variable = _questionnaire(
        {
            "linkId": "q",
            "type": "integer",
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/variable"}],
        }
    )
    with pytest.raises(forms.ScoreError, match="q: item-level variables"):
        forms.score_program(item_variable)
    with pytest.raises(forms.ScoreError, match="calculated string items"):
        forms.score_program(_questionnaire(_calculated("s", "'x'", "string")))

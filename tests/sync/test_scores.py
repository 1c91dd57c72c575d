"""Ingest's recomputation of received scores (``edc.sync.scores``) on the library's instruments,
including a repeating group (MEDD) and a partly answered form: the score the library computes
is accepted, any other received value is reported with its linkId and both values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from edc import forms
from edc.compiler import instrument_questionnaire
from edc.library import load_library, scoring
from edc.sync import qcheck
from edc.sync.qindex import build_index
from edc.sync.scores import score_problems

AUTHORED = "2026-03-01T09:00:00+00:00"
BM22 = {f"bm22-q{n}": str(1 + n % 4) for n in range(31, 53) if n != 40}  # q40 unanswered
CASES: dict[str, dict[str, Any]] = {
    "odi": {f"odi-q{n:02}": f"s{n}-{n % 6}" for n in range(1, 11) if n != 8},
    "medd": {
        "medd-none": False,
        "medd-entry": [
            {"medd-opioid": "oxycodone", "medd-dose": Decimal("20")},
            {"medd-opioid": "fentanyl-transdermal", "medd-patch": Decimal("25")},
        ],
    },
    "qlq-bm22": BM22,
}


def _response(instrument_id: str, scores: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    questionnaire = instrument_questionnaire(load_library().instruments[instrument_id])
    index = build_index(questionnaire, {})
    answers = {**CASES[instrument_id], **scores}
    response = forms.build_response(questionnaire, answers, subject="Patient/p1",
                                    authored=AUTHORED)  # fmt: skip
    assert qcheck.check_response(index, response).problems == []
    return index, response


@pytest.mark.parametrize("instrument_id", sorted(CASES))
def test_the_library_scores_are_accepted_and_any_other_value_is_reported(
    instrument_id: str,
) -> None:
    true = {
        score_id: value
        for score_id, value in scoring.instrument_scores(
            instrument_id, CASES[instrument_id]
        ).items()
        if value is not None
    }
    assert true, "the case gives scores"
    index, response = _response(instrument_id, true)
    assert {link_id for link_id, _ in index.scores} >= set(true)
    assert score_problems(index, response) == []

    link_id = sorted(true)[0]
    wrong = true[link_id] + 7
    index, tampered = _response(instrument_id, {**true, link_id: wrong})
    assert score_problems(index, tampered) == [
        (
            f"QuestionnaireResponse.item.where(linkId='{link_id}')",
            f"score {link_id}: received {wrong}, recomputed from the answers {true[link_id]}",
        )
    ]


def test_a_response_without_its_scores_is_not_a_problem() -> None:
    index, response = _response("odi", {})
    assert score_problems(index, response) == []

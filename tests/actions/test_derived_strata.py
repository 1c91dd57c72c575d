"""A stratification factor derived from an item the study collects anyway: randomization reads
the frailty level from the frailty score's band, not from a separate stratum item that could
contradict it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edc import errors
from edc.forms.response import build_response
from tests.actions.sitetrial import SCREENING, make_site_trial
from tests.actions.test_randomize import enrolled, opened, randomized, screened
from tests.fixtures.database import Database

DERIVED = {
    "      source: {form: frailty, item: frailty}\n": (
        "      source:\n"
        "        form: frailty\n"
        "        item: frailty-score\n"
        "        bands: [{level: fit, below: 5}, {level: frail}]\n"
    ),
    "          - {code: frail, display: Frail}\n": (
        "          - {code: frail, display: Frail}\n"
        "      - {id: frailty-score, text: Frailty score (0-10), type: integer, min: 0, max: 10}\n"
    ),
}


def score_form(trial, patient: str, score: int | None, level: str = "fit") -> None:
    (questionnaire,) = [q for url, q in trial.compiled.questionnaires().items() if "frailty" in url]
    answers = {"frailty": level, **({"frailty-score": score} if score is not None else {})}
    response = build_response(
        questionnaire,
        answers,
        subject=f"Patient/{patient}",
        authored=f"{SCREENING.isoformat()}T10:00:00+01:00",
        response_id=f"{patient}-frailty",
        status="completed",
    )
    response["meta"] = {"versionId": "1", "lastUpdated": f"{SCREENING.isoformat()}T10:00:00+01:00"}
    trial.add("QuestionnaireResponse", response)
    trial.sync()


def test_randomization_reads_a_derived_stratum_from_the_data(
    database: Database, tmp_path: Path
) -> None:
    trial = screened(make_site_trial(database, tmp_path, changes=DERIVED))
    opened(trial, tmp_path)
    first = enrolled(trial, "p-ok", frailty=None)
    second = enrolled(trial, "p-boundary", frailty=None)
    score_form(trial, "p-ok", 7, level="fit")  # the separate item says fit: the score decides
    score_form(trial, "p-boundary", None)
    with pytest.raises(errors.BadInputError, match="factor frailty has no value"):
        randomized(trial, second)
    assert randomized(trial, first).stratum == "site=A1|frailty=frail"
    assert trial.rows("SELECT factors FROM allocation")[0][0] in (
        '{"site": "A1", "frailty": "frail"}',
        {"site": "A1", "frailty": "frail"},
    )

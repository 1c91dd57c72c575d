"""Entry of a form with visit-specific items: the page gets the visit filled into the hidden
visit item, and edc (not the browser) writes the visit the form is entered at."""

from __future__ import annotations

import json
from pathlib import Path

from edc.actions import capture
from edc.cli import main
from tests.synth.test_protocol_features import arm_protocol


def _status_questionnaire(tmp_path: Path) -> dict:
    path = tmp_path / "arms-01.yaml"
    path.write_text(arm_protocol())
    out = tmp_path / "bundle.json"
    assert main(["protocol", "compile", str(path), "--output", str(out)]) == 0
    resources = [e["resource"] for e in json.loads(out.read_text())["entry"]]
    return next(r for r in resources if r.get("title") == "Performance status")


def test_the_page_gets_the_visit_and_the_stored_form_says_the_visit_it_was_entered_at(
    tmp_path: Path,
) -> None:
    questionnaire = _status_questionnaire(tmp_path)
    at_baseline = capture.questionnaire_at(questionnaire, "BL")
    visit_item = next(i for i in at_baseline["item"] if i["linkId"] == "edc-visit")
    assert visit_item["initial"] == [{"valueString": "BL"}]
    assert "initial" not in next(i for i in questionnaire["item"] if i["linkId"] == "edc-visit")
    posted = {
        "resourceType": "QuestionnaireResponse",
        "item": [
            {"linkId": "kps", "answer": [{"valueInteger": 80}]},
            {"linkId": "edc-visit", "answer": [{"valueString": "W1"}]},  # the browser lies
        ],
    }
    stored = capture.with_visit(questionnaire, posted, "BL")
    visits = [i["answer"] for i in stored["item"] if i["linkId"] == "edc-visit"]
    assert visits == [[{"valueString": "BL"}]]
    # A form without visit-specific items is left alone.
    plain = {"item": [{"linkId": "kps"}]}
    assert capture.questionnaire_at(plain, "BL") == plain
    assert capture.with_visit(plain, posted, "BL") is posted

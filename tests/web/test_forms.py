"""CRF entry through the API: the same checks as synced responses, scores computed here,
every write named in the audit trail, bad input refused with nothing changed."""

from __future__ import annotations

import pytest

from tests.web.helpers import counts, odi_answers, response_for, rows
from tests.web.trial import Seeded

STUDY = "/api/v1/studies/MINI-01"


def _questionnaire(api, form: str) -> dict:
    answer = api.get(f"{STUDY}/forms/{form}/questionnaire")
    assert answer.status_code == 200
    return answer.json()


def _new_id(api, seeded: Seeded, code: str, form: str, visit: str) -> str:
    """The id a form page hands out (one submission each)."""
    page = api.get(f"/studies/MINI-01/subjects/{code}/forms/new?form={form}&visit={visit}")
    assert page.status_code == 200, page.text
    marker = 'data-resource-id="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def _submit(api, seeded: Seeded, code: str, form: str, visit: str, response: dict) -> object:
    body = {
        "form_id": form,
        "visit_id": visit,
        "resource_id": _new_id(api, seeded, code, form, visit),
        "response": response,
    }
    return api.send("POST", f"{STUDY}/subjects/{code}/forms", json=body)


def test_a_submitted_form_is_stored_with_its_score_and_audited_with_the_person(
    seeded: Seeded, as_user
) -> None:
    api = as_user("coord1")
    code = seeded.subject(0)
    api.send(
        "POST", f"{STUDY}/subjects/{code}/visits", json={"visit_id": "UNS", "date": "2026-03-24"}
    )
    odi = _questionnaire(api, "odi")
    stored = _submit(api, seeded, code, "odi", "W1", response_for(odi, odi_answers(odi, 2)))
    assert stored.status_code == 201, stored.text
    response_id = stored.json()["response_id"]
    values = dict(
        rows(
            seeded,
            "SELECT link_id, value_number FROM item_value "
            "WHERE response_id = :r AND value_type = 'decimal'",
            r=response_id,
        )
    )
    assert float(values["odi-total"]) == 40.0  # every section at level 2 of 5
    items = [
        str(i)
        for (i,) in rows(seeded, "SELECT id FROM item_value WHERE response_id = :r", r=response_id)
    ]
    audit = rows(
        seeded,
        "SELECT table_name, record_id, actor, role FROM audit_event WHERE "
        "(table_name = 'form_response' AND record_id = :r) OR table_name = 'item_value'",
        r=str(response_id),
    )
    mine = [(t, a, r) for t, record, a, r in audit if t == "form_response" or record in items]
    assert len(mine) == 1 + len(items) == 12
    assert {(a, r) for _, a, r in mine} == {("coord1", "site_staff")}
    resource = api.get(f"{STUDY}/subjects/{code}/forms/{response_id}").json()
    assert resource["author"]["display"] == "Coord1 (coord1)"
    assert resource["subject"]["reference"] == "Patient/w-p0"
    page = api.get(f"/studies/MINI-01/subjects/{code}/forms/{response_id}")
    assert "40" in page.text and "history" in page.text


def test_an_answer_outside_the_options_is_refused_and_nothing_changes(
    seeded: Seeded, as_user
) -> None:
    api = as_user("coord1")
    odi = _questionnaire(api, "odi")
    response = response_for(odi, odi_answers(odi, 1))
    response["item"][0]["answer"][0]["valueCoding"]["code"] = "s1-9"
    before = counts(seeded)
    refused = _submit(api, seeded, seeded.subject(0), "odi", "W1", response)
    assert refused.status_code == 422
    problems = refused.json()["problems"]
    assert any("s1-9" in p["message"] and "item[0]" in p["field"] for p in problems), problems
    assert counts(seeded) == before


def test_a_tampered_score_is_refused(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    odi = _questionnaire(api, "odi")
    response = response_for(odi, odi_answers(odi, 2))
    response["item"].append({"linkId": "odi-total", "answer": [{"valueDecimal": 99}]})
    before = counts(seeded)
    refused = _submit(api, seeded, seeded.subject(0), "odi", "W1", response)
    assert refused.status_code == 422
    assert "submitted 99, computed from the answers 40" in refused.text
    assert counts(seeded) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"resourceType": "Patient"}, "not a QuestionnaireResponse"),
        ({"questionnaire": "https://evil.example/Questionnaire/x"}, "answers https://evil"),
        ({"item": []}, "no answers"),
    ],
)
def test_a_malformed_submission_is_refused(seeded: Seeded, as_user, change, message) -> None:
    api = as_user("coord1")
    pain = _questionnaire(api, "pain")
    response = {**response_for(pain, {"nrs": 4}), **change}
    before = counts(seeded)
    refused = _submit(api, seeded, seeded.subject(0), "pain", "W1", response)
    assert refused.status_code == 422 and message in refused.json()["error"]
    assert counts(seeded) == before


def test_the_same_form_page_cannot_store_twice(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    pain = _questionnaire(api, "pain")
    code = seeded.subject(0)
    body = {
        "form_id": "pain",
        "visit_id": "W1",
        "resource_id": _new_id(api, seeded, code, "pain", "W1"),
        "response": response_for(pain, {"nrs": 4}),
    }
    assert api.send("POST", f"{STUDY}/subjects/{code}/forms", json=body).status_code == 201
    again = api.send("POST", f"{STUDY}/subjects/{code}/forms", json=body)
    assert again.status_code == 422 and "submitted already" in again.json()["error"]
    forged = {**body, "resource_id": "w-qp0-bl"}  # an id that is not one edc hands out
    assert api.send("POST", f"{STUDY}/subjects/{code}/forms", json=forged).status_code == 422


def test_a_form_for_a_visit_not_yet_done_is_refused(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    page = api.get(f"/studies/MINI-01/subjects/{seeded.subject(0)}/forms/new?form=ae&visit=UNS")
    assert page.status_code == 422 and "has not taken place" in page.text


def test_changing_a_stored_form_needs_a_reason_and_audits_it(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    code = seeded.subject(0)
    pain = _questionnaire(api, "pain")
    created = _submit(api, seeded, code, "pain", "W1", response_for(pain, {"nrs": 4})).json()
    url = f"{STUDY}/subjects/{code}/forms/{created['response_id']}"
    body = {"reason": "", "response": response_for(pain, {"nrs": 6})}
    assert api.send("PUT", url, json=body).status_code == 422
    body["reason"] = "transcription error: source says 6"
    changed = api.send("PUT", url, json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**created, "version": 2}
    history = api.get(
        f"{STUDY}/subjects/{code}/history/item_value/"
        f"{_item_id(seeded, created['response_id'], 'nrs')}"
    ).json()
    update = [h for h in history if h["action"] == "update" and h["field"] == "value_number"]
    assert [(h["old_value"], h["new_value"]) for h in update] == [('"4"', '"6"')]
    assert update[0]["actor"] == "coord1"
    assert update[0]["reason"].startswith("transcription error: source says 6")
    assert api.get(url).json()["status"] == "amended"


def _item_id(seeded: Seeded, response_id: int, link_id: str) -> int:
    found = rows(
        seeded,
        "SELECT id FROM item_value WHERE response_id = :r AND link_id = :l",
        r=response_id,
        l=link_id,
    )
    return int(found[0][0])


def test_a_monitor_may_read_but_not_enter_forms(seeded: Seeded, as_user) -> None:
    api = as_user("monitor")
    pain = _questionnaire(api, "pain")
    body = {
        "form_id": "pain",
        "visit_id": "W1",
        "resource_id": "edc-" + "0" * 32,
        "response": response_for(pain, {"nrs": 4}),
    }
    before = counts(seeded)
    refused = api.send("POST", f"{STUDY}/subjects/{seeded.subject(0)}/forms", json=body)
    assert refused.status_code == 403 and "may not enter data" in refused.json()["error"]
    assert counts(seeded) == before


def test_a_synced_value_history_comes_from_its_received_version(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    code = seeded.subject(0)
    item_id, value = rows(
        seeded,
        "SELECT i.id, i.value_number FROM item_value i "
        "JOIN form_response r ON r.id = i.response_id JOIN subject s ON s.id = r.subject_id "
        "WHERE s.subject_code = :c AND i.link_id = 'nrs' ORDER BY i.id",
        c=code,
    )[0]
    history = api.get(f"{STUDY}/subjects/{code}/history/item_value/{item_id}").json()
    # No audit row of its own: the received version's audit row says who and when.
    assert [(h["action"], h["actor"], h["field"], h["new_value"]) for h in history] == [
        ("insert", "edc sync", "nrs", str(int(value)))
    ]

"""Adverse event entry through the API: CTCAE terms and their grades, seriousness, the
reporting clock, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from edc.actions.adverse_events import reporting_clock
from tests.web.helpers import counts, rows
from tests.web.trial import Seeded

STUDY = "/api/v1/studies/MINI-01"
# Grade 3 Back pain; site aware two hours after onset; reported "now" (2026-03-25 10:00 +08).
SERIOUS = {
    "term": "Back pain",
    "grade": 3,
    "serious": True,
    "onset": "2026-03-24T20:15:00+08:00",
    "aware_at": "2026-03-24T22:15:00+08:00",
    "criteria": ["C83052"],
    "relatedness": "C53258",
    "outcome": "C49494",
}


def test_the_term_search_covers_every_ctcae_term_with_its_grades(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    found = api.get(f"{STUDY}/ctcae-terms", params={"q": "back pa"}).json()
    assert found[0]["term"] == "Back pain"
    assert set(found[0]["grades"]) == {"1", "2", "3"}  # Back pain defines no grade 4 or 5
    cord = api.get(f"{STUDY}/ctcae-terms", params={"q": "spinal cord compression"}).json()
    assert "1" not in cord[0]["grades"]
    other = api.get(f"{STUDY}/ctcae-terms", params={"q": "other, specify", "limit": 100}).json()
    assert len(other) >= 20 and all(t["needs_specify"] for t in other)
    one = api.get(f"{STUDY}/ctcae-terms/{found[0]['meddra_code']}").json()
    assert one["term"] == "Back pain"


def test_a_serious_event_is_recorded_and_starts_its_reporting_clock(
    seeded: Seeded, as_user
) -> None:
    api = as_user("coord1")
    code = seeded.subject(0)
    created = api.send("POST", f"{STUDY}/subjects/{code}/adverse-events", json=SERIOUS)
    assert created.status_code == 201, created.text
    ae_id = created.json()["id"]
    stored = rows(
        seeded,
        "SELECT ctcae_term, grade, serious, onset_date, reported_at FROM "
        "adverse_event WHERE id = :i",
        i=ae_id,
    )
    assert stored[0][:3] == ("Back pain", 3, True)
    assert str(stored[0][3]) == "2026-03-24"  # the onset day where it happened (+08:00)
    audit = rows(
        seeded,
        "SELECT actor, role FROM audit_event WHERE table_name = 'adverse_event' AND record_id = :i",
        i=str(ae_id),
    )
    assert audit == [("coord1", "site_staff")]
    dashboard = api.get(f"{STUDY}/dashboard").json()
    event = next(e for e in dashboard["serious_events"] if e["adverse_event_id"] == ae_id)
    assert event["clock"]["state"] == "on time"
    assert event["clock"]["due_at"] == "2026-03-25T14:15:00Z"  # aware + 24 h (protocol)
    casebook = api.get(f"{STUDY}/subjects/{code}").json()
    assert any(ae["id"] == ae_id and ae["serious"] for ae in casebook["adverse_events"])


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"grade": 5, "outcome": "C48275", "criteria": ["C48275"]}, "grade", "not defined"),
        ({"term": "Nausea and vomiting"}, "term", "not a CTCAE 5.0 term"),
        ({"criteria": []}, "criteria", "at least one"),
        ({"serious": False}, "criteria", "non-serious event has no"),
        ({"onset": "2026-03-26T08:00:00+08:00"}, "onset", "future"),
        ({"outcome": "C49498"}, "resolved_at", "needs the date"),
        (
            {"term": "Injury, poisoning and procedural complications - Other, specify"},
            "verbatim",
            "Other, specify",
        ),
    ],
)
def test_a_wrong_adverse_event_is_refused_naming_the_field(
    seeded: Seeded, as_user, change, field, message
) -> None:
    api = as_user("coord1")
    before = counts(seeded)
    refused = api.send(
        "POST", f"{STUDY}/subjects/{seeded.subject(0)}/adverse-events", json={**SERIOUS, **change}
    )
    assert refused.status_code == 422
    problems = refused.json()["problems"]
    assert any(p["field"] == field and message in p["message"] for p in problems), problems
    assert counts(seeded) == before


def test_other_specify_keeps_the_verbatim_text(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    body = {
        **SERIOUS,
        "serious": False,
        "criteria": [],
        "grade": 1,
        "outcome": "C49496",
        "term": "Injury, poisoning and procedural complications - Other, specify",
        "verbatim": "bone cement leakage",
    }
    created = api.send("POST", f"{STUDY}/subjects/{seeded.subject(0)}/adverse-events", json=body)
    assert created.status_code == 201, created.text
    raw = rows(
        seeded,
        "SELECT r.json_text FROM raw_resource r JOIN adverse_event a ON "
        "a.raw_resource_id = r.id WHERE a.id = :i",
        i=created.json()["id"],
    )
    assert '"text":"bone cement leakage"' in raw[0][0]


def test_the_reporting_clock() -> None:
    aware = dt.datetime(2027, 1, 1, 8, tzinfo=dt.UTC)
    late = aware + dt.timedelta(hours=30)
    assert reporting_clock(aware, late, 24, late).state == "late"
    assert reporting_clock(aware, None, 24, aware + dt.timedelta(hours=2)).state == "due"
    assert reporting_clock(aware, None, 24, late).state == "overdue"
    assert reporting_clock(None, None, 24, late).state == "unknown"

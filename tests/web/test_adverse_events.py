"""Adverse event entry through the API: CTCAE terms and their grades, seriousness, the
reporting clock, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from edc import errors
from edc.actions import entry
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


def test_the_page_refuses_an_undefined_grade_and_offers_the_terms_grades(
    seeded: Seeded, as_user
) -> None:
    api = as_user("coord1")
    before = counts(seeded)
    page = f"/studies/MINI-01/subjects/{seeded.subject(0)}/adverse-events"
    form = {
        "term": "Back pain",
        "grade": "5",
        "serious": "yes",
        "criteria": ["C48275"],
        "onset": "2026-03-24T20:15",
        "relatedness": "C53258",
        "outcome": "C48275",
        "tz_offset": "+08:00",
    }
    refused = api.send("POST", page, data=form)
    assert refused.status_code == 422
    assert "grade 5 is not defined for Back pain (grades: 1, 2, 3)" in refused.text
    shown = {int(g) for g in re.findall(r'name="grade" value="(\d)"', refused.text)}
    assert shown == {1, 2, 3}  # the page shown again offers Back pain's grades only
    blank = api.get(f"{page}/new")
    assert {int(g) for g in re.findall(r'name="grade" value="(\d)"', blank.text)} == {1, 2, 3, 4, 5}
    assert counts(seeded) == before


def test_the_dashboard_tells_unexpected_serious_events(seeded: Seeded, as_user) -> None:
    # The expected list names Radiculitis; an "Other, specify" event is expected only for the
    # specify text the protocol lists (none in this protocol), so seed migration is unexpected.
    api = as_user("coord1")
    other = "Injury, poisoning and procedural complications - Other, specify"
    for term, verbatim in (("Radiculitis", ""), (other, "seed migration")):
        body = {**SERIOUS, "term": term, "verbatim": verbatim}
        created = api.send(
            "POST", f"{STUDY}/subjects/{seeded.subject(0)}/adverse-events", json=body
        )
        assert created.status_code == 201, created.text
    lines = api.get(f"{STUDY}/dashboard").json()["serious_events"]
    told = {(e["term"], e["verbatim"], e["expected"]) for e in lines}
    assert {("Radiculitis", None, True), (other, "seed migration", False)} <= told
    page = api.get("/studies/MINI-01").text
    assert "seed migration" in page and "unexpected" in page


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
    stored = rows(
        seeded,
        "SELECT verbatim, onset_date, onset_at FROM adverse_event WHERE id = :i",
        i=created.json()["id"],
    )
    # The text tells this "Other, specify" event apart; the onset keeps its time (UTC).
    assert stored[0][0] == "bone cement leakage"
    assert str(stored[0][1]) == "2026-03-24"
    assert _utc(stored[0][2]) == dt.datetime(2026, 3, 24, 12, 15, tzinfo=dt.UTC)


def _utc(value: object) -> dt.datetime:
    # SQLite hands back text, PostgreSQL an aware datetime.
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, dt.datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _entered_resource(seeded: Seeded, ae_id: int) -> tuple[dict[str, Any], str]:
    (found,) = rows(
        seeded,
        "SELECT r.json_text, r.source FROM raw_resource r JOIN adverse_event a ON "
        "a.raw_resource_id = r.id WHERE a.id = :i",
        i=ae_id,
    )
    return json.loads(found[0]), str(found[1])


def _grade(resource: dict[str, Any], code: str) -> None:
    for extension in resource["extension"]:
        if extension["url"].endswith("/ae-grade"):
            extension["valueCodeableConcept"]["coding"][0]["code"] = code


@pytest.mark.parametrize(
    ("grade_code", "message"),
    [
        ("C48275", "grade 5 is not defined for Back pain (grades: 1, 2, 3)"),
        ("C48275", "grade 5 (death) and outcome fatal go together"),
        ("C41338", "grade 5 (death) and the seriousness criterion results in death"),
    ],
)
def test_ingest_refuses_grades_the_term_does_not_define_and_death_without_grade_5(
    seeded: Seeded, as_user, grade_code: str, message: str
) -> None:
    """The checks of the sync itself, for events that did not come through the entry page."""
    api = as_user("coord1")
    created = api.send("POST", f"{STUDY}/subjects/{seeded.subject(0)}/adverse-events", json=SERIOUS)
    assert created.status_code == 201, created.text
    resource, source = _entered_resource(seeded, created.json()["id"])
    resource["id"] = "from-another-system"
    _grade(resource, grade_code)
    if grade_code == "C41338":  # grade 1, but the event "results in death"
        criterion = next(e for e in resource["extension"] if "seriousness" in e["url"])
        criterion["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "C48275"
    before = counts(seeded)
    with pytest.raises(errors.ProblemsError) as refused:
        entry.ingest_entered(
            seeded.database.engine,
            study_code="MINI-01",
            source=source,
            resource=resource,
            person=entry.Person("coord1", "site_staff"),
            clock=seeded.clock,
        )
    messages = [problem.message for problem in refused.value.problems]
    assert any(message in m for m in messages), messages
    assert counts(seeded) == before


def test_an_entered_event_has_a_core_severity(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    created = api.send("POST", f"{STUDY}/subjects/{seeded.subject(0)}/adverse-events", json=SERIOUS)
    resource, _ = _entered_resource(seeded, created.json()["id"])
    assert resource["severity"]["coding"][0]["code"] == "severe"  # grade 3


def test_the_reporting_clock() -> None:
    aware = dt.datetime(2027, 1, 1, 8, tzinfo=dt.UTC)
    late = aware + dt.timedelta(hours=30)
    assert reporting_clock(aware, late, 24, late).state == "late"
    assert reporting_clock(aware, None, 24, aware + dt.timedelta(hours=2)).state == "due"
    assert reporting_clock(aware, None, 24, late).state == "overdue"
    assert reporting_clock(None, None, 24, late).state == "unknown"

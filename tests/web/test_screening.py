"""The screening worklist API on PostgreSQL: criteria with evidence, consent, enrollment,
randomization with the arm masked for blinded staff, and site scoping of every endpoint.

The trial is the double-blind three-arm study of ``tests.actions.sitetrial`` (sites A1, B2),
its hospital data synced and pre-screened; users log in with the web tests' password.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from edc.actions import randomize, screen
from edc.warehouse import audit, db
from edc.warehouse.tables import UserRow
from edc.web.app import create_app
from edc.web.routes import screening as screening_routes
from tests.actions.sitetrial import SCREENING, STUDY, SiteTrial, make_site_trial
from tests.fixtures.database import Database
from tests.web.conftest import Api, login
from tests.web.trial import password_hash

A1 = f"/api/v1/studies/{STUDY}/sites/A1"
B2 = f"/api/v1/studies/{STUDY}/sites/B2"
# Tables a refused request must leave as they were.
WATCHED = (
    "patient_link",
    "consent",
    "subject",
    "allocation",
    "outbox_message",
    "screening_record",
    "audit_event",
)


@pytest.fixture
def trial(postgres_database: Database, tmp_path: Path) -> SiteTrial:
    trial = make_site_trial(postgres_database, tmp_path)
    with trial.workspace("dm") as workspace:
        screen.screen(workspace, screen.ScreenRequest(study=STUDY, as_of=SCREENING))
    with db.transaction(postgres_database.sessionmaker) as session:
        audit.bind(session, actor="test set-up", role="admin", clock=trial.clock)
        with audit.reason(session, "test passwords"):
            for user in session.scalars(select(UserRow)):
                user.password_hash = password_hash()
    return trial


@pytest.fixture
def client_for(trial: SiteTrial) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(username: str) -> Api:
        app = create_app(trial.settings, clock=trial.clock, engine=trial.database.engine)
        client = TestClient(app, base_url="http://127.0.0.1")
        clients.append(client)
        return login(client, username)

    yield make
    for client in clients:
        client.close()


def counts(trial: SiteTrial) -> dict[str, int]:
    return {table: trial.count(table) for table in WATCHED}


def consent_body() -> dict[str, str]:
    return {"signed": "2027-03-01", "form_version": "2.1", "obtained_by": "Dr. Alpha"}


def test_the_worklist_shows_each_criterion_with_its_evidence_for_the_own_site_only(
    client_for: Any,
) -> None:
    coord = client_for("coord-a")
    found = coord.get(f"{A1}/worklist")
    assert found.status_code == 200, found.text
    body = found.json()
    patients = {c["patient"]: c for c in body["candidates"]}
    assert set(patients) == {"p-ok", "p-anemic", "p-nolab", "p-stale", "p-boundary", "p-pregnant"}
    assert body["candidates"][0]["status"] == "candidate"
    ok = {c["criterion_id"]: c for c in patients["p-ok"]["criteria"]}
    assert ok["IN03"]["assessment"] == "investigator" and ok["IN03"]["passes"] is None
    assert any(e.startswith("Observation/p-ok-hb") for c in ok.values() for e in c["evidence"])
    anemic = patients["p-anemic"]
    assert anemic["status"] == "screen failure"
    assert any(
        c["passes"] is False and "7.5" in " ".join(c["evidence"]) for c in anemic["criteria"]
    )
    assert "inv-a" in body["investigators"] and body["randomization_open"] is False
    # The other site's worklist, and its patients, stay out of reach.
    other = coord.get(f"{B2}/worklist")
    assert other.status_code == 403 and "B2" in other.json()["error"]
    page = coord.get(f"/studies/{STUDY}/sites/A1/screening")
    assert page.status_code == 200 and "p-ok" in page.text and "p-b-ok" not in page.text


def test_consent_enroll_and_randomize_through_the_api_with_the_arm_masked(
    trial: SiteTrial, client_for: Any, tmp_path: Path
) -> None:
    coord = client_for("coord-a")
    consented = coord.send("POST", f"{A1}/patients/p-ok/consent", json=consent_body())
    assert consented.status_code == 201, consented.text
    refused = coord.send(
        "POST", f"{A1}/patients/p-ok/enrollment", json={"investigator": "inv-a", "confirm": {}}
    )
    assert refused.status_code == 422 and "IN03" in refused.text
    assert trial.count("subject") == 0
    enrolled = coord.send(
        "POST",
        f"{A1}/patients/p-ok/enrollment",
        json={"investigator": "inv-a", "confirm": {"IN03": True}},
    )
    assert enrolled.status_code == 201, enrolled.text
    subject = enrolled.json()["subject"]
    assert subject == "A1-0001"
    with trial.workspace("unblinded") as workspace:
        randomize.open_randomization(workspace, STUDY, tmp_path / "seed.hex")
    trial.frailty_form("p-ok", "fit")
    trial.sync()
    drawn = coord.send("POST", f"/api/v1/studies/{STUDY}/subjects/{subject}/randomization")
    assert drawn.status_code == 201, drawn.text
    assert drawn.json()["arm"] == "(blinded)" and drawn.json()["sequence"] == 1
    line = next(c for c in coord.get(f"{A1}/worklist").json()["candidates"] if c["subject"])
    assert line["status"] == "randomized" and line["arm"] == "(blinded)"
    (arm,) = trial.rows("SELECT arm FROM allocation")
    assert arm[0] in {"ARM-A", "ARM-B", "ARM-C"}
    # Every write names the logged-in person.
    actors = {row[0] for row in trial.rows("SELECT DISTINCT actor FROM audit_event")}
    assert "coord-a" in actors
    again = coord.send("POST", f"/api/v1/studies/{STUDY}/subjects/{subject}/randomization")
    assert again.status_code == 422 and "already randomized" in again.json()["error"]


def test_ids_of_another_site_get_403_or_404_and_change_nothing(
    trial: SiteTrial, client_for: Any
) -> None:
    coord_a, coord_b = client_for("coord-a"), client_for("coord-b")
    assert (
        coord_a.send("POST", f"{A1}/patients/p-ok/consent", json=consent_body()).status_code == 201
    )
    enrolled = coord_a.send(
        "POST",
        f"{A1}/patients/p-ok/enrollment",
        json={"investigator": "inv-a", "confirm": {"IN03": True}},
    )
    assert enrolled.status_code == 201
    before = counts(trial)
    # The site in the URL is not theirs: 403 naming the site.
    for url, body in (
        (f"{A1}/screening", None),
        (f"{A1}/patients/p-anemic/consent", consent_body()),
        (f"{A1}/patients/p-ok/enrollment", {"investigator": "inv-a", "confirm": {}}),
    ):
        refused = coord_b.send("POST", url, json=body)
        assert refused.status_code == 403, (url, refused.text)
    # Their own site in the URL, another site's patient or subject: not found, nowhere said.
    hidden = coord_b.send("POST", f"{B2}/patients/p-anemic/consent", json=consent_body())
    assert hidden.status_code == 404 and "A1" not in hidden.json()["error"]
    subject = coord_b.send("POST", f"/api/v1/studies/{STUDY}/subjects/A1-0001/randomization")
    assert subject.status_code == 404
    assert coord_b.get(f"{A1}/worklist").status_code == 403
    # A monitor may not screen at all.
    assert client_for("monitor").get(f"{A1}/worklist").status_code == 403
    assert counts(trial) == before


def test_bad_input_gets_a_clear_error_and_changes_nothing(
    trial: SiteTrial, client_for: Any
) -> None:
    coord = client_for("coord-a")
    before = counts(trial)
    url = f"{A1}/patients/p-ok/consent"
    no_csrf = coord.client.post(url, json=consent_body())
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["error"]
    future = coord.send("POST", url, json={**consent_body(), "signed": "2099-01-01"})
    assert future.status_code == 422 and "future" in future.json()["error"]
    tampered = coord.send("POST", url, json={**consent_body(), "signed": "yesterday"})
    assert tampered.status_code == 422 and "signed" in tampered.text
    page_form = coord.send(
        "POST",
        f"/studies/{STUDY}/sites/A1/patients/p-ok/enrollment",
        data={"investigator": "inv-a", "confirm_IN03": "maybe"},
    )
    assert page_form.status_code == 422 and "confirm_IN03" in page_form.text
    unknown = coord.send("POST", f"{A1}/patients/nobody/consent", json=consent_body())
    assert unknown.status_code == 404 and "nobody" in unknown.json()["error"]
    assert counts(trial) == before
    trial.clock.advance(dt.timedelta(hours=2))
    expired = coord.send("POST", url, json=consent_body())
    assert expired.status_code == 401 and "expired" in expired.json()["error"]
    assert counts(trial) == before


def test_the_page_walks_consent_to_enrollment_with_form_posts(
    trial: SiteTrial, client_for: Any
) -> None:
    coord = client_for("coord-a")
    base = f"/studies/{STUDY}/sites/A1"
    posted = coord.send(
        "POST",
        f"{base}/patients/p-ok/consent",
        data={**consent_body(), "signed": "2027-03-01"},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and posted.headers["location"].endswith("#patient-p-ok")
    page = coord.get(f"{base}/screening")
    assert "Enroll p-ok" in page.text and "IN03" in page.text
    enrolled = coord.send(
        "POST",
        f"{base}/patients/p-ok/enrollment",
        data={"investigator": "inv-a", "confirm_IN03": "yes"},
        follow_redirects=False,
    )
    assert enrolled.status_code == 303
    assert "subject A1-0001" in coord.get(f"{base}/screening").text


def test_the_worklist_is_paged_in_the_api_and_on_the_page(
    client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    coord = client_for("coord-a")
    whole = coord.get(f"{A1}/worklist").json()
    order = [c["patient"] for c in whole["candidates"]]
    assert len(order) == whole["total"] == 6 and whole["offset"] == 0
    walked = []
    for offset in (0, 2, 4, 6):
        found = coord.get(f"{A1}/worklist", params={"offset": offset, "limit": 2})
        assert found.status_code == 200, found.text
        assert found.headers["X-Total-Count"] == "6"
        body = found.json()
        assert body["total"] == 6 and body["offset"] == offset
        assert body["numbers"] == whole["numbers"]  # the site's figures count every patient
        walked += [c["patient"] for c in body["candidates"]]
    assert walked == order  # every patient once, in the worklist's order
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        refused = coord.get(f"{A1}/worklist", params=bad)
        assert refused.status_code == 422, bad
    parameters = {
        p["name"]
        for p in coord.get("/api/v1/openapi.json").json()["paths"][
            "/api/v1/studies/{study}/sites/{site}/worklist"
        ]["get"]["parameters"]
    }
    assert {"offset", "limit"} <= parameters
    # The page: PAGE_SIZE patients a page, a pager, and ?patient= opens the patient's page.
    monkeypatch.setattr(screening_routes, "PAGE_SIZE", 2)
    page = f"/studies/{STUDY}/sites/A1/screening"
    first = coord.get(page).text
    assert "page 1 of 3 (patients 1\u20132 of 6)" in first and 'rel="next"' in first
    assert f'id="patient-{order[0]}"' in first and f'id="patient-{order[2]}"' not in first
    last = coord.get(page, params={"page": 3}).text
    assert f'id="patient-{order[5]}"' in last and f'id="patient-{order[0]}"' not in last
    assert 'rel="prev"' in last and 'rel="next"' not in last
    found = coord.get(page, params={"patient": order[3]}).text
    assert "page 2 of 3" in found and f'id="patient-{order[3]}"' in found

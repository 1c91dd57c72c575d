"""The issue's site journey in a real browser, from pre-screening to an adverse event, against
`edc serve` over a SQLite warehouse: a coordinator of site 01 logs in, pre-screens, records
consent, enrolls (the investigator's criterion confirmed), randomizes (open-label: the arm is
shown), records the baseline visit, fills VAS and ODI and sees the score, records a grade 3
adverse event; then a coordinator of site 02 sees none of it.

Hospital patients who are not subjects yet are synced with the trial (two at site 01, one at
site 02) and randomization is opened before the server starts. Screenshots of each step go to
the directory the test prints (``tests/fixtures/browser.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edc.actions import protocol, randomize
from edc.actions.workspace import Workspace
from tests.sync.protocols import Protocols, StudyFile
from tests.web.helpers import rows
from tests.web.served import Served, served
from tests.web.test_browser import Steps, choose, log_in, wait_for_form
from tests.web.trial import STUDY, Seeded, add_users, with_vas

LOINC = "http://loinc.org"
CANDIDATE = "w-cand1"  # site 01, adult, platelets fine: a candidate
TOO_YOUNG = "w-young"  # site 01, a child: a screen failure
ELSEWHERE = "w-cand2"  # site 02


def hospital_patient(pid: str, birth: str, site_name: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"versionId": "1", "lastUpdated": "2026-03-01T08:00:00+00:00"},
        "birthDate": birth,
        "managingOrganization": {"display": site_name},
    }


def platelets(pid: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{pid}-plt",
        "meta": {"versionId": "1", "lastUpdated": "2026-03-02T08:00:00+00:00"},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "777-3", "display": "Platelets"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-03-02T07:30:00+00:00",
        "valueQuantity": {
            "value": value,
            "unit": "10*9/L",
            "system": "http://unitsofmeasure.org",
            "code": "10*9/L",
        },
    }


HOSPITAL = {
    "Patient": [
        hospital_patient(CANDIDATE, "1968-05-04", "Site One"),
        hospital_patient(TOO_YOUNG, "2015-01-01", "Site One"),
        hospital_patient(ELSEWHERE, "1971-09-09", "Site Two"),
    ],
    "Observation": [platelets(CANDIDATE, 210), platelets(ELSEWHERE, 180)],
}


def with_vas_at_baseline(protocols: Protocols) -> StudyFile:
    """The VAS study with VAS collected at baseline too (the new subject's first visit)."""
    base = with_vas(protocols)
    text = base.path.read_text().replace(
        "forms: [pain, odi, eligibility]}", "forms: [pain, vas, odi, eligibility]}", 1
    )
    path = base.path.with_name("with-vas-at-baseline.yaml")
    path.write_text(text)
    return StudyFile(path, protocol.check(path))


def open_randomization(seeded: Seeded) -> None:
    database = seeded.database
    add_users(
        database.sessionmaker,
        seeded.clock,
        {
            "inv1": (STUDY, "01", "investigator"),
            "unblinded": (STUDY, None, "unblinded_statistician"),
        },
    )
    workspace = Workspace(database.engine, seeded.clock, "unblinded")
    randomize.open_randomization(workspace, STUDY, seeded.settings.data_dir / "seed.hex")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, protocols: Protocols) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("served-enrollment")
    (directory / "data").mkdir(exist_ok=True)
    with served(
        directory,
        protocols,
        study=with_vas_at_baseline(protocols),
        extra=HOSPITAL,
        prepare=open_randomization,
    ) as running:
        yield running


@pytest.fixture
def page(browser: Any, server: Served) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(45_000)
    page = context.new_page()
    yield page
    context.close()


def test_a_coordinator_takes_a_patient_from_pre_screening_to_an_adverse_event(
    page: Any, server: Served, artifacts: Path
) -> None:
    print(f"screenshots: {artifacts}")
    steps = Steps(page, artifacts)
    worklist = f"/studies/{STUDY}/sites/01/screening"
    log_in(page, "coord1")
    page.get_by_role("link", name=STUDY).click()
    page.get_by_role("link", name="worklist").first.click()
    page.get_by_role("heading", name=re.compile("Screening worklist")).wait_for()
    steps.shot("worklist-empty")

    # Pre-screen: the candidate first, each criterion with its status and evidence.
    page.get_by_role("button", name="Pre-screen the site's patients").click()
    row = page.locator(f"#patient-{CANDIDATE}")
    row.wait_for()
    assert "candidate" in row.inner_text()
    row.locator("summary").click()
    criteria = row.locator("table.criteria").inner_text()
    assert "IN01" in criteria and "EX01" in criteria and "investigator confirms" in criteria
    assert f"Observation/{CANDIDATE}-plt" in criteria and "210" in criteria
    assert "screen failure" in page.locator(f"#patient-{TOO_YOUNG}").inner_text()
    assert ELSEWHERE not in page.locator("main").inner_text()
    steps.shot("pre-screened")

    # Consent, then enrollment with the investigator's confirmation.
    consent = page.get_by_role("form", name=f"Consent of {CANDIDATE}")
    consent.get_by_label("Consent form version").fill("1.0")
    consent.get_by_label("Obtained by").fill("Dr. One")
    steps.shot("consent")
    consent.get_by_role("button", name="Record consent").click()
    enrollment = page.get_by_role("form", name=f"Enrollment of {CANDIDATE}")
    enrollment.get_by_label("Investigator signing off").select_option("inv1")
    enrollment.get_by_role("group", name=re.compile("^IN02")).get_by_label("holds").first.check()
    steps.shot("enrollment")
    enrollment.get_by_role("button", name=f"Enroll {CANDIDATE}").click()
    row = page.locator(f"#patient-{CANDIDATE}")
    subject = re.search(r"subject (01-\d{4})", row.inner_text())
    assert subject is not None, row.inner_text()
    code = subject.group(1)
    assert "enrolled" in row.inner_text()

    # Randomization: open-label, so the coordinator sees the arm.
    page.get_by_role("button", name=f"Randomize {code}").click()
    row = page.locator(f"#patient-{CANDIDATE}")
    row.get_by_text("randomized").wait_for()
    arm = row.locator(".arm").inner_text()
    assert arm in ("ARM-A", "ARM-B")
    steps.shot("randomized")

    # The subject page: record the baseline visit, then VAS and ODI with the score live.
    row.get_by_role("link", name=f"subject {code}").click()
    page.get_by_role("heading", name=f"Subject {code}", exact=True).wait_for()
    visit = page.get_by_role("form", name="Record a visit")
    visit.get_by_label("Visit").select_option("BL")
    visit.get_by_label("Date").fill(dt.datetime.now(dt.UTC).date().isoformat())
    visit.get_by_role("button", name="Record visit").click()
    page.get_by_role("link", name=re.compile(r"Enter Pain intensity \(VAS")).first.click()
    wait_for_form(page)
    page.get_by_label(re.compile("^Pain on the 10 cm line")).fill("6.5")
    page.get_by_role("button", name="Submit form").click()
    page.get_by_role("heading", name=f"Subject {code}", exact=True).wait_for()
    page.get_by_role("link", name=re.compile("Enter Oswestry")).first.click()
    wait_for_form(page)
    total = page.get_by_label(re.compile(r"^ODI score"))
    for section in range(1, 11):
        choose(page, f"Section {section}:", "statement 2")
    # Every section at level 1 of 5: 100 x 10 / 50, shown live and stored as shown.
    assert float(total.input_value()) == 20.0
    steps.shot("odi-score-live")
    page.get_by_role("button", name="Submit form").click()
    page.get_by_role("heading", name=f"Subject {code}", exact=True).wait_for()
    steps.shot("forms-stored")
    stored = rows(
        server.seeded,
        "SELECT i.link_id, i.value_number FROM item_value i JOIN form_response f "
        "ON f.id = i.response_id JOIN subject s ON s.id = f.subject_id "
        "WHERE s.subject_code = :c AND i.link_id IN ('odi-total', 'vas')",
        c=code,
    )
    assert {link: float(value) for link, value in stored} == {"odi-total": 20.0, "vas": 6.5}

    # A grade 3 adverse event.
    page.get_by_role("link", name="Record an adverse event").click()
    term = page.get_by_label(re.compile("^CTCAE term"))
    term.press_sequentially("back pa", delay=20)
    page.locator("#term-options option[value='Back pain']").wait_for(state="attached")
    term.fill("Back pain")
    grades = page.locator("#grade-options")
    grades.get_by_text("Grade 3:").wait_for()
    grades.get_by_role("radio", name=re.compile("^Grade 3:")).check()
    onset = dt.datetime.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=30)
    page.get_by_label(re.compile(r"^Onset")).fill(onset.isoformat(timespec="minutes"))
    page.get_by_role("radio", name="No").check()
    page.get_by_label(re.compile("^Relationship")).select_option(label="Possibly Related")
    page.get_by_role("combobox", name=re.compile("^Outcome")).select_option(
        label="Not Recovered/Not Resolved"
    )
    page.get_by_role("button", name="Record adverse event").click()
    page.get_by_role("heading", name=f"Subject {code}", exact=True).wait_for()
    assert "3" in page.get_by_role("row", name=re.compile("Back pain")).inner_text()
    steps.shot("adverse-event")

    # Everything was written as coord1, and queued for the hospital's FHIR server.
    actors = {
        actor
        for (actor,) in rows(
            server.seeded,
            "SELECT DISTINCT a.actor FROM audit_event a JOIN subject s "
            "ON a.table_name = 'subject' AND a.record_id = CAST(s.id AS TEXT) "
            "WHERE s.subject_code = :c",
            c=code,
        )
    }
    assert actors == {"coord1"}
    queued = rows(
        server.seeded,
        "SELECT resource_type FROM outbox_message WHERE status = 'pending' ORDER BY id",
    )
    assert [kind for (kind,) in queued].count("QuestionnaireResponse") == 2

    # A coordinator of site 02 sees none of it.
    page.get_by_role("button", name="Log out").click()
    log_in(page, "coord2")
    answer = page.goto(worklist)
    assert answer is not None and answer.status == 403
    answer = page.goto(f"/studies/{STUDY}/subjects/{code}")
    assert answer is not None and answer.status == 404
    page.goto(f"/studies/{STUDY}/subjects")
    listed = page.locator("tbody").inner_text()
    assert "02-w-0001" in listed and code not in listed
    page.goto(f"/studies/{STUDY}/sites/02/screening")
    page.get_by_role("button", name="Pre-screen the site's patients").click()
    own = page.locator("main").inner_text()
    assert ELSEWHERE in own and CANDIDATE not in own and TOO_YOUNG not in own
    steps.shot("site-02-sees-none-of-it")

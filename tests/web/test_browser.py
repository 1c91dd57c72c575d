"""The journeys of the issue, walked in a real browser (Debian's Chromium) against `edc serve`
started for real on a free loopback port over a seeded SQLite warehouse.

Screenshots of every step are kept in ``test-artifacts/browser/<test>/`` (see
``tests/fixtures/browser.py``). Selectors go by role and label, as a person reads the page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync.protocols import Protocols
from tests.web.helpers import rows
from tests.web.served import Served, served
from tests.web.trial import PASSWORD

SUBJECT = "01-w-0000"  # site 01; its week-1 pain and ODI forms are left for the journeys
STUDY = "MINI-01"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, protocols: Protocols) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("served"), protocols) as running:
        yield running


@pytest.fixture
def page(browser: Any, server: Served) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    # Generous: the machine may be busy with other test runs (2 cores, shared).
    context.set_default_timeout(45_000)
    page = context.new_page()
    yield page
    context.close()


class Steps:
    """Numbered screenshots of one journey."""

    def __init__(self, page: Any, directory: Path) -> None:
        self.page = page
        self.directory = directory
        self.count = 0

    def shot(self, name: str) -> None:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True, animations="disabled", timeout=90_000)


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your studies").wait_for()


def wait_for_form(page: Any) -> None:
    page.locator("#crf[aria-busy=false]").wait_for()


def choose(page: Any, label: str, text: str) -> None:
    """Pick an answer in an LHC-Forms list: type part of it, take the first match."""
    box = page.get_by_label(re.compile(f"^{re.escape(label)}"))
    box.click()
    box.press_sequentially(text, delay=10)
    page.locator("#lhc-tools-searchResults li").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")


def test_a_coordinator_enters_vas_and_odi_sees_the_score_and_corrects_a_form(
    page: Any, server: Served, artifacts: Path
) -> None:
    steps = Steps(page, artifacts)
    log_in(page, "coord1")
    steps.shot("studies")
    page.get_by_role("link", name=STUDY).click()
    page.get_by_role("img", name=re.compile("Enrollment over time")).wait_for()
    steps.shot("dashboard")
    page.get_by_role("link", name="Subjects").click()
    page.get_by_role("link", name=SUBJECT).click()
    steps.shot("subject")

    # VAS: a value outside 0-10 is refused with the reason; 6.5 is stored.
    page.get_by_role("link", name=re.compile(r"Enter Pain intensity \(VAS")).click()
    wait_for_form(page)
    vas = page.get_by_label(re.compile("^Pain on the 10 cm line"))
    vas.fill("12")
    page.get_by_role("button", name="Submit form").click()
    alert = page.locator("#crf-errors")
    alert.wait_for()
    assert "not saved" in alert.inner_text() or "above" in alert.inner_text()
    assert "10" in alert.inner_text()
    steps.shot("vas-refused")
    vas.fill("6.5")
    page.get_by_role("button", name="Submit form").click()
    page.get_by_role("heading", name=f"Subject {SUBJECT}", exact=True).wait_for()
    steps.shot("vas-stored")

    # ODI: the total appears as the sections are answered, and what is stored is what showed.
    page.get_by_role("link", name=re.compile("Enter Oswestry")).click()
    wait_for_form(page)
    total = page.get_by_label(re.compile(r"^ODI score"))
    assert total.input_value() == ""
    for section in range(1, 11):
        if section != 8:  # sex life: optional, left out as patients often do
            choose(page, f"Section {section}:", "statement 3")
    shown = total.input_value()
    assert shown != ""
    steps.shot("odi-score-live")
    page.get_by_role("button", name="Submit form").click()
    page.get_by_role("heading", name=f"Subject {SUBJECT}", exact=True).wait_for()
    page.get_by_role("link", name=re.compile("^Oswestry")).last.click()
    stored = page.locator("td[data-link-id='odi-total']").inner_text()
    assert float(stored.split()[0]) == float(shown)
    steps.shot("odi-stored")

    # Correcting the VAS asks for a reason, which the value's history then shows.
    page.get_by_role("link", name=f"← subject {SUBJECT}").click()
    page.get_by_role("link", name=re.compile(r"^Pain intensity \(VAS")).click()
    page.get_by_role("link", name="Change this form").click()
    wait_for_form(page)
    page.get_by_label(re.compile("^Pain on the 10 cm line")).fill("7")
    page.get_by_label(re.compile("^Reason for the change")).fill("transcription error")
    steps.shot("vas-change")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name=f"Subject {SUBJECT}", exact=True).wait_for()
    page.get_by_role("link", name=re.compile(r"^Pain intensity \(VAS")).click()
    assert page.locator("td[data-link-id='vas']").inner_text().startswith("7")
    page.get_by_role("link", name="history of vas").click()
    history = page.locator("table").inner_text()
    assert "coord1" in history and "transcription error" in history
    steps.shot("vas-history")


def test_the_odi_total_in_the_browser_equals_the_published_scoring(
    page: Any, server: Served, artifacts: Path
) -> None:
    log_in(page, "coord1")
    page.goto(f"/studies/{STUDY}/subjects/01-w-0002/forms/new?form=odi&visit=W1")
    wait_for_form(page)
    for section in range(1, 11):
        choose(page, f"Section {section}:", "statement 3")
    page.screenshot(path=artifacts / "odi-all-level-2.png", full_page=True)
    # Every section at level 2 of 5: 100 x 20 / 50.
    assert float(page.get_by_label(re.compile(r"^ODI score")).input_value()) == 40.0


def test_a_coordinator_records_a_grade_3_serious_adverse_event(
    page: Any, server: Served, artifacts: Path
) -> None:
    steps = Steps(page, artifacts)
    log_in(page, "coord1")
    page.goto(f"/studies/{STUDY}/subjects/01-w-0002")
    page.get_by_role("link", name="Record an adverse event").click()
    term = page.get_by_label(re.compile("^CTCAE term"))
    term.press_sequentially("back pa", delay=20)
    page.locator("#term-options option[value='Back pain']").wait_for(state="attached")
    term.fill("Back pain")
    grades = page.locator("#grade-options")
    grades.get_by_text("Grade 3:").wait_for()
    assert grades.locator("input").count() == 3  # Back pain has no grade 4 or 5
    steps.shot("term-and-grades")
    grades.get_by_role("radio", name=re.compile("^Grade 3:")).check()
    # `edc serve` runs on the real clock: onset 3 hours ago, the site aware of it 2 hours ago.
    now = dt.datetime.now().replace(second=0, microsecond=0)
    onset, aware = now - dt.timedelta(hours=3), now - dt.timedelta(hours=2)
    page.get_by_label(re.compile(r"^Onset")).fill(onset.isoformat(timespec="minutes"))
    page.get_by_role("radio", name="Yes").check()
    page.get_by_role("checkbox", name=re.compile("^Requires Inpatient Hospitalization")).check()
    page.get_by_label(re.compile("^Site became aware")).fill(aware.isoformat(timespec="minutes"))
    page.get_by_label(re.compile("^Relationship")).select_option(label="Possibly Related")
    page.get_by_role("combobox", name=re.compile("^Outcome")).select_option(
        label="Not Recovered/Not Resolved"
    )
    steps.shot("filled")
    page.get_by_role("button", name="Record adverse event").click()
    page.get_by_role("heading", name="Subject 01-w-0002").wait_for()
    row = page.get_by_role("row", name=re.compile("Back pain"))
    assert "3" in row.inner_text() and "serious" in row.inner_text()
    steps.shot("recorded")
    page.get_by_role("link", name=f"{STUDY} dashboard").click()
    clock = page.get_by_role("row", name=re.compile("01-w-0002 Back pain"))
    assert "on time" in clock.inner_text()  # reported now, 2 hours after awareness (limit 24 h)
    steps.shot("dashboard-clock")
    recorded = rows(
        server.seeded,
        "SELECT a.actor, a.role FROM audit_event a JOIN "
        "adverse_event e ON a.record_id = CAST(e.id AS TEXT) WHERE a.table_name = "
        "'adverse_event' AND e.ctcae_term = 'Back pain'",
    )
    assert recorded == [("coord1", "site_staff")]


def test_an_other_specify_term_without_the_text_is_refused_and_the_entry_kept(
    page: Any, server: Served, artifacts: Path
) -> None:
    log_in(page, "coord1")
    page.goto(f"/studies/{STUDY}/subjects/01-w-0004/adverse-events/new")
    term = "Injury, poisoning and procedural complications - Other, specify"
    page.get_by_label(re.compile("^CTCAE term")).fill(term)
    page.locator("#grade-options").get_by_text("Grade 1:").wait_for()
    page.locator("#grade-options").get_by_role("radio", name=re.compile("^Grade 1:")).check()
    page.get_by_label(re.compile(r"^Onset")).fill("2026-03-21T10:00")
    page.get_by_label(re.compile("^Relationship")).select_option(label="Related")
    page.get_by_role("combobox", name=re.compile("^Outcome")).select_option(
        label="Recovering/Resolving"
    )
    # The page asks for the text itself; a tampered page that does not is refused by the server.
    assert page.get_by_label(re.compile("^Verbatim")).get_attribute("required") is not None
    page.evaluate("document.getElementById('verbatim').required = false")
    page.get_by_role("button", name="Record adverse event").click()
    alert = page.get_by_role("alert")
    assert "needs the event described" in alert.inner_text()
    assert page.get_by_label(re.compile("^CTCAE term")).input_value() == term  # nothing retyped
    page.screenshot(path=artifacts / "refused.png", full_page=True)


def test_a_user_of_another_site_sees_none_of_it(page: Any, server: Served, artifacts: Path) -> None:
    steps = Steps(page, artifacts)
    log_in(page, "coord2")
    page.get_by_role("link", name=STUDY).click()
    sites = page.get_by_role("table").first.inner_text()
    assert "02 Site Two" in sites and "Site One" not in sites
    steps.shot("dashboard-site-02")
    page.get_by_role("link", name="Subjects").click()
    listed = page.locator("main").inner_text()
    assert "02-w-0001" in listed and "01-w-" not in listed
    steps.shot("subjects-site-02")
    answer = page.goto(f"/studies/{STUDY}/subjects/{SUBJECT}")
    assert answer is not None and answer.status == 404
    assert f"no subject '{SUBJECT}'" in page.get_by_role("alert").inner_text()
    steps.shot("other-site-subject-404")

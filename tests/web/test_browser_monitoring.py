"""The monitoring part of the issue's journey, in a real browser against `edc serve`: a monitor
sees the deviation that the missing week-1 forms caused and confirms it, opens a query; the
coordinator answers; the monitor closes it; a user of the other site sees none of it; the
statistician sees the lock page. One server and one browser for the module; screenshots of
each step go to the directory the test prints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync.protocols import Protocols
from tests.web.served import Served, served
from tests.web.test_browser import STUDY, SUBJECT, Steps, log_in

MESSAGE = "Week-1 pain and ODI forms are missing: please enter them"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, protocols: Protocols) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("served-monitoring"), protocols) as running:
        yield running


def _as(browser: Any, server: Served, username: str) -> Any:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(45_000)
    page = context.new_page()
    log_in(page, username)
    page.goto(f"/studies/{STUDY}/monitor")
    return page


def test_monitor_query_round_trip_scoped_to_the_site(
    browser: Any, server: Served, artifacts: Path
) -> None:
    print(f"screenshots: {artifacts}")
    monitor = _as(browser, server, "monitor")
    steps = Steps(monitor, artifacts)
    deviation = monitor.locator("table.deviations tr", has_text=SUBJECT).first
    deviation.wait_for()
    assert "open" in deviation.inner_text()
    deviation.get_by_text("evidence").click()
    steps.shot("monitor-sees-the-deviation")
    deviation.get_by_placeholder("reason").fill("forms not entered within the window")
    deviation.get_by_role("button", name="Confirm").click()
    monitor.get_by_role("status").wait_for()
    assert (
        "confirmed" in monitor.locator("table.deviations tr", has_text=SUBJECT).first.inner_text()
    )

    opening = monitor.locator("#open-query")
    opening.get_by_label("Subject").fill(SUBJECT)
    opening.get_by_label("Message").fill(MESSAGE)
    opening.get_by_role("button", name="Open query").click()
    monitor.get_by_role("status").filter(has_text="opened on").wait_for()
    query = monitor.locator("table.queries tr", has_text=MESSAGE)
    assert "open" in query.inner_text()
    steps.shot("monitor-opened-a-query")

    coordinator = _as(browser, server, "coord1")
    row = coordinator.locator("table.queries tr", has_text=MESSAGE)
    assert row.get_by_role("button", name="Close").count() == 0  # the site cannot close
    row.get_by_role("textbox").fill("Entered from the source today")
    row.get_by_role("button", name="Answer").click()
    coordinator.get_by_role("status").filter(has_text="answered").wait_for()
    steps.page = coordinator
    steps.shot("coordinator-answered")

    monitor.reload()
    row = monitor.locator("table.queries tr", has_text="Entered from the source today")
    assert row.get_by_role("button", name="Answer").count() == 0  # a monitor cannot answer
    row.get_by_role("button", name="Close").click()
    monitor.get_by_role("status").filter(has_text="closed").wait_for()
    closed = monitor.locator("table.queries tr", has_text=SUBJECT).first.inner_text()
    assert "closed" in closed
    steps.page = monitor
    steps.shot("monitor-closed-it")

    other = _as(browser, server, "coord2")
    text = other.locator("main").inner_text()
    assert SUBJECT not in text and MESSAGE not in text and "Entered from the source" not in text
    assert "01" not in other.locator("table.sites").inner_text()
    steps.page = other
    steps.shot("other-site-sees-none-of-it")

    statistician = _as(browser, server, "stat")
    statistician.goto(f"/studies/{STUDY}/lock")
    assert statistician.locator("#study-state").inner_text() == "open"
    assert statistician.locator("#sign").count() == 0  # a statistician does not sign
    assert "exports come after lock" in statistician.locator("main").inner_text()
    steps.page = statistician
    steps.shot("statistician-lock-page")
    for page in (monitor, coordinator, other, statistician):
        page.context.close()

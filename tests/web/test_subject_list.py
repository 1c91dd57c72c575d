"""The subject list in pages (a trial has thousands of subjects): offset and limit in the API
with the total in a header, numbered pages and a code search on the page, all site-scoped."""

from __future__ import annotations

from typing import Any

import pytest

from edc.web.routes import subjects as subject_routes
from tests.web.conftest import login
from tests.web.trial import Seeded

API = "/api/v1/studies/MINI-01/subjects"


def test_the_api_pages_only_the_readers_subjects(seeded: Seeded, app_for: Any) -> None:
    coord1 = login(app_for(seeded), "coord1")
    site_01 = seeded.site_subjects("01")
    first = coord1.get(f"{API}?limit=2")
    assert first.headers["X-Total-Count"] == str(len(site_01))
    assert [s["code"] for s in first.json()] == site_01[:2]
    rest = coord1.get(f"{API}?offset=2&limit=2").json()
    assert [s["code"] for s in rest] == site_01[2:4]
    monitor = login(app_for(seeded), "monitor")
    assert monitor.get(f"{API}?limit=1").headers["X-Total-Count"] == str(seeded.subjects)
    found = coord1.get(f"{API}?q=0002").json()
    assert [s["code"] for s in found] == [seeded.subject(2)]
    # A code of the other site is not found by searching for it either.
    assert coord1.get(f"{API}?q={seeded.subject(1)}").json() == []
    for bad in ("offset=-1", "limit=0", "limit=5000", "offset=x"):
        refused = coord1.get(f"{API}?{bad}")
        assert refused.status_code == 422 and bad.split("=")[0] in refused.text


def test_the_page_shows_numbered_pages_and_keeps_the_search(
    sqlite_seeded: Seeded, app_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subject_routes, "PAGE_SIZE", 2)
    monitor = login(app_for(sqlite_seeded), "monitor")
    page = monitor.get("/studies/MINI-01/subjects?page=2")
    assert page.status_code == 200
    assert "page 2 of 3" in page.text and 'rel="next" href="?page=3"' in page.text
    # By site, then code: site 01 has the even numbers, site 02 the odd ones.
    shown = [sqlite_seeded.subject(n) for n in range(6) if sqlite_seeded.subject(n) in page.text]
    assert shown == [sqlite_seeded.subject(1), sqlite_seeded.subject(4)]
    searched = monitor.get("/studies/MINI-01/subjects?q=w-000")
    assert "&amp;q=w-000" in searched.text or "&q=w-000" in searched.text
    assert monitor.get("/studies/MINI-01/subjects?page=0").status_code == 422
    empty = monitor.get("/studies/MINI-01/subjects?q=nobody")
    assert "No subject with a code containing" in empty.text

"""The dashboard and the subject page's visit plan, with a visit plan in the warehouse."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from edc.warehouse import audit, db
from edc.warehouse.tables import PlannedVisitRow, SubjectRow
from tests.web.trial import Seeded

STUDY = "/api/v1/studies/MINI-01"


def _plan(seeded: Seeded, code: str, visit: str, target: dt.date, low: int, high: int) -> None:
    with db.transaction(seeded.database.sessionmaker) as session:
        audit.bind(session, actor="test set-up", role="system", clock=seeded.clock)
        subject_id = session.scalar(select(SubjectRow.id).where(SubjectRow.subject_code == code))
        # The sync's monitoring run may have planned the visit already: this plan replaces it.
        planned = session.scalar(
            select(PlannedVisitRow).where(
                PlannedVisitRow.subject_id == subject_id, PlannedVisitRow.visit_id == visit
            )
        )
        if planned is not None:
            with audit.reason(session, "test set-up: a plan of its own"):
                session.delete(planned)
                session.flush()
        session.add(
            PlannedVisitRow(
                subject_id=subject_id,
                visit_id=visit,
                target_date=target,
                window_low=target + dt.timedelta(days=low),
                window_high=target + dt.timedelta(days=high),
            )
        )


def test_visits_due_this_week_and_the_timeline(seeded: Seeded, as_user) -> None:
    today = seeded.clock.now().date()  # Wednesday 2026-03-25
    _plan(seeded, seeded.subject(0), "UNS", today + dt.timedelta(days=2), -1, 1)  # due
    _plan(seeded, seeded.subject(2), "UNS", today + dt.timedelta(days=20), -2, 2)  # later
    _plan(seeded, seeded.subject(1), "UNS", today, 0, 3)  # due, but site 02
    _plan(seeded, seeded.subject(0), "BL", dt.date(2026, 2, 3), -3, 0)  # done on 02-02
    coord1 = as_user("coord1")
    due = coord1.get(f"{STUDY}/dashboard").json()["visits_due"]
    assert [(v["subject_code"], v["visit_id"]) for v in due] == [(seeded.subject(0), "UNS")]
    monitor = as_user("monitor")
    due = monitor.get(f"{STUDY}/dashboard").json()["visits_due"]
    assert {v["subject_code"] for v in due} == {seeded.subject(0), seeded.subject(1)}
    visits = coord1.get(f"{STUDY}/subjects/{seeded.subject(0)}").json()["visits"]
    baseline = next(v for v in visits if v["visit_id"] == "BL")
    assert baseline["target"] == "2026-02-03"
    assert baseline["window"] == ["2026-01-31", "2026-02-03"]
    assert baseline["actual"] == "2026-02-02" and baseline["state"] == "done"
    unscheduled = next(v for v in visits if v["visit_id"] == "UNS")
    assert unscheduled["state"] == "as needed"


def test_enrollment_over_time_per_site(seeded: Seeded, as_user) -> None:
    dashboard = as_user("monitor").get(f"{STUDY}/dashboard").json()
    series = dashboard["enrollment"]
    assert set(series) == {"01", "02"}
    assert series["01"][-1][1] == len(seeded.site_subjects("01"))
    assert [n for _, n in series["01"]] == sorted(n for _, n in series["01"])  # cumulative
    page = as_user("monitor").get("/studies/MINI-01").text
    assert "<svg" in page and "Enrollment over time per site" in page

"""Visit plans from the schedule: planned from planned anchors, moved by actual ones."""

from __future__ import annotations

import datetime as dt

from edc.protocol.model import Schedule
from edc.trial import visits

SCHEDULE = Schedule.model_validate(
    {
        "events": [
            {"id": "consent", "title": "Consent"},
            {"id": "randomization", "title": "R", "anchor": "consent", "offset_days": 7},
            {"id": "procedure", "title": "P", "anchor": "randomization", "offset_days": 3},
        ],
        "visits": [
            {"id": "SCR", "title": "S", "anchor": "consent", "window": {"low": 0, "high": 21}},
            {"id": "BL", "title": "B", "anchor": "procedure", "offset_days": -1,
             "window": {"low": -7, "high": -1}},
            {"id": "PROC", "title": "P", "anchor": "procedure", "window": {"low": 0, "high": 0}},
            {"id": "W4", "title": "W4", "anchor": "procedure", "offset_days": 28,
             "window": {"low": 24, "high": 32}},
            {"id": "UNS", "title": "U", "unscheduled": True},
        ],
    }
)  # fmt: skip
CONSENT = dt.date(2027, 3, 1)
RANDOMIZED = dt.date(2027, 3, 8)


def plan(**known: dt.date) -> dict[str, visits.PlannedVisit]:
    return {v.visit_id: v for v in visits.plan(SCHEDULE, known)}


def test_planned_from_the_randomization_then_moved_by_the_procedure() -> None:
    known = visits.milestones(
        SCHEDULE, randomization_event="randomization", consent=CONSENT,
        randomization=RANDOMIZED, visits={},
    )  # fmt: skip
    planned = plan(**known)
    assert set(planned) == {"SCR", "BL", "PROC", "W4"}  # unscheduled visits are never planned
    assert planned["W4"].target == dt.date(2027, 4, 8) and not planned["W4"].anchor_actual
    assert (planned["W4"].window_low, planned["W4"].window_high) == (
        dt.date(2027, 4, 4), dt.date(2027, 4, 12),
    )  # fmt: skip
    # The procedure took place two days late (its visit, anchored on it at offset 0).
    moved = visits.milestones(
        SCHEDULE, randomization_event="randomization", consent=CONSENT,
        randomization=RANDOMIZED, visits={"PROC": dt.date(2027, 3, 13)},
    )  # fmt: skip
    again = plan(**moved)
    assert again["W4"].target == dt.date(2027, 4, 10) and again["W4"].anchor_actual


def test_a_procedure_in_the_ehr_dates_the_event_without_its_visit() -> None:
    known = visits.milestones(
        SCHEDULE, randomization_event="randomization", consent=CONSENT,
        randomization=RANDOMIZED, visits={}, procedures=[dt.date(2027, 2, 1), dt.date(2027, 3, 12)],
    )  # fmt: skip
    assert known["procedure"] == dt.date(2027, 3, 12)  # the one before randomization is not it


def test_status_of_a_planned_visit() -> None:
    w4 = plan(consent=CONSENT, randomization=RANDOMIZED)["W4"]
    assert visits.status(w4, None, dt.date(2027, 4, 1)) == "upcoming"
    assert visits.status(w4, None, dt.date(2027, 4, 4)) == "due"
    assert visits.status(w4, None, dt.date(2027, 4, 13)) == "overdue"
    assert visits.status(w4, dt.date(2027, 4, 20), dt.date(2027, 4, 21)) == "done"
    assert not visits.in_window(w4, dt.date(2027, 4, 20))

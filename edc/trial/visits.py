"""The visit plan of one subject: target dates and windows from the schedule and its anchors.

Every point of the schedule (event or visit) counts from its anchor: its date is the actual one
when it happened, else the planned one (anchor's date + offset). A scheduled visit's target and
window count from its anchor's date, which is marked as actual or still planned; when the anchor
happens (the index procedure, say) the plan moves with it. Milestone dates come from what the
site records: consent, randomization, and for any other event the day of the visit anchored on
it at offset 0 (the procedure day's visit), or else the index procedure in the EHR.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

from edc.protocol import timeline
from edc.protocol.model import Schedule

Status = Literal["done", "overdue", "due", "upcoming"]


@dataclasses.dataclass(frozen=True)
class PlannedVisit:
    visit_id: str
    anchor_id: str
    anchor_date: dt.date
    anchor_actual: bool
    target: dt.date
    window_low: dt.date
    window_high: dt.date


def milestones(
    schedule: Schedule,
    *,
    randomization_event: str,
    consent: dt.date | None,
    randomization: dt.date | None,
    visits: Mapping[str, dt.date],
    procedures: Sequence[dt.date] = (),
) -> dict[str, dt.date]:
    """The actual dates of the schedule's events and visits that are known.

    :param visits: actual visit dates by visit id.
    :param procedures: dates of the subject's procedures in the EHR (any order).
    """
    known: dict[str, dt.date] = dict(visits)
    root = timeline.root_event(schedule)
    if consent is not None:
        known[root] = consent
    if randomization is not None:
        known[randomization_event] = randomization
    for event in schedule.events:
        if event.id in known:
            continue
        on_the_day = [
            visits[v.id]
            for v in schedule.visits
            if v.anchor == event.id and v.offset_days == 0 and not v.unscheduled and v.id in visits
        ]
        if on_the_day:
            known[event.id] = on_the_day[0]
        elif randomization is not None:
            after = sorted(day for day in procedures if day >= randomization)
            if after and event.anchor is not None:
                known[event.id] = after[0]
    return known


def plan(schedule: Schedule, known: Mapping[str, dt.date]) -> list[PlannedVisit]:
    """Planned visits whose anchor date is known or can be planned from a known point."""
    anchors = {e.id: (e.anchor, e.offset_days) for e in schedule.events}
    anchors.update({v.id: (v.anchor, v.offset_days) for v in schedule.visits})
    dates: dict[str, dt.date | None] = {}

    def date_of(point: str, seen: frozenset[str] = frozenset()) -> dt.date | None:
        if point in known:
            return known[point]
        if point in dates:
            return dates[point]
        anchor, offset = anchors.get(point, (None, 0))
        day = None
        if anchor is not None and anchor not in seen:
            base = date_of(anchor, seen | {point})
            day = base + dt.timedelta(days=offset) if base is not None else None
        dates[point] = day
        return day

    planned = []
    for visit in schedule.visits:
        if visit.unscheduled:
            continue
        anchor = visit.anchor or timeline.root_event(schedule)
        base = date_of(anchor)
        if base is None:
            continue
        low, high = (visit.window.low, visit.window.high) if visit.window else (0, 0)
        offset = visit.offset_days
        planned.append(
            PlannedVisit(
                visit_id=visit.id,
                anchor_id=anchor,
                anchor_date=base,
                anchor_actual=anchor in known,
                target=base + dt.timedelta(days=offset),
                window_low=base + dt.timedelta(days=min(low, offset)),
                window_high=base + dt.timedelta(days=max(high, offset)),
            )
        )
    return planned


def status(visit: PlannedVisit, done_on: dt.date | None, today: dt.date) -> Status:
    """done (it took place), overdue (window closed without it), due (window open), upcoming."""
    if done_on is not None:
        return "done"
    if today > visit.window_high:
        return "overdue"
    if today >= visit.window_low:
        return "due"
    return "upcoming"


def in_window(visit: PlannedVisit, day: dt.date) -> bool:
    return visit.window_low <= day <= visit.window_high

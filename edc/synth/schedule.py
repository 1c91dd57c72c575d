"""When a subject's milestones and visits happen: on time, out of window, missed or unscheduled.

Events and visits are placed from their anchor, offset and window (the protocol's schedule;
mapping guide 3.2): most on the target day or within the window, some late or early outside
it, some missed, none after a withdrawal; an unscheduled visit now and then. The index event
(the one named ``procedure``, else the last event) splits baseline from follow-up. Out-of-window
and missed visits are only drawn for follow-up visits at least a week after the index event,
so the order of visits never changes; visits anchored on earlier milestones (screening)
happen on their planned day. Shares come from the profile (``Conduct``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from edc.protocol.model import Schedule, Visit
from edc.synth.enrollment import EnrolledSubject
from edc.synth.profile import Conduct
from edc.synth.rng import Draw

PERFORMED = frozenset({"on-time", "late", "early", "unscheduled"})


@dataclasses.dataclass(frozen=True)
class PlannedVisit:
    """One visit of one subject: what was planned and what happened.

    :ivar status: on-time | late | early | missed | withdrawn | unscheduled.
    :ivar day: the date it took place (None when it did not).
    """

    visit: Visit
    occurrence: int  # 1 for scheduled visits; n-th unscheduled visit
    status: str
    target: dt.date | None
    window: tuple[dt.date, dt.date] | None
    day: dt.date | None
    minute: int  # minute of the day it started

    @property
    def performed(self) -> bool:
        return self.status in PERFORMED

    @property
    def key(self) -> str:
        """``W4``, or ``UNS2`` for the second unscheduled visit."""
        return self.visit.id if self.occurrence == 1 else f"{self.visit.id}{self.occurrence}"


@dataclasses.dataclass(frozen=True)
class SubjectSchedule:
    events: dict[str, dt.date]
    index_event: str
    visits: tuple[PlannedVisit, ...]  # performed or not, in date order
    withdrawn_on: dt.date | None

    @property
    def index_date(self) -> dt.date:
        return self.events[self.index_event]

    def is_baseline(self, visit: PlannedVisit) -> bool:
        return visit.day is not None and visit.day < self.index_date

    @property
    def last_day(self) -> dt.date:
        days = [v.day for v in self.visits if v.day is not None]
        return max(days) if days else self.events[self.index_event]


def index_event(schedule: Schedule) -> str:
    ids = [event.id for event in schedule.events]
    return "procedure" if "procedure" in ids else ids[-1]


def plan(
    schedule: Schedule, subject: EnrolledSubject, conduct: Conduct, draw: Draw
) -> SubjectSchedule:
    """Place every event and visit of one subject."""
    events: dict[str, dt.date] = {}
    for event in schedule.events:
        if event.anchor is None:
            events[event.id] = subject.consent_date
        elif event.id == "randomization" and subject.randomization_date is not None:
            events[event.id] = subject.randomization_date
        else:
            events[event.id] = _within(
                draw,
                events[event.anchor],
                event.offset_days,
                event.window.low if event.window else None,
                event.window.high if event.window else None,
            )
    index = index_event(schedule)
    root = (
        events[schedule.events[0].id] if schedule.events[0].anchor is None else subject.consent_date
    )
    if any(v.anchor == index and _latest(v) < 0 for v in schedule.visits) and events[index] <= root:
        # Visits due before the index event (a baseline) need a day after consent to happen in.
        events[index] = root + dt.timedelta(days=1)
    withdraw_from = None
    follow_ups = [v for v in schedule.visits if not v.unscheduled and _is_follow_up(v, index)]
    if follow_ups and draw.chance(conduct.withdrawal_share):
        withdraw_from = draw.pick([(v.id, 1.0) for v in follow_ups])
    visits: list[PlannedVisit] = []
    withdrawn_on: dt.date | None = None
    for visit in schedule.visits:
        if visit.unscheduled:
            continue
        # A visit without an anchor counts from the first milestone (consent).
        anchor = events[visit.anchor or schedule.events[0].id]
        target = anchor + dt.timedelta(days=visit.offset_days)
        window = (
            (
                anchor + dt.timedelta(days=visit.window.low),
                anchor + dt.timedelta(days=visit.window.high),
            )
            if visit.window
            else None
        )
        if visit.id == withdraw_from:
            previous = max((v.day for v in visits if v.day), default=anchor)
            withdrawn_on = previous + dt.timedelta(days=max(1, (target - previous).days // 2))
        if withdrawn_on is not None:
            visits.append(PlannedVisit(visit, 1, "withdrawn", target, window, None, 0))
            continue
        status, day = _timing(
            draw, conduct, target, window, _is_follow_up(visit, index), visit.anchor == index
        )
        if day is not None and day < root:
            day = root  # nothing is collected before consent
        visits.append(PlannedVisit(visit, 1, status, target, window, day, draw.integer(480, 990)))
    visits += _unscheduled(draw, conduct, schedule, events[index], visits, withdrawn_on)
    ordered = sorted(visits, key=lambda v: (v.day or v.target or dt.date.max, v.minute))
    return SubjectSchedule(events, index, tuple(ordered), withdrawn_on)


def _latest(visit: Visit) -> int:
    return visit.window.high if visit.window else visit.offset_days


def _is_follow_up(visit: Visit, index: str) -> bool:
    return visit.anchor == index and visit.offset_days >= 7


def _within(draw: Draw, anchor: dt.date, offset: int, low: int | None, high: int | None) -> dt.date:
    """On the target day 70% of the time, else anywhere in the window."""
    if low is None or high is None or draw.chance(0.7):
        return anchor + dt.timedelta(days=offset)
    return anchor + dt.timedelta(days=draw.integer(low, high))


def _timing(
    draw: Draw,
    conduct: Conduct,
    target: dt.date,
    window: tuple[dt.date, dt.date] | None,
    follow_up: bool,
    on_index: bool,
) -> tuple[str, dt.date | None]:
    if not on_index:
        # Visits anchored on consent or randomization (screening) happen on the planned day,
        # so they never drift past the milestones that follow them.
        return "on-time", target
    timing = conduct.visit_timing
    if follow_up and window is not None:
        roll = draw.uniform()
        if roll < timing.missed:
            return "missed", None
        if roll < timing.missed + timing.late:
            return "late", window[1] + dt.timedelta(days=draw.integer(1, 10))
        if roll < timing.missed + timing.late + timing.early:
            return "early", window[0] - dt.timedelta(days=draw.integer(1, 3))
    if window is None or draw.chance(0.75):
        return "on-time", target
    return "on-time", window[0] + dt.timedelta(days=draw.integer(0, (window[1] - window[0]).days))


def _unscheduled(
    draw: Draw,
    conduct: Conduct,
    schedule: Schedule,
    index_day: dt.date,
    visits: list[PlannedVisit],
    withdrawn_on: dt.date | None,
) -> list[PlannedVisit]:
    spare = next((v for v in schedule.visits if v.unscheduled), None)
    if spare is None or not draw.chance(conduct.unscheduled_share):
        return []
    last = max((v.day for v in visits if v.day), default=index_day)
    if withdrawn_on is not None:
        last = min(last, withdrawn_on)
    span = (last - index_day).days
    if span < 4:
        return []
    count = 2 if draw.chance(0.25) else 1
    days = sorted(index_day + dt.timedelta(days=draw.integer(2, span - 1)) for _ in range(count))
    return [
        PlannedVisit(spare, n + 1, "unscheduled", None, None, day, draw.integer(480, 990))
        for n, day in enumerate(days)
    ]

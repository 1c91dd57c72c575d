"""The study dashboard: enrollment over time per site against target, visits due this week,
open queries and deviations, serious adverse events and their reporting clocks."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from edc.actions import adverse_events
from edc.actions.access import Access
from edc.actions.definitions import StudyDefinition
from edc.warehouse import study_overview
from edc.warehouse.study_overview import DueVisit


@dataclasses.dataclass(frozen=True)
class SiteLine:
    code: str
    name: str
    target: int | None
    enrolled: int
    open_queries: int
    open_deviations: int


@dataclasses.dataclass(frozen=True)
class Dashboard:
    study_code: str
    title: str
    today: dt.date
    week: tuple[dt.date, dt.date]
    target: int
    sites: list[SiteLine]
    # site code -> (day, subjects enrolled by the end of that day), one point per day with news
    enrollment: dict[str, list[tuple[dt.date, int]]]
    visits_due: list[DueVisit]
    serious_events: list[adverse_events.SeriousEventLine]

    @property
    def enrolled(self) -> int:
        return sum(site.enrolled for site in self.sites)

    @property
    def open_queries(self) -> int:
        return sum(site.open_queries for site in self.sites)

    @property
    def open_deviations(self) -> int:
        return sum(site.open_deviations for site in self.sites)


def dashboard(
    *, session: Session, access: Access, definition: StudyDefinition, now: dt.datetime
) -> Dashboard:
    """What the reader may see of the study, as of ``now``."""
    study_id, site_ids = access.study_id, access.site_ids
    today = now.date()
    monday = today - dt.timedelta(days=today.weekday())
    week = (monday, monday + dt.timedelta(days=6))
    sites = study_overview.list_sites(session=session, study_id=study_id, site_ids=site_ids)
    targets = {site.id: site.target_enrollment for site in definition.protocol.study.sites}
    enrolled = study_overview.count_subjects(session=session, study_id=study_id, site_ids=site_ids)
    queries = study_overview.count_open_queries(
        session=session, study_id=study_id, site_ids=site_ids
    )
    deviations = study_overview.count_open_deviations(
        session=session, study_id=study_id, site_ids=site_ids
    )
    code_of = {site.id: site.code for site in sites}
    series: dict[str, dict[dt.date, int]] = {site.code: {} for site in sites}
    for site_id, when in study_overview.list_enrollment_dates(
        session=session, study_id=study_id, site_ids=site_ids
    ):
        day = when.date()
        series[code_of[site_id]][day] = series[code_of[site_id]].get(day, 0) + 1
    return Dashboard(
        study_code=access.study_code,
        title=definition.protocol.study.title,
        today=today,
        week=week,
        target=definition.protocol.study.target_enrollment,
        sites=[
            SiteLine(
                site.code,
                site.name,
                targets.get(site.code),
                enrolled.get(site.id, 0),
                queries.get(site.id, 0),
                deviations.get(site.id, 0),
            )
            for site in sites
        ],
        enrollment={code: _cumulative(days) for code, days in series.items()},
        visits_due=study_overview.list_due_visits(
            session=session, study_id=study_id, site_ids=site_ids, start=week[0], end=week[1]
        ),
        serious_events=adverse_events.serious_event_lines(
            session=session, access=access, definition=definition, now=now
        ),
    )


def _cumulative(per_day: dict[dt.date, int]) -> list[tuple[dt.date, int]]:
    total = 0
    points = []
    for day in sorted(per_day):
        total += per_day[day]
        points.append((day, total))
    return points

"""Study-level counts for the dashboard, per site and within the reader's sites."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc.warehouse.casebook import site_filter
from edc.warehouse.tables import (
    AdverseEventRow,
    AllocationRow,
    ConsentRow,
    DataQueryRow,
    DeviationRow,
    PlannedVisitRow,
    SiteRow,
    SubjectRow,
    VisitRow,
)


def list_sites(
    *, session: Session, study_id: int, site_ids: frozenset[int] | None
) -> list[SiteRow]:
    """The study's sites the reader may see, by code."""
    query = select(SiteRow).where(SiteRow.study_id == study_id).order_by(SiteRow.code)
    if site_ids is not None:
        query = query.where(SiteRow.id.in_(sorted(site_ids)))
    return list(session.scalars(query))


def list_enrollment_dates(
    *, session: Session, study_id: int, site_ids: frozenset[int] | None
) -> list[tuple[int, dt.datetime]]:
    """(site id, when) per subject: randomization, or else first consent."""
    consented = (
        select(ConsentRow.subject_id, func.min(ConsentRow.signed_at).label("at"))
        .group_by(ConsentRow.subject_id)
        .subquery()
    )
    rows = session.execute(
        select(SubjectRow.site_id, func.coalesce(AllocationRow.randomized_at, consented.c.at))
        .outerjoin(AllocationRow, AllocationRow.subject_id == SubjectRow.id)
        .outerjoin(consented, consented.c.subject_id == SubjectRow.id)
        .where(SubjectRow.study_id == study_id, site_filter(site_ids))
    )
    return [(int(site), when) for site, when in rows if when is not None]


def count_subjects(
    *, session: Session, study_id: int, site_ids: frozenset[int] | None
) -> dict[int, int]:
    rows = session.execute(
        select(SubjectRow.site_id, func.count())
        .where(SubjectRow.study_id == study_id, site_filter(site_ids))
        .group_by(SubjectRow.site_id)
    )
    return {int(site): int(n) for site, n in rows}


def count_open_queries(
    *, session: Session, study_id: int, site_ids: frozenset[int] | None
) -> dict[int, int]:
    """Queries open or answered (not yet closed), per site."""
    query = (
        select(DataQueryRow.site_id, func.count())
        .where(DataQueryRow.study_id == study_id, DataQueryRow.status.in_(("open", "answered")))
        .group_by(DataQueryRow.site_id)
    )
    if site_ids is not None:
        query = query.where(DataQueryRow.site_id.in_(sorted(site_ids)))
    return {int(site): int(n) for site, n in session.execute(query)}


def count_open_deviations(
    *, session: Session, study_id: int, site_ids: frozenset[int] | None
) -> dict[int, int]:
    query = (
        select(DeviationRow.site_id, func.count())
        .where(DeviationRow.study_id == study_id, DeviationRow.status == "open")
        .group_by(DeviationRow.site_id)
    )
    if site_ids is not None:
        query = query.where(DeviationRow.site_id.in_(sorted(site_ids)))
    return {int(site): int(n) for site, n in session.execute(query)}


@dataclasses.dataclass(frozen=True)
class DueVisit:
    subject_code: str
    site_code: str
    visit_id: str
    target: dt.date
    window_low: dt.date
    window_high: dt.date


def list_due_visits(
    *,
    session: Session,
    study_id: int,
    site_ids: frozenset[int] | None,
    start: dt.date,
    end: dt.date,
) -> list[DueVisit]:
    """Planned visits not yet done whose window overlaps ``start``..``end``."""
    rows = session.execute(
        select(
            SubjectRow.subject_code,
            SiteRow.code,
            PlannedVisitRow.visit_id,
            PlannedVisitRow.target_date,
            PlannedVisitRow.window_low,
            PlannedVisitRow.window_high,
        )
        .join(SubjectRow, SubjectRow.id == PlannedVisitRow.subject_id)
        .join(SiteRow, SiteRow.id == SubjectRow.site_id)
        .outerjoin(
            VisitRow,
            (VisitRow.subject_id == PlannedVisitRow.subject_id)
            & (VisitRow.visit_id == PlannedVisitRow.visit_id),
        )
        .where(
            SubjectRow.study_id == study_id,
            site_filter(site_ids),
            VisitRow.id.is_(None),
            PlannedVisitRow.window_low <= end,
            PlannedVisitRow.window_high >= start,
        )
        .order_by(PlannedVisitRow.target_date, SubjectRow.subject_code)
    )
    return [DueVisit(*row) for row in rows]


@dataclasses.dataclass(frozen=True)
class SeriousEvent:
    adverse_event_id: int
    subject_code: str
    site_code: str
    term: str
    grade: int
    onset: dt.date
    reported_at: dt.datetime | None
    raw_resource_id: int | None
    verbatim: str | None  # the "Other, specify" text


def list_serious_events(
    *, session: Session, study_id: int, site_ids: frozenset[int] | None, since: dt.date
) -> list[SeriousEvent]:
    """Serious adverse events with onset on or after ``since``, newest first."""
    rows = session.execute(
        select(
            AdverseEventRow.id,
            SubjectRow.subject_code,
            SiteRow.code,
            AdverseEventRow.ctcae_term,
            AdverseEventRow.grade,
            AdverseEventRow.onset_date,
            AdverseEventRow.reported_at,
            AdverseEventRow.raw_resource_id,
            AdverseEventRow.verbatim,
        )
        .join(SubjectRow, SubjectRow.id == AdverseEventRow.subject_id)
        .join(SiteRow, SiteRow.id == SubjectRow.site_id)
        .where(
            SubjectRow.study_id == study_id,
            site_filter(site_ids),
            AdverseEventRow.serious.is_(True),
            AdverseEventRow.onset_date >= since,
        )
        .order_by(AdverseEventRow.onset_date.desc(), AdverseEventRow.id.desc())
    )
    return [SeriousEvent(*row) for row in rows]

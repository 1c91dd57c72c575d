"""A subject's record as the site and the monitor read it (the "casebook"), site-scoped.

Every read takes the study and the sites the reader may see (``site_ids``; None for all): a
subject of another site is simply not found. Keyword-only, ``find_*`` returns None,
``list_*`` a list (style.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from edc.warehouse.tables import (
    AdverseEventRow,
    AllocationRow,
    AuditEventRow,
    ConsentRow,
    DataQueryMessageRow,
    DataQueryRow,
    FormResponseRow,
    ItemValueRow,
    PatientLinkRow,
    PlannedVisitRow,
    RawResourceRow,
    SiteRow,
    SubjectRow,
    VisitRow,
)


@dataclasses.dataclass(frozen=True)
class SubjectHeader:
    """A subject with its site, as listed and as headed on its page."""

    id: int
    code: str
    status: str
    site_id: int
    site_code: str
    site_name: str
    arm: str | None
    enrolled_at: dt.datetime | None
    forms: int
    open_queries: int


def site_filter(site_ids: frozenset[int] | None) -> ColumnElement[bool]:
    """``SubjectRow.site_id`` restricted to ``site_ids`` (everything when None)."""
    return true() if site_ids is None else SubjectRow.site_id.in_(sorted(site_ids))


def _headers(
    session: Session, study_id: int, site_ids: frozenset[int] | None, *extra: ColumnElement[bool]
) -> list[SubjectHeader]:
    forms = (
        select(FormResponseRow.subject_id, func.count().label("n"))
        .group_by(FormResponseRow.subject_id)
        .subquery()
    )
    queries = (
        select(DataQueryRow.subject_id, func.count().label("n"))
        .where(DataQueryRow.status.in_(("open", "answered")))
        .group_by(DataQueryRow.subject_id)
        .subquery()
    )
    consented = (
        select(ConsentRow.subject_id, func.min(ConsentRow.signed_at).label("at"))
        .group_by(ConsentRow.subject_id)
        .subquery()
    )
    rows = session.execute(
        select(
            SubjectRow.id,
            SubjectRow.subject_code,
            SubjectRow.status,
            SiteRow.id,
            SiteRow.code,
            SiteRow.name,
            AllocationRow.arm,
            func.coalesce(AllocationRow.randomized_at, consented.c.at),
            func.coalesce(forms.c.n, 0),
            func.coalesce(queries.c.n, 0),
        )
        .join(SiteRow, SiteRow.id == SubjectRow.site_id)
        .outerjoin(AllocationRow, AllocationRow.subject_id == SubjectRow.id)
        .outerjoin(forms, forms.c.subject_id == SubjectRow.id)
        .outerjoin(queries, queries.c.subject_id == SubjectRow.id)
        .outerjoin(consented, consented.c.subject_id == SubjectRow.id)
        .where(SubjectRow.study_id == study_id, site_filter(site_ids), *extra)
        .order_by(SiteRow.code, SubjectRow.subject_code)
    )
    return [
        SubjectHeader(
            id=int(r[0]),
            code=r[1],
            status=r[2],
            site_id=int(r[3]),
            site_code=r[4],
            site_name=r[5],
            arm=r[6],
            enrolled_at=r[7],
            forms=int(r[8]),
            open_queries=int(r[9]),
        )
        for r in rows
    ]


@dataclasses.dataclass(frozen=True)
class SubjectPage:
    """One page of the subject list: ``subjects`` from ``offset``, of ``total`` that match."""

    subjects: list[SubjectHeader]
    total: int
    offset: int
    limit: int


def page_subjects(
    *,
    session: Session,
    study_id: int,
    site_ids: frozenset[int] | None,
    offset: int,
    limit: int,
    search: str = "",
) -> SubjectPage:
    """A page of the subjects at the given sites (codes containing ``search``), by site and
    code; the counts per subject are computed for that page only."""
    where = [SubjectRow.study_id == study_id, site_filter(site_ids)]
    if search:
        where.append(SubjectRow.subject_code.contains(search, autoescape=True))
    total = int(session.scalar(select(func.count()).select_from(SubjectRow).where(*where)) or 0)
    ids = list(
        session.scalars(
            select(SubjectRow.id)
            .join(SiteRow, SiteRow.id == SubjectRow.site_id)
            .where(*where)
            .order_by(SiteRow.code, SubjectRow.subject_code)
            .offset(offset)
            .limit(limit)
        )
    )
    found = _headers(session, study_id, site_ids, SubjectRow.id.in_(ids)) if ids else []
    return SubjectPage(found, total, offset, limit)


def find_subject(
    *, session: Session, study_id: int, site_ids: frozenset[int] | None, code: str
) -> SubjectHeader | None:
    """One subject by its code, if it is at one of the given sites."""
    found = _headers(session, study_id, site_ids, SubjectRow.subject_code == code)
    return found[0] if found else None


def find_patient_link(*, session: Session, subject_id: int) -> PatientLinkRow | None:
    """Where the subject's hospital record is (FHIR source and Patient id)."""
    return session.scalars(
        select(PatientLinkRow).where(PatientLinkRow.subject_id == subject_id)
    ).first()


def list_planned_visits(*, session: Session, subject_id: int) -> list[PlannedVisitRow]:
    return list(
        session.scalars(
            select(PlannedVisitRow)
            .where(PlannedVisitRow.subject_id == subject_id)
            .order_by(PlannedVisitRow.target_date)
        )
    )


def list_visits(*, session: Session, subject_id: int) -> list[VisitRow]:
    return list(
        session.scalars(
            select(VisitRow).where(VisitRow.subject_id == subject_id).order_by(VisitRow.visit_date)
        )
    )


def list_consents(*, session: Session, subject_id: int) -> list[ConsentRow]:
    return list(
        session.scalars(
            select(ConsentRow)
            .where(ConsentRow.subject_id == subject_id)
            .order_by(ConsentRow.signed_at)
        )
    )


def list_responses(*, session: Session, subject_id: int) -> list[FormResponseRow]:
    return list(
        session.scalars(
            select(FormResponseRow)
            .where(FormResponseRow.subject_id == subject_id)
            .order_by(FormResponseRow.authored, FormResponseRow.id)
        )
    )


def find_response(*, session: Session, subject_id: int, response_id: int) -> FormResponseRow | None:
    """A form response, if it is this subject's."""
    return session.scalars(
        select(FormResponseRow).where(
            FormResponseRow.id == response_id, FormResponseRow.subject_id == subject_id
        )
    ).one_or_none()


def find_response_of_raw(
    *, session: Session, subject_id: int, raw_resource_id: int
) -> FormResponseRow | None:
    """The subject's form response normalized from (any version of) this raw resource."""
    raw = session.get(RawResourceRow, raw_resource_id)
    if raw is None:
        return None
    return session.scalars(
        select(FormResponseRow)
        .join(RawResourceRow, RawResourceRow.id == FormResponseRow.raw_resource_id)
        .where(
            FormResponseRow.subject_id == subject_id,
            RawResourceRow.source == raw.source,
            RawResourceRow.resource_type == raw.resource_type,
            RawResourceRow.logical_id == raw.logical_id,
        )
        .order_by(FormResponseRow.id)
        .limit(1)
    ).first()


def find_adverse_event_of_raw(*, session: Session, raw_resource_id: int) -> int | None:
    """The adverse_event id normalized from this raw resource."""
    return session.scalar(
        select(AdverseEventRow.id).where(AdverseEventRow.raw_resource_id == raw_resource_id)
    )


def find_raw(*, session: Session, raw_id: int | None) -> RawResourceRow | None:
    return session.get(RawResourceRow, raw_id) if raw_id is not None else None


def find_raw_versions(
    *, session: Session, source: str, resource_type: str, logical_id: str
) -> list[str | None]:
    """The versionIds stored for one resource from one source (empty: never stored)."""
    return list(
        session.scalars(
            select(RawResourceRow.version_id).where(
                RawResourceRow.source == source,
                RawResourceRow.resource_type == resource_type,
                RawResourceRow.logical_id == logical_id,
            )
        )
    )


def list_item_values(*, session: Session, response_id: int) -> list[ItemValueRow]:
    return list(
        session.scalars(
            select(ItemValueRow)
            .where(ItemValueRow.response_id == response_id)
            .order_by(ItemValueRow.id)
        )
    )


def list_adverse_events(*, session: Session, subject_id: int) -> list[AdverseEventRow]:
    return list(
        session.scalars(
            select(AdverseEventRow)
            .where(AdverseEventRow.subject_id == subject_id)
            .order_by(AdverseEventRow.onset_date, AdverseEventRow.id)
        )
    )


@dataclasses.dataclass(frozen=True)
class QueryLine:
    id: int
    status: str
    origin: str
    link_id: str | None
    response_id: int | None
    opened_at: dt.datetime
    messages: int
    last_message: str | None


def list_queries(*, session: Session, subject_id: int) -> list[QueryLine]:
    """The data queries on a subject, newest first, with their conversation's length."""
    queries = list(
        session.scalars(
            select(DataQueryRow)
            .where(DataQueryRow.subject_id == subject_id)
            .order_by(DataQueryRow.opened_at.desc(), DataQueryRow.id.desc())
        )
    )
    lines = []
    for query in queries:
        messages = list(
            session.scalars(
                select(DataQueryMessageRow.body)
                .where(DataQueryMessageRow.data_query_id == query.id)
                .order_by(DataQueryMessageRow.sent_at, DataQueryMessageRow.id)
            )
        )
        lines.append(
            QueryLine(
                query.id,
                query.status,
                query.origin,
                query.link_id,
                query.response_id,
                query.opened_at,
                len(messages),
                messages[-1] if messages else None,
            )
        )
    return lines


# Trial tables whose rows belong to one subject, and how to find that subject.
_OWNER = {
    "subject": SubjectRow.id,
    "consent": ConsentRow.subject_id,
    "visit": VisitRow.subject_id,
    "planned_visit": PlannedVisitRow.subject_id,
    "form_response": FormResponseRow.subject_id,
    "adverse_event": AdverseEventRow.subject_id,
    "allocation": AllocationRow.subject_id,
}
HISTORY_TABLES = (*_OWNER, "item_value")


def record_belongs_to(*, session: Session, table: str, record_id: int, subject_id: int) -> bool:
    """Whether row ``record_id`` of ``table`` is part of the subject's record."""
    if table == "item_value":
        owner = session.scalar(
            select(FormResponseRow.subject_id)
            .join(ItemValueRow, ItemValueRow.response_id == FormResponseRow.id)
            .where(ItemValueRow.id == record_id)
        )
    elif table in _OWNER:
        column = _OWNER[table]
        primary = column.table.c.id
        owner = session.scalar(select(column).where(primary == record_id))
    else:
        return False
    return owner == subject_id


def list_audit_events(*, session: Session, table: str, record_id: int) -> list[AuditEventRow]:
    """Every change to one record, oldest first."""
    return list(
        session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.table_name == table, AuditEventRow.record_id == str(record_id))
            .order_by(AuditEventRow.seq)
        )
    )

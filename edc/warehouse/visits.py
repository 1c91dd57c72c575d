"""Planned and actual visits, and the milestone dates the plan counts from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from edc.trial.visits import PlannedVisit
from edc.warehouse import audit
from edc.warehouse.tables.crf import PlannedVisitRow, VisitRow
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.subjects import AllocationRow, ConsentRow, PatientLinkRow, SubjectRow


def actual_visits(session: Session, *, subject_ids: Sequence[int]) -> dict[int, dict[str, dt.date]]:
    """Subject -> visit id -> the date it took place."""
    found: dict[int, dict[str, dt.date]] = {}
    for start in range(0, len(subject_ids), 500):
        rows = session.execute(
            select(VisitRow.subject_id, VisitRow.visit_id, VisitRow.visit_date).where(
                VisitRow.subject_id.in_(list(subject_ids[start : start + 500]))
            )
        )
        for subject_id, visit_id, day in rows:
            found.setdefault(int(subject_id), {})[str(visit_id)] = day
    return found


def consent_dates(session: Session, *, subject_ids: Sequence[int]) -> dict[int, dt.date]:
    """Subject -> the date of their first consent (recorded in edc or synced)."""
    by_link = (
        select(PatientLinkRow.subject_id, ConsentRow.signed_at)
        .join(ConsentRow, ConsentRow.patient_link_id == PatientLinkRow.id)
        .where(PatientLinkRow.subject_id.in_(list(subject_ids)))
    )
    direct = select(ConsentRow.subject_id, ConsentRow.signed_at).where(
        ConsentRow.subject_id.in_(list(subject_ids))
    )
    found: dict[int, dt.date] = {}
    for query in (by_link, direct):
        for subject_id, signed in session.execute(query):
            if subject_id is None:
                continue
            day = signed.date()
            found[int(subject_id)] = min(day, found.get(int(subject_id), day))
    return found


def randomization_dates(session: Session, *, subject_ids: Sequence[int]) -> dict[int, dt.date]:
    rows = session.execute(
        select(AllocationRow.subject_id, AllocationRow.randomized_at).where(
            AllocationRow.subject_id.in_(list(subject_ids))
        )
    )
    return {int(subject_id): at.date() for subject_id, at in rows}


def arms(session: Session, *, subject_ids: Sequence[int]) -> dict[int, str]:
    """Subject -> the arm drawn (blinded: for the schedule an arm follows, never shown)."""
    rows = session.execute(
        select(AllocationRow.subject_id, AllocationRow.arm).where(
            AllocationRow.subject_id.in_(list(subject_ids))
        )
    )
    return {int(subject_id): arm for subject_id, arm in rows}


def procedure_dates(session: Session, *, subject_ids: Sequence[int]) -> dict[int, list[dt.date]]:
    """Subject -> dates of the completed Procedures of their patient in the trial source data."""
    links = session.execute(
        select(PatientLinkRow.subject_id, PatientLinkRow.source, PatientLinkRow.patient_id).where(
            PatientLinkRow.subject_id.in_(list(subject_ids))
        )
    ).all()
    found: dict[int, list[dt.date]] = {}
    for subject_id, source, patient_id in links:
        if subject_id is None:
            continue
        texts = session.scalars(
            select(RawResourceRow.json_text).where(
                RawResourceRow.source == source,
                RawResourceRow.patient_id == patient_id,
                RawResourceRow.resource_type == "Procedure",
                RawResourceRow.direction == "received",
            )
        )
        for text in texts:
            resource = orjson.loads(text)
            if resource.get("status") != "completed":
                continue
            period = resource.get("performedPeriod") or {}
            when = resource.get("performedDateTime") or period.get("start")
            if isinstance(when, str) and len(when) >= 10:
                found.setdefault(int(subject_id), []).append(dt.date.fromisoformat(when[:10]))
    return found


def save_plan(
    session: Session, *, subject_id: int, plan: Sequence[PlannedVisit], reason: str
) -> int:
    """Make the subject's planned visits match ``plan``; returns how many rows changed.

    New visits are inserted; a visit whose target moved (its anchor happened) is updated with
    ``reason`` in the audit trail.
    """
    existing = {
        row.visit_id: row
        for row in session.scalars(
            select(PlannedVisitRow).where(PlannedVisitRow.subject_id == subject_id)
        )
    }
    changed = 0
    for visit in plan:
        values = {
            "target_date": visit.target,
            "window_low": visit.window_low,
            "window_high": visit.window_high,
            "anchor_id": visit.anchor_id,
            "anchor_date": visit.anchor_date,
            "anchor_actual": visit.anchor_actual,
        }
        row = existing.get(visit.visit_id)
        if row is None:
            session.add(PlannedVisitRow(subject_id=subject_id, visit_id=visit.visit_id, **values))
            changed += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            with audit.reason(session, reason):
                for key, value in values.items():
                    setattr(row, key, value)
            changed += 1
    session.flush()
    return changed


def planned(session: Session, *, subject_ids: Sequence[int]) -> list[PlannedVisitRow]:
    return list(
        session.scalars(
            select(PlannedVisitRow)
            .where(PlannedVisitRow.subject_id.in_(list(subject_ids)))
            .order_by(PlannedVisitRow.subject_id, PlannedVisitRow.target_date)
        )
    )


def randomized_subjects(
    session: Session, *, study_id: int, site_ids: Sequence[int]
) -> list[SubjectRow]:
    return list(
        session.scalars(
            select(SubjectRow)
            .join(AllocationRow, AllocationRow.subject_id == SubjectRow.id)
            .where(SubjectRow.study_id == study_id, SubjectRow.site_id.in_(list(site_ids)))
            .order_by(SubjectRow.subject_code)
        )
    )

"""Screening records as read back: reports, enrollment, and purging what never consented.

Purging keeps only counts (``screening_tally``, audited) of patients who did not consent; see
``edc.warehouse.tables.screening``. Writing records is ``edc.warehouse.screening``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from edc.warehouse.base import table_of
from edc.warehouse.screening import ResultTuple
from edc.warehouse.tables.screening import (
    ScreeningRecordRow,
    ScreeningResourceRow,
    ScreeningResultRow,
    ScreeningTallyRow,
)
from edc.warehouse.tables.subjects import PatientLinkRow

_RESOURCE = table_of(ScreeningResourceRow)
_RECORD = table_of(ScreeningRecordRow)
_RESULT = table_of(ScreeningResultRow)
_IN_CHUNK = 500  # keys per IN (...) list


@dataclasses.dataclass(frozen=True)
class Purged:
    patients: int
    resources: int
    tallies: int


def purge(
    session: Session,
    *,
    study_id: int,
    site_ids: Sequence[int],
    before: dt.datetime,
    now: dt.datetime,
    is_failed: Callable[[Mapping[str, Any]], bool],
) -> Purged:
    """Delete screening data of patients who never consented, screened before ``before``.

    Their counts are kept in ``screening_tally`` (one audited row per site). Patients with a
    ``patient_link`` (consented) keep everything.

    :param is_failed: whether a stored result row (result, exclusion, suggested) fails.
    """
    consented = select(PatientLinkRow.patient_id).where(
        PatientLinkRow.study_id == study_id, PatientLinkRow.source == _RECORD.c.source
    )
    records = session.execute(
        select(
            _RECORD.c.id,
            _RECORD.c.site_id,
            _RECORD.c.source,
            _RECORD.c.patient_id,
            _RECORD.c.outcome,
        ).where(
            _RECORD.c.study_id == study_id,
            _RECORD.c.site_id.in_(list(site_ids)),
            _RECORD.c.screened_at < before,
            _RECORD.c.patient_id.not_in(consented.scalar_subquery()),
        )
    ).all()
    if not records:
        return Purged(0, 0, 0)
    ids = [int(r.id) for r in records]
    failed: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    by_record = {int(r.id): int(r.site_id) for r in records}
    for start in range(0, len(ids), _IN_CHUNK):
        rows = session.execute(
            select(
                _RESULT.c.screening_record_id,
                _RESULT.c.criterion_id,
                _RESULT.c.result,
                _RESULT.c.exclusion,
                _RESULT.c.suggested,
            ).where(_RESULT.c.screening_record_id.in_(ids[start : start + _IN_CHUNK]))
        ).mappings()
        for row in rows:
            if is_failed(dict(row)):
                failed[by_record[int(row["screening_record_id"])]][str(row["criterion_id"])] += 1
    outcomes: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for record in records:
        outcomes[int(record.site_id)][str(record.outcome)] += 1
    for site_id, counts in sorted(outcomes.items()):
        session.add(
            ScreeningTallyRow(
                study_id=study_id,
                site_id=site_id,
                purged_at=now,
                screened_before=before,
                eligible=counts["eligible"],
                ineligible=counts["ineligible"],
                undetermined=counts["undetermined"],
                failed_by_criterion=dict(sorted(failed[site_id].items())),
            )
        )
    session.flush()
    resources = 0
    keys = sorted({(str(r.source), str(r.patient_id)) for r in records})
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        result = session.execute(
            delete(_RESOURCE).where(
                _RESOURCE.c.study_id == study_id,
                tuple_(_RESOURCE.c.source, _RESOURCE.c.patient_id).in_(chunk),
            )
        )
        resources += int(result.rowcount or 0)  # type: ignore[attr-defined]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk_ids = ids[start : start + _IN_CHUNK]
        session.execute(delete(_RESULT).where(_RESULT.c.screening_record_id.in_(chunk_ids)))
        session.execute(delete(_RECORD).where(_RECORD.c.id.in_(chunk_ids)))
    return Purged(len(records), resources, len(outcomes))


def tallies(session: Session, *, study_id: int) -> list[ScreeningTallyRow]:
    return list(
        session.scalars(
            select(ScreeningTallyRow)
            .where(ScreeningTallyRow.study_id == study_id)
            .order_by(ScreeningTallyRow.id)
        )
    )


@dataclasses.dataclass(frozen=True)
class StoredScreening:
    """A stored screening record with its results (for reports and enrollment)."""

    site_id: int
    source: str
    patient_id: str
    as_of: dt.date
    screened_at: dt.datetime
    outcome: str
    failed: int
    unknown: int
    data_seen: dict[str, Any]
    protocol_version_id: int
    results: tuple[ResultTuple, ...]


def read_screenings(
    session: Session,
    *,
    study_id: int,
    site_ids: Sequence[int],
    patient_ids: Sequence[str] = (),
) -> list[StoredScreening]:
    """The current screenings at these sites (of these patients), with their results."""
    query = select(_RECORD).where(
        _RECORD.c.study_id == study_id, _RECORD.c.site_id.in_(list(site_ids))
    )
    if patient_ids:
        query = query.where(_RECORD.c.patient_id.in_(list(patient_ids)))
    records = session.execute(query.order_by(_RECORD.c.id)).mappings().all()
    results: dict[int, list[ResultTuple]] = collections.defaultdict(list)
    ids = [int(r["id"]) for r in records]
    for start in range(0, len(ids), _IN_CHUNK):
        rows = session.execute(
            select(
                _RESULT.c.screening_record_id,
                _RESULT.c.criterion_id,
                _RESULT.c.exclusion,
                _RESULT.c.result,
                _RESULT.c.suggested,
                _RESULT.c.reason,
                _RESULT.c.evidence,
            )
            .where(_RESULT.c.screening_record_id.in_(ids[start : start + _IN_CHUNK]))
            .order_by(_RESULT.c.id)
        )
        for record_id, *result in rows:
            results[int(record_id)].append(
                (str(result[0]), bool(result[1]), str(result[2]), result[3], str(result[4]),
                 list(result[5] or []))
            )  # fmt: skip
    return [
        StoredScreening(
            site_id=int(r["site_id"]),
            source=str(r["source"]),
            patient_id=str(r["patient_id"]),
            as_of=r["as_of"],
            screened_at=r["screened_at"],
            outcome=str(r["outcome"]),
            failed=int(r["failed"]),
            unknown=int(r["unknown"]),
            data_seen=dict(r["data_seen"] or {}),
            protocol_version_id=int(r["protocol_version_id"]),
            results=tuple(results[int(r["id"])]),
        )
        for r in records
    ]


def patients(session: Session, *, study_id: int) -> list[tuple[str, str]]:
    """(patient id, Patient JSON) of every patient with screening data."""
    rows = session.execute(
        select(_RESOURCE.c.patient_id, _RESOURCE.c.json_text).where(
            _RESOURCE.c.study_id == study_id, _RESOURCE.c.resource_type == "Patient"
        )
    )
    return [(str(pid), str(text)) for pid, text in rows]

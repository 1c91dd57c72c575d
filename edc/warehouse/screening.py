"""Pre-screening storage: EHR data of patients not in the trial, screening records, purging.

Set-based throughout: records are read for a batch of patients in one query, results are
replaced for a batch in a few statements. See ``edc.warehouse.tables.screening`` for why none
of this is audited (only the counts kept after a purge are).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, tuple_, update
from sqlalchemy.orm import Session

from edc.warehouse.base import table_of
from edc.warehouse.batch import BatchWriter
from edc.warehouse.bulk import RAW_COLUMNS
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.screening import (
    ScreeningRecordRow,
    ScreeningResourceRow,
    ScreeningResultRow,
)

_RESOURCE = table_of(ScreeningResourceRow)
_RECORD = table_of(ScreeningRecordRow)
_RESULT = table_of(ScreeningResultRow)
_IN_CHUNK = 500  # keys per IN (...) list
_SHA = _RESOURCE.c.sha256
RESOURCE_COLUMNS = (
    "study_id",
    "site_id",
    "source",
    "resource_type",
    "logical_id",
    "version_id",
    "last_updated",
    "patient_id",
    "json_text",
    "sha256",
    "received_at",
)
_UPDATED = tuple(name for name in RESOURCE_COLUMNS if name not in ("study_id", "source"))
RECORD_COLUMNS = (
    "study_id",
    "site_id",
    "source",
    "patient_id",
    "protocol_version_id",
    "screened_at",
    "as_of",
    "outcome",
    "failed",
    "unknown",
    "data_seen",
)
RESULT_COLUMNS = (
    "screening_record_id",
    "criterion_id",
    "exclusion",
    "result",
    "suggested",
    "reason",
    "evidence",
)
PatientKey = tuple[str, str]  # (source, patient id)
# (type, id, versionId, lastUpdated, JSON text, site id) of a stored resource.
_Stored = tuple[str, str, str | None, dt.datetime | None, str, int | None]
# (criterion id, exclusion, result, suggested, reason, evidence JSON list) of a result.
ResultTuple = tuple[str, bool, str, str | None, str, list[dict[str, Any]]]


@dataclasses.dataclass(frozen=True, slots=True)
class EhrResource:
    """One received EHR resource of a patient who is not a subject."""

    resource_type: str
    logical_id: str
    version_id: str | None
    last_updated: dt.datetime | None
    patient_id: str
    json_text: str
    sha256: str


@dataclasses.dataclass(frozen=True)
class PatientData:
    """A patient's stored EHR resources (JSON texts) and what identifies that data."""

    source: str
    patient_id: str
    site_id: int | None
    texts: tuple[str, ...]
    data_seen: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RecordToSave:
    """A screening to store, replacing the patient's previous one."""

    site_id: int
    source: str
    patient_id: str
    as_of: dt.date
    outcome: str
    failed: int
    unknown: int
    data_seen: dict[str, Any]
    results: tuple[ResultTuple, ...]


def store_resources(
    writer: BatchWriter,
    *,
    study_id: int,
    source: str,
    items: Sequence[EhrResource],
    site_of: Mapping[str, int | None],
    received_at: dt.datetime,
) -> list[str]:
    """Keep the newest version of each resource; returns new/updated/unchanged per item.

    :param site_of: patient id -> site id (None: no site of the study).
    """
    connection = writer.connection
    existing: dict[tuple[str, str], tuple[int, str]] = {}
    keys = sorted({(item.resource_type, item.logical_id) for item in items})
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        rows = connection.execute(
            select(
                _RESOURCE.c.resource_type,
                _RESOURCE.c.logical_id,
                _RESOURCE.c.id,
                _RESOURCE.c.sha256,
            ).where(
                _RESOURCE.c.study_id == study_id,
                _RESOURCE.c.source == source,
                tuple_(_RESOURCE.c.resource_type, _RESOURCE.c.logical_id).in_(chunk),
            )
        )
        for resource_type, logical_id, row_id, sha in rows:
            existing[(resource_type, logical_id)] = (int(row_id), sha)
    states, new_rows, changed = [], {}, {}
    for item in items:
        key = (item.resource_type, item.logical_id)
        row = (
            study_id, site_of.get(item.patient_id), source, item.resource_type, item.logical_id,
            item.version_id, item.last_updated, item.patient_id, item.json_text, item.sha256,
            received_at,
        )  # fmt: skip
        if key in existing:
            row_id, sha = existing[key]
            states.append("unchanged" if sha == item.sha256 else "updated")
            if sha != item.sha256:
                changed[row_id] = row
        elif key in new_rows:
            states.append("updated")
            new_rows[key] = row
        else:
            states.append("new")
            new_rows[key] = row
    writer.insert(_RESOURCE, RESOURCE_COLUMNS, list(new_rows.values()), what="screening data")
    if changed:
        connection.execute(
            update(_RESOURCE)
            .where(_RESOURCE.c.id == bindparam("row_id"))
            .values(
                {
                    name: bindparam(name)
                    for name in RESOURCE_COLUMNS
                    if name not in ("study_id", "source")
                }
            ),
            [
                {"row_id": row_id, **dict(zip(RESOURCE_COLUMNS, row, strict=True))}
                for row_id, row in changed.items()
            ],
        )
    return states


def stored_sites(
    connection: Connection, *, study_id: int, source: str, patient_ids: Iterable[str]
) -> dict[str, int | None]:
    """The site recorded with each patient's stored Patient resource."""
    wanted = sorted(set(patient_ids))
    found: dict[str, int | None] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        rows = connection.execute(
            select(_RESOURCE.c.patient_id, _RESOURCE.c.site_id).where(
                _RESOURCE.c.study_id == study_id,
                _RESOURCE.c.source == source,
                _RESOURCE.c.resource_type == "Patient",
                _RESOURCE.c.patient_id.in_(wanted[start : start + _IN_CHUNK]),
            )
        )
        found.update((pid, site) for pid, site in rows)
    return found


def list_patients(
    session: Session, *, study_id: int, site_ids: Sequence[int], patient_ids: Sequence[str] = ()
) -> list[tuple[str, str, int]]:
    """(source, patient id, site id) of the patients with screening data at these sites."""
    query = (
        select(_RESOURCE.c.source, _RESOURCE.c.patient_id, _RESOURCE.c.site_id)
        .where(
            _RESOURCE.c.study_id == study_id,
            _RESOURCE.c.resource_type == "Patient",
            _RESOURCE.c.site_id.in_(list(site_ids)),
        )
        .order_by(_RESOURCE.c.site_id, _RESOURCE.c.patient_id)
    )
    if patient_ids:
        query = query.where(_RESOURCE.c.patient_id.in_(list(patient_ids)))
    return [(str(s), str(p), int(site)) for s, p, site in session.execute(query)]


def load_patient_data(
    connection: Connection, *, study_id: int, keys: Sequence[PatientKey]
) -> dict[PatientKey, PatientData]:
    """Every stored resource of these patients, one query per chunk of patients."""
    by_source: dict[str, list[str]] = collections.defaultdict(list)
    for source, patient_id in keys:
        by_source[source].append(patient_id)
    grouped: dict[
        PatientKey, list[tuple[str, str, str | None, dt.datetime | None, str, int | None]]
    ]
    grouped = collections.defaultdict(list)
    for source, patient_ids in by_source.items():
        for start in range(0, len(patient_ids), _IN_CHUNK):
            found_rows = connection.execute(
                select(
                    _RESOURCE.c.patient_id,
                    _RESOURCE.c.resource_type,
                    _RESOURCE.c.logical_id,
                    _RESOURCE.c.version_id,
                    _RESOURCE.c.last_updated,
                    _RESOURCE.c.json_text,
                    _RESOURCE.c.site_id,
                ).where(
                    _RESOURCE.c.study_id == study_id,
                    _RESOURCE.c.source == source,
                    _RESOURCE.c.patient_id.in_(patient_ids[start : start + _IN_CHUNK]),
                )
            )
            for pid, kind, logical_id, version, updated, text, site in found_rows:
                grouped[(source, pid)].append((kind, logical_id, version, updated, text, site))
    found = {}
    for key, rows in grouped.items():
        site = next((row[5] for row in rows if row[0] == "Patient"), None)
        found[key] = PatientData(key[0], key[1], site, tuple(row[4] for row in rows), _seen(rows))
    return found


def _seen(
    rows: Sequence[tuple[str, str, str | None, dt.datetime | None, str, int | None]],
) -> dict[str, Any]:
    versions = sorted(
        f"{kind}/{logical_id}/{version or ''}" for kind, logical_id, version, *_ in rows
    )
    newest = max((row[3] for row in rows if row[3] is not None), default=None)
    return {
        "resources": len(rows),
        "newest": newest.isoformat() if newest else None,
        "sha256": hashlib.sha256("\n".join(versions).encode()).hexdigest(),
    }


def previous_records(
    connection: Connection, *, study_id: int, keys: Sequence[PatientKey]
) -> dict[PatientKey, tuple[int, str, dt.date]]:
    """(protocol version id, data sha256, as-of) of the patients' current screenings."""
    found = {}
    for start in range(0, len(keys), _IN_CHUNK):
        rows = connection.execute(
            select(
                _RECORD.c.source,
                _RECORD.c.patient_id,
                _RECORD.c.protocol_version_id,
                _RECORD.c.data_seen,
                _RECORD.c.as_of,
            ).where(
                _RECORD.c.study_id == study_id,
                tuple_(_RECORD.c.source, _RECORD.c.patient_id).in_(keys[start : start + _IN_CHUNK]),
            )
        )
        for source, pid, version, seen, as_of in rows:
            found[(source, pid)] = (int(version), str(seen.get("sha256")), as_of)
    return found


def replace_records(
    writer: BatchWriter,
    *,
    study_id: int,
    protocol_version_id: int,
    screened_at: dt.datetime,
    records: Sequence[RecordToSave],
) -> None:
    """Store these screenings, dropping each patient's previous one."""
    if not records:
        return
    connection = writer.connection
    keys = [(r.source, r.patient_id) for r in records]
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        old = select(_RECORD.c.id).where(
            _RECORD.c.study_id == study_id,
            tuple_(_RECORD.c.source, _RECORD.c.patient_id).in_(chunk),
        )
        connection.execute(delete(_RESULT).where(_RESULT.c.screening_record_id.in_(old)))
        connection.execute(
            delete(_RECORD).where(
                _RECORD.c.study_id == study_id,
                tuple_(_RECORD.c.source, _RECORD.c.patient_id).in_(chunk),
            )
        )
    ids = writer.insert(
        _RECORD,
        RECORD_COLUMNS,
        [
            (
                study_id,
                r.site_id,
                r.source,
                r.patient_id,
                protocol_version_id,
                screened_at,
                r.as_of,
                r.outcome,
                r.failed,
                r.unknown,
                r.data_seen,
            )
            for r in records
        ],
        what="screening records",
    )
    writer.insert(
        _RESULT,
        RESULT_COLUMNS,
        [
            (record_id, *result)
            for record_id, record in zip(ids, records, strict=True)
            for result in record.results
        ],
        what="screening results",
    )


RAW_RESOURCE_COLUMNS = (*RAW_COLUMNS, "patient_id")


def move_to_trial(
    writer: BatchWriter, *, study_id: int, source: str, patient_id: str, reason: str | None = None
) -> int:
    """Make a patient's screening data trial source data (they consented and enrolled).

    Their resources go to ``raw_resource`` (audited, under the acting user, with ``reason``
    when given: the sync run that moved them) and leave ``screening_resource``. Returns how
    many moved.
    """
    connection = writer.connection
    rows = connection.execute(
        select(
            _RESOURCE.c.resource_type,
            _RESOURCE.c.logical_id,
            _RESOURCE.c.version_id,
            _RESOURCE.c.last_updated,
            _RESOURCE.c.json_text,
            _RESOURCE.c.sha256,
            _RESOURCE.c.received_at,
        ).where(
            _RESOURCE.c.study_id == study_id,
            _RESOURCE.c.source == source,
            _RESOURCE.c.patient_id == patient_id,
        )
    ).all()
    raw = table_of(RawResourceRow)
    present = {
        (kind, logical_id, key)
        for kind, logical_id, key in connection.execute(
            select(raw.c.resource_type, raw.c.logical_id, raw.c.version_key).where(
                raw.c.source == source, raw.c.patient_id == patient_id
            )
        )
    }
    new = []
    for kind, logical_id, version, updated, text, sha, received in rows:
        version_key = version if version is not None else f"sha256:{sha}"
        if (kind, logical_id, version_key) not in present:
            new.append(
                (source, "received", kind, logical_id, version, version_key, updated, text, sha,
                 received, patient_id)
            )  # fmt: skip
    writer.insert(raw, RAW_RESOURCE_COLUMNS, new, what="trial source data", reason=reason)
    connection.execute(
        delete(_RESOURCE).where(
            _RESOURCE.c.study_id == study_id,
            _RESOURCE.c.source == source,
            _RESOURCE.c.patient_id == patient_id,
        )
    )
    return len(new)

"""Raw resources and data-quality problems, written through the fast path.

A resource version is stored once per source (``source``, type, id, versionId or text hash);
storing it again finds the existing row. Each stored resource is classified:

* ``new``: the first version of that resource from that source;
* ``updated``: another version of a resource already stored (``previous`` lists the versions
  stored before this batch);
* ``unchanged``: this very version was stored before (a re-delivery).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from edc.sync.incoming import Parsed, Rejected
from edc.warehouse.base import table_of
from edc.warehouse.batch import BatchWriter
from edc.warehouse.bulk import RAW_COLUMNS as BULK_RAW_COLUMNS
from edc.warehouse.tables.fhir import DataProblemRow, RawResourceRow
from edc.warehouse.tables.subjects import PatientLinkRow, SubjectRow

_RAW = table_of(RawResourceRow)
_PROBLEM = table_of(DataProblemRow)
_LINK = table_of(PatientLinkRow)
_SUBJECT = table_of(SubjectRow)
RAW_COLUMNS = (*BULK_RAW_COLUMNS, "patient_id")
PROBLEM_COLUMNS = (
    "raw_resource_id",
    "study_id",
    "kind",
    "message",
    "field_path",
    "detected_at",
    "status",
    "source",
    "location",
    "raw_text",
    "raw_sha256",
    "subject_id",
    "site_id",
)
# Ids per IN (...) list: well under SQLite's 32,766 bound parameters.
_IN_CHUNK = 2_000


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """Where a received resource is stored, and what it was to us."""

    parsed: Parsed
    raw_id: int
    state: str
    previous: tuple[tuple[int, str | None], ...] = ()
    # A change made at the site to a resource entered in edc (``edc.sync.echo``): the entered
    # resource's reference; ``previous`` includes its versions, all older than this one.
    links_to: str | None = None

    @property
    def reference(self) -> str:
        """The resource edc's rows name: the entered one, for a linked change."""
        return self.links_to or self.parsed.reference


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """A data-quality problem about a stored resource (``raw_id``) or rejected input."""

    kind: str
    message: str
    field_path: str | None = None
    raw_id: int | None = None
    rejected: Rejected | None = None


def store_resources(
    writer: BatchWriter,
    source: str,
    items: Sequence[Parsed],
    received_at: dt.datetime,
    *,
    received_by: str | None = None,
) -> list[Stored]:
    """Store each resource unless that version is stored already; classify each one.

    :param received_by: the reason on each new version's audit row (the sync run and who
        started it, ``edc.sync.ingest.SyncRun``); None keeps the bound context's.
    """
    known: dict[tuple[str, str], list[tuple[int, str, str | None]]] = {}
    by_type: dict[str, set[str]] = {}
    for item in items:
        by_type.setdefault(item.resource_type, set()).add(item.logical_id)
    for resource_type, wanted in by_type.items():
        ordered = sorted(wanted)
        for start in range(0, len(ordered), _IN_CHUNK):
            rows = writer.connection.execute(
                select(_RAW.c.id, _RAW.c.logical_id, _RAW.c.version_key, _RAW.c.version_id).where(
                    _RAW.c.source == source,
                    _RAW.c.resource_type == resource_type,
                    _RAW.c.logical_id.in_(ordered[start : start + _IN_CHUNK]),
                )
            )
            for raw_id, logical_id, version_key, version_id in rows:
                known.setdefault((resource_type, logical_id), []).append(
                    (int(raw_id), version_key, version_id)
                )
    states: list[tuple[str, int | None]] = []
    new_rows: list[tuple[Any, ...]] = []
    pending: dict[tuple[str, str, str], int] = {}  # new in this batch: key -> index in new_rows
    seen_here: set[tuple[str, str]] = set()
    for item in items:
        versions = known.get((item.resource_type, item.logical_id), [])
        same = next((raw_id for raw_id, key, _ in versions if key == item.version_key), None)
        key = _key(item)
        if same is not None or key in pending:
            states.append(("unchanged", same))
            continue
        pending[key] = len(new_rows)
        identity = (item.resource_type, item.logical_id)
        states.append(("updated" if versions or identity in seen_here else "new", None))
        seen_here.add(identity)
        new_rows.append(
            (source, "received", item.resource_type, item.logical_id, item.version_id,
             item.version_key, item.last_updated, item.text, item.sha256, received_at,
             item.patient_id)
        )  # fmt: skip
    ids = writer.insert(_RAW, RAW_COLUMNS, new_rows, what="FHIR resources", reason=received_by)
    stored = []
    for item, (state, same) in zip(items, states, strict=True):
        raw_id = same if same is not None else ids[pending[_key(item)]]
        previous = tuple(
            (other, version)
            for other, _, version in known.get((item.resource_type, item.logical_id), [])
            if other != raw_id
        )
        stored.append(Stored(item, raw_id, state, previous))
    return stored


def record_problems(
    writer: BatchWriter,
    *,
    study_id: int,
    source: str,
    problems: Iterable[Problem],
    detected_at: dt.datetime,
) -> int:
    """Insert problems not already open (same input or resource, kind, path and message).

    :returns: how many were inserted.
    """
    problems = list(problems)
    if not problems:
        return 0
    open_rows = writer.connection.execute(
        select(
            _PROBLEM.c.raw_resource_id,
            _PROBLEM.c.raw_sha256,
            _PROBLEM.c.kind,
            _PROBLEM.c.field_path,
            _PROBLEM.c.message,
        ).where(
            _PROBLEM.c.study_id == study_id,
            _PROBLEM.c.status == "open",
            (_PROBLEM.c.raw_resource_id.in_({p.raw_id for p in problems if p.raw_id}))
            | (_PROBLEM.c.raw_sha256.in_({p.rejected.sha256 for p in problems if p.rejected})),
        )
    )
    seen = {tuple(row) for row in open_rows}
    concerns = _subjects_and_sites(
        writer, study_id, sorted({p.raw_id for p in problems if p.raw_id is not None})
    )
    rows = []
    for problem in problems:
        rejected = problem.rejected
        sha = rejected.sha256 if rejected else None
        key = (problem.raw_id, sha, problem.kind, problem.field_path, problem.message)
        if key in seen:
            continue
        seen.add(key)
        subject_id, site_id = concerns.get(problem.raw_id or 0, (None, None))
        rows.append(
            (problem.raw_id, study_id, problem.kind, problem.message, problem.field_path,
             detected_at, "open", source, rejected.location if rejected else None,
             rejected.text if rejected else None, sha, subject_id, site_id)
        )  # fmt: skip
    writer.insert(_PROBLEM, PROBLEM_COLUMNS, rows, what="data problems")
    return len(rows)


def _subjects_and_sites(
    writer: BatchWriter, study_id: int, raw_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """raw resource id -> (subject id, site id), for resources of patients enrolled in the study
    (linked by the resource's own source; links made in this transaction count)."""
    found: dict[int, tuple[int, int]] = {}
    for start in range(0, len(raw_ids), _IN_CHUNK):
        rows = writer.connection.execute(
            select(_RAW.c.id, _SUBJECT.c.id, _SUBJECT.c.site_id)
            .join(
                _LINK,
                (_LINK.c.patient_id == _RAW.c.patient_id) & (_LINK.c.source == _RAW.c.source),
            )
            .join(_SUBJECT, _SUBJECT.c.id == _LINK.c.subject_id)
            .where(_LINK.c.study_id == study_id, _RAW.c.id.in_(raw_ids[start : start + _IN_CHUNK]))
        )
        found.update({int(raw): (int(subject), int(site)) for raw, subject, site in rows})
    return found


def _key(item: Parsed) -> tuple[str, str, str]:
    return (item.resource_type, item.logical_id, item.version_key)

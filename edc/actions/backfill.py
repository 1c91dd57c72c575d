"""`edc db backfill`: fill what later schema revisions added to rows synced before them.

Migration 9a4d2e6c1f83 gave ``adverse_event`` the onset and resolution instants (``onset_at``,
``resolved_at``: the time when the source gave one) and the "Other, specify" text
(``verbatim``), empty for existing rows; the sync fills them only for events that change. This
step reads each such row's raw AdverseEvent (kept byte for byte) the way the sync does
(``edc.sync.safety``) and fills the empty columns the raw resource gives, as an audited change
with its reason. Rows of frozen or locked subjects are left as they are (counted). Running it
again changes nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from sqlalchemy import or_, select

from edc import config
from edc.clock import Clock, SystemClock
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.safety import AdverseEventRow
from edc.warehouse.tables.subjects import SubjectRow

REASON = "backfill: onset/resolution time and Other-specify text from the raw AdverseEvent"
FIELDS = ("onset_at", "resolved_at", "verbatim")


@dataclasses.dataclass(frozen=True)
class BackfillResult:
    """Adverse event rows looked at, filled, and left alone because their subject is closed."""

    examined: int
    filled: int
    closed: int


def backfill(settings: config.Settings, *, clock: Clock | None = None) -> BackfillResult:
    """Fill the empty ``adverse_event`` columns from the raw resources, audited.

    :raises errors.BadInputError: the warehouse is missing or not migrated.
    :raises errors.ExternalSystemError: when the database cannot be reached.
    """
    from edc.warehouse import audit, db, locks, migrate

    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            audit.bind(session, actor=settings.user or "edc db backfill", role="system",
                       clock=clock or SystemClock())  # fmt: skip
            rows = session.execute(
                select(AdverseEventRow, RawResourceRow.json_text, SubjectRow.study_id)
                .join(RawResourceRow, RawResourceRow.id == AdverseEventRow.raw_resource_id)
                .join(SubjectRow, SubjectRow.id == AdverseEventRow.subject_id)
                .where(or_(*(getattr(AdverseEventRow, f).is_(None) for f in FIELDS)))
                .order_by(AdverseEventRow.id)
            ).all()
            closed_ids: dict[int, set[int]] = {}
            filled = closed = 0
            with audit.reason(session, REASON):
                for row, json_text, study_id in rows:
                    found = _fields(orjson.loads(json_text))
                    changes = {
                        name: value
                        for name, value in found.items()
                        if value is not None and getattr(row, name) is None
                    }
                    if not changes:
                        continue
                    if study_id not in closed_ids:
                        closed_ids[study_id] = locks.closed_subject_ids(session, study_id=study_id)
                    if row.subject_id in closed_ids[study_id]:
                        closed += 1
                        continue
                    for name, value in changes.items():
                        setattr(row, name, value)
                    filled += 1
            return BackfillResult(examined=len(rows), filled=filled, closed=closed)
    finally:
        engine.dispose()


def _fields(resource: dict[str, Any]) -> dict[str, Any]:
    """The columns as the sync derives them from the AdverseEvent (``edc.sync.safety``)."""
    from edc.sync import safety

    extensions = resource.get("extension")
    return {
        "onset_at": safety.instant(resource.get("date")),
        "resolved_at": safety.instant(safety.resolve_value(extensions)),
        "verbatim": safety.verbatim(resource.get("event")),
    }

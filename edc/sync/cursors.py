"""Sync positions (``sync_cursor``): how far a source has been read, per study and type.

A cursor is JSON text. REST and Bulk pulls keep ``{"since": <instant>, "patients_through":
<patient_link id>}``: everything changed before ``since`` has been stored, and patients up to
that link id have had their full history fetched. A directory keeps ``{"files": {name:
{"offset", "line", "tail"}}}``: bytes consumed per file, and a fingerprint of the last line read
(a file replaced by another export is read again from the start). Cursors are written in the
transaction of the data they cover: a crash never moves one past data that was not committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from edc.clock import Clock
from edc.warehouse.tables.fhir import SyncCursorRow


def load(*, session: Session, source: str, study_id: int) -> dict[str, dict[str, Any]]:
    """Every cursor of this source and study, by resource type."""
    rows = session.scalars(
        select(SyncCursorRow).where(
            SyncCursorRow.source == source, SyncCursorRow.study_id == study_id
        )
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        value = orjson.loads(row.cursor_value)
        found[row.resource_type] = value if isinstance(value, dict) else {}
    return found


def save(
    *,
    session: Session,
    source: str,
    study_id: int,
    values: Mapping[str, Mapping[str, Any]],
    clock: Clock,
) -> None:
    """Write cursors (by resource type) in the session's transaction."""
    if not values:
        return
    existing = {
        row.resource_type: row
        for row in session.scalars(
            select(SyncCursorRow).where(
                SyncCursorRow.source == source,
                SyncCursorRow.study_id == study_id,
                SyncCursorRow.resource_type.in_(list(values)),
            )
        )
    }
    for resource_type, value in values.items():
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        row = existing.get(resource_type)
        if row is None:
            session.add(
                SyncCursorRow(
                    source=source,
                    study_id=study_id,
                    resource_type=resource_type,
                    cursor_value=text,
                    updated_at=clock.now(),
                )
            )
        elif row.cursor_value != text:
            row.cursor_value = text
            row.updated_at = clock.now()
    session.flush()

"""The outbox of writes to the sites' FHIR servers: enqueue in the caller's transaction, read,
mark delivered (see ``edc.warehouse.tables.outbox``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from edc.warehouse.tables.outbox import OutboxMessageRow


def enqueue(
    session: Session,
    *,
    study_id: int,
    site_id: int,
    resource: Mapping[str, Any],
    key: tuple[str, str],
    operation: str,
    now: dt.datetime,
) -> OutboxMessageRow:
    """Add a write; a pending write of the same resource (same identifier) is superseded."""
    resource_type = str(resource["resourceType"])
    session.execute(
        update(OutboxMessageRow)
        .where(
            OutboxMessageRow.study_id == study_id,
            OutboxMessageRow.resource_type == resource_type,
            OutboxMessageRow.identifier_system == key[0],
            OutboxMessageRow.identifier_value == key[1],
            OutboxMessageRow.status == "pending",
        )
        .values(status="superseded")
    )
    row = OutboxMessageRow(
        study_id=study_id,
        site_id=site_id,
        resource_type=resource_type,
        identifier_system=key[0],
        identifier_value=key[1],
        operation=operation,
        payload=orjson.dumps(resource, option=orjson.OPT_SORT_KEYS).decode(),
        created_at=now,
        status="pending",
        attempts=0,
    )
    session.add(row)
    session.flush()
    return row


def pending(
    session: Session, *, study_id: int, site_id: int | None = None
) -> list[OutboxMessageRow]:
    """Writes waiting for delivery, oldest first."""
    query = select(OutboxMessageRow).where(
        OutboxMessageRow.study_id == study_id, OutboxMessageRow.status == "pending"
    )
    if site_id is not None:
        query = query.where(OutboxMessageRow.site_id == site_id)
    return list(session.scalars(query.order_by(OutboxMessageRow.id)))


def count_by_status(session: Session, *, study_id: int) -> dict[str, int]:
    rows = session.execute(
        select(OutboxMessageRow.status, func.count())
        .where(OutboxMessageRow.study_id == study_id)
        .group_by(OutboxMessageRow.status)
    )
    return {str(status): int(count) for status, count in rows}

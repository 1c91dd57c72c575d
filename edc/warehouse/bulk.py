"""Batched inserts for the high-volume tables, with their audit rows in the same transaction.

Rows go to the database in chunks of ``CHUNK_ROWS`` through ``edc.warehouse.batch`` (one
``executemany`` on SQLite, one ``COPY`` on PostgreSQL, values converted as the ORM would), never
one round trip per row. Ids are reserved per chunk before inserting so the audit rows can name
them without INSERT ... RETURNING. The session must have an audit context bound
(``edc.warehouse.audit.bind``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Table, select, tuple_
from sqlalchemy.orm import Session

from edc import errors
from edc.warehouse import audit, batch
from edc.warehouse.base import table_of
from edc.warehouse.tables.crf import ItemValueRow
from edc.warehouse.tables.fhir import RawResourceRow

# Rows per statement. Large enough to amortize round trips, small enough that a chunk of
# raw resources (up to 4 key parameters each for de-duplication) stays under SQLite's limit of
# 32,766 bound parameters.
CHUNK_ROWS = 2_000

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True, slots=True)
class ItemValue:
    """One answer to one item, in long format (see ``ItemValueRow`` for the columns)."""

    response_id: int
    link_id: str
    value_type: str
    questionnaire_url: str
    questionnaire_version: str
    answer_index: int = 0
    value_number: decimal.Decimal | None = None
    value_text: str | None = None
    value_code: str | None = None
    value_system: str | None = None
    value_date: dt.date | None = None
    value_datetime: dt.datetime | None = None
    value_bool: bool | None = None
    unit: str | None = None

    def row(self) -> dict[str, Any]:
        """The column values, keyed by column name."""
        return {field: getattr(self, field) for field in _ITEM_FIELDS}


_ITEM_FIELDS = tuple(field.name for field in dataclasses.fields(ItemValue))


@dataclasses.dataclass(frozen=True, slots=True)
class RawResource:
    """A FHIR resource's JSON text exactly as received (or sent), and where it came from."""

    source: str
    json_text: str
    direction: str = "received"


@dataclasses.dataclass(frozen=True, slots=True)
class StoredResource:
    """Where a ``RawResource`` ended up: its row id, and whether this call created that row."""

    id: int
    resource_type: str
    logical_id: str | None
    version_key: str
    new: bool


def insert_item_values(*, session: Session, values: Iterable[ItemValue]) -> int:
    """Insert item values and one "insert" audit row for each.

    :param session: a session with an audit context bound, inside the caller's transaction.
    :param values: the values; any iterable (a generator keeps memory flat).
    :returns: how many rows were inserted.
    :raises audit.MissingAuditContextError: when no audit context is bound.
    :raises errors.BadInputError: when the database refuses a row (unknown response, duplicate
        answer, invalid value type); the caller's transaction must then be rolled back.
    """
    writer = batch.BatchWriter(session)
    table = table_of(ItemValueRow)
    count = 0
    for chunk in _chunks(values, CHUNK_ROWS):
        rows = [tuple(getattr(value, field) for field in _ITEM_FIELDS) for value in chunk]
        writer.insert(table, _ITEM_FIELDS, rows, what="item values")
        count += len(rows)
    return count


def insert_raw_resources(
    *, session: Session, resources: Iterable[RawResource]
) -> list[StoredResource]:
    """Store FHIR resources as received, once per version, with an audit row for each new one.

    A resource already stored (same source, type, id and versionId, or the same text when it
    has no versionId) is not stored again: its existing row is returned with ``new=False``.

    :param session: a session with an audit context bound, inside the caller's transaction.
    :param resources: the resources, in the order to store them.
    :returns: one ``StoredResource`` per input, in input order.
    :raises audit.MissingAuditContextError: when no audit context is bound.
    :raises errors.BadInputError: when a text is not a JSON object with a resourceType, a
        received resource has no id, or meta.lastUpdated is not an instant.
    """
    context = audit.current(session)
    writer = batch.BatchWriter(session)
    connection = writer.connection
    table = table_of(RawResourceRow)
    stored: list[StoredResource] = []
    for chunk in _chunks(resources, CHUNK_ROWS):
        received_at = context.clock.now()
        rows = [_raw_row(resource, received_at) for resource in chunk]
        known = _existing_ids(connection, table, rows)
        new_rows: list[dict[str, Any]] = []
        first_of_key: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            # A sent resource without an id has nothing to be recognised by: always new.
            key = _resource_key(row) if row["logical_id"] is not None else None
            if key is None or (key not in known and key not in first_of_key):
                new_rows.append(row)
                if key is not None:
                    first_of_key[key] = row
        ids = writer.insert(
            table,
            RAW_COLUMNS,
            [tuple(row[name] for name in RAW_COLUMNS) for row in new_rows],
            what="FHIR resources",
        )
        for row, id_ in zip(new_rows, ids, strict=True):
            row["id"] = id_
        new_id_of = {id(row): row["id"] for row in new_rows}
        known.update((key, row["id"]) for key, row in first_of_key.items())
        for row in rows:
            if id(row) in new_id_of:
                stored.append(_stored(row, new_id_of[id(row)], new=True))
            else:
                stored.append(_stored(row, known[_resource_key(row)], new=False))
    return stored


RAW_COLUMNS = (
    "source",
    "direction",
    "resource_type",
    "logical_id",
    "version_id",
    "version_key",
    "last_updated",
    "json_text",
    "sha256",
    "received_at",
)


def _raw_row(resource: RawResource, received_at: dt.datetime) -> dict[str, Any]:
    where = f"resource from {resource.source}"
    try:
        parsed = orjson.loads(resource.json_text)
    except orjson.JSONDecodeError as exc:
        raise errors.BadInputError(f"{where} is not JSON: {exc}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("resourceType"), str):
        raise errors.BadInputError(f"{where} is not a FHIR resource (no resourceType)")
    logical_id = parsed.get("id")
    meta = parsed.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    version_id = meta.get("versionId")
    where = f"{parsed['resourceType']}/{logical_id} from {resource.source}"
    if logical_id is None and resource.direction == "received":
        raise errors.BadInputError(f"{where} has no id")
    if not all(isinstance(v, str | None) for v in (logical_id, version_id)):
        raise errors.BadInputError(f"{where}: id and meta.versionId must be strings")
    sha256 = hashlib.sha256(resource.json_text.encode()).hexdigest()
    return {
        "source": resource.source,
        "direction": resource.direction,
        "resource_type": parsed["resourceType"],
        "logical_id": logical_id,
        "version_id": version_id,
        "version_key": version_id if version_id is not None else f"sha256:{sha256}",
        "last_updated": _instant(meta.get("lastUpdated"), where),
        "json_text": resource.json_text,
        "sha256": sha256,
        "received_at": received_at,
    }


def _instant(value: Any, where: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise errors.BadInputError(f"{where}: meta.lastUpdated {value!r} is not a FHIR instant")
    return instant


def _resource_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["source"], row["resource_type"], row["logical_id"], row["version_key"])


def _existing_ids(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> dict[tuple[Any, ...], int]:
    keys = {_resource_key(row) for row in rows if row["logical_id"] is not None}
    if not keys:
        return {}
    columns = (table.c.source, table.c.resource_type, table.c.logical_id, table.c.version_key)
    found = connection.execute(select(*columns, table.c.id).where(tuple_(*columns).in_(keys)))
    return {tuple(row[:4]): int(row[4]) for row in found}


def _stored(row: dict[str, Any], id_: int, *, new: bool) -> StoredResource:
    return StoredResource(id_, row["resource_type"], row["logical_id"], row["version_key"], new)


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk

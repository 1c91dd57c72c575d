"""Appending to and checking the hash chain of ``audit_event``.

Each row's hash is SHA-256 over a JSON array of its content followed by the previous row's hash.
Appends are serialized so two transactions never read the same chain head: PostgreSQL takes a
transaction-level advisory lock before reading it, and SQLite transactions begin IMMEDIATE
(``edc.warehouse.db``), holding the write lock from their first statement.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, text

from edc.warehouse.base import table_of
from edc.warehouse.tables.audit import GENESIS_HASH, AuditEventRow

# Any fixed 64-bit number works; this one is the first 8 bytes of SHA-256("edc.audit_event").
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"edc.audit_event").digest()[:8], "big", signed=True
)
# Rows per INSERT round trip, and rows fetched per batch when verifying.
CHUNK_ROWS = 5_000

_audit = table_of(AuditEventRow)


@dataclasses.dataclass(frozen=True)
class Change:
    """One change to record: an insert or delete (field None, the whole row) or one field."""

    action: str
    table_name: str
    record_id: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None


@dataclasses.dataclass(frozen=True)
class Signature:
    """Who changes data, in what role, and why (the part every row of one append shares)."""

    actor: str
    role: str
    at: dt.datetime
    reason: str | None


@dataclasses.dataclass(frozen=True)
class Break:
    """The first row where the chain does not hold."""

    seq: int
    table_name: str
    record_id: str
    problem: str


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """What verification found: how many rows, the last hash, and the first break if any."""

    rows: int
    head_seq: int
    head_hash: str
    first_break: Break | None


def row_hash(row: dict[str, Any], prev_hash: str) -> str:
    """The hash of an audit row (a mapping of its columns) chained to ``prev_hash``."""
    at: dt.datetime = row["at"]
    payload = [
        row["seq"],
        at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        row["actor"],
        row["role"],
        row["action"],
        row["table_name"],
        row["record_id"],
        row["field"],
        row["old_value"],
        row["new_value"],
        row["reason"],
        prev_hash,
    ]
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()


def lock(connection: Connection) -> None:
    """Serialize appends until the end of the current transaction (PostgreSQL only).

    :param connection: a connection inside the transaction that will append.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(text(f"pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")))


def head(connection: Connection) -> tuple[int, str]:
    """The sequence number and hash of the last row, or ``(0, GENESIS_HASH)`` when empty."""
    last = connection.execute(
        select(_audit.c.seq, _audit.c.hash).order_by(_audit.c.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.hash))


def append(connection: Connection, *, signature: Signature, changes: Sequence[Change]) -> int:
    """Write ``changes`` as chained audit rows in the connection's current transaction.

    :param connection: the connection of the transaction that made the changes.
    :param signature: actor, role, time and reason shared by the rows.
    :param changes: the changes, in the order they are to be recorded.
    :returns: the sequence number of the last row written (0 if nothing was written).
    """
    if not changes:
        return 0
    lock(connection)
    seq, prev_hash = head(connection)
    rows: list[dict[str, Any]] = []
    for change in changes:
        seq += 1
        row = {
            "seq": seq,
            "at": signature.at,
            "actor": signature.actor,
            "role": signature.role,
            "action": change.action,
            "table_name": change.table_name,
            "record_id": change.record_id,
            "field": change.field,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "reason": signature.reason,
            "prev_hash": prev_hash,
        }
        prev_hash = row["hash"] = row_hash(row, prev_hash)
        rows.append(row)
    for start in range(0, len(rows), CHUNK_ROWS):
        connection.execute(insert(_audit), rows[start : start + CHUNK_ROWS])
    return seq


def verify(connection: Connection) -> ChainReport:
    """Recompute the whole chain, oldest row first, and report the first row that breaks it.

    A row breaks the chain when its sequence number is not the next one, its ``prev_hash`` is not
    the previous row's hash, or its own hash does not match its content.
    """
    count, expected_seq, prev_hash = 0, 1, GENESIS_HASH
    # Streamed in batches (a server-side cursor on PostgreSQL): the chain can hold millions.
    result = connection.execution_options(yield_per=CHUNK_ROWS).execute(
        select(_audit).order_by(_audit.c.seq)
    )
    with result:
        for mapping in result.mappings():
            row = dict(mapping)
            problem = _problem(row, expected_seq, prev_hash)
            if problem is not None:
                brk = Break(row["seq"], row["table_name"], row["record_id"], problem)
                return ChainReport(count, expected_seq - 1, prev_hash, brk)
            count += 1
            expected_seq += 1
            prev_hash = row["hash"]
    return ChainReport(count, expected_seq - 1, prev_hash, None)


def _problem(row: dict[str, Any], expected_seq: int, prev_hash: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"sequence number {row['seq']} where {expected_seq} was expected (rows missing)"
    if row["prev_hash"] != prev_hash:
        return (
            f"prev_hash does not match the hash of row {expected_seq - 1} "
            "(that row or this one was altered)"
        )
    if row_hash(row, prev_hash) != row["hash"]:
        return "content does not match its hash (the row was altered)"
    return None

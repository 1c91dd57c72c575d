"""The fast insert path: many rows of one table, and their audit rows, in the caller's transaction.

The ORM (and even SQLAlchemy Core's ``insert(table), rows``) spends most of its time per row in
Python: building parameter dicts, running type processors, compiling. Here rows are tuples in a
fixed column order; each value is converted once with the very bind processor SQLAlchemy would
use for that column on this dialect (so what lands in the database is what the ORM stores), and
the rows go to the DBAPI cursor in one ``executemany`` (SQLite) or one ``COPY`` (PostgreSQL).

Every row of an audited table gets its "insert" audit row, chained exactly as
``edc.warehouse.chain.append`` would chain it (same payload, same hash), and written the same
fast way. Ids are reserved up front (``reserve_ids``) so the audit rows can name them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Dialect, Table, column, func, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from edc import errors
from edc.warehouse import audit, canonical, chain
from edc.warehouse.base import table_of
from edc.warehouse.tables.audit import AuditEventRow

# SQLite's own bookkeeping of the highest id each AUTOINCREMENT table ever used.
_sqlite_sequence = table_clause("sqlite_sequence", column("name"), column("seq"))
_AUDIT = table_of(AuditEventRow)
_AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "table_name",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "prev_hash",
    "hash",
)
_PLAIN = (str, int, bool)
Processor = Callable[[Any], Any]


class BatchWriter:
    """Fast inserts through one session's connection, audited under the session's context.

    :param session: a session with an audit context bound (``audit.bind``), in a transaction.
    :raises audit.MissingAuditContextError: when no audit context is bound.
    """

    def __init__(self, session: Session) -> None:
        self._context = audit.current(session)
        session.flush()  # pending ORM rows first: ours may refer to them
        self.connection = session.connection()
        self.dialect = self.connection.dialect

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        what: str,
        audited: bool = True,
        reason: str | None = None,
    ) -> list[int]:
        """Insert ``rows`` (values in ``columns`` order, without ``id``) and return their new ids.

        :param what: names the rows in the error message ("item values").
        :param audited: False for rows derived from a received resource whose version has its
            own audit row (the audit granularity decision, ``edc.sync.derived``): no audit row
            per derived row.
        :param reason: the audit rows' reason instead of the bound context's (a received
            version's row names the sync run and who started it).
        :raises errors.BadInputError: when the database refuses a row (constraint violated); the
            caller's transaction must then be rolled back.
        """
        if not rows:
            return []
        ids = reserve_ids(self.connection, table, len(rows))
        all_columns = ("id", *columns)
        full = [(id_, *row) for id_, row in zip(ids, rows, strict=True)]
        values = _converted(self.dialect, table, all_columns, full)
        try:
            write_rows(self.connection, table, all_columns, values)
        except (IntegrityError, DataError) as exc:
            raise errors.BadInputError(f"{what} refused by the database", str(exc.orig)) from None
        except _copy_integrity_error() as exc:  # raised by COPY, which bypasses SQLAlchemy
            raise errors.BadInputError(f"{what} refused by the database", str(exc)) from None
        if audited and audit.is_audited(table):
            dump = _row_dumper(table, all_columns)
            inserted = [(str(row[0]), dump(row)) for row in full]
            self.append_audit(table.name, inserted, reason=reason)
        return list(ids)

    def append_audit(
        self, table_name: str, inserted: Sequence[tuple[str, str]], *, reason: str | None = None
    ) -> None:
        """Chain one "insert" audit row per ``(record_id, new_value JSON)``, in order (with
        ``reason`` instead of the bound context's, when given)."""
        if not inserted:
            return
        signature = self._context.signature()
        chain.lock(self.connection)
        seq, prev_hash = chain.head(self.connection)
        at_text = signature.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        at_db = _processor(self.dialect, _AUDIT, "at")(signature.at)
        actor, role = signature.actor, signature.role
        reason = reason or signature.reason
        # A plain str: Table.name is a str subclass, which the DBAPI adapts slowly, row by row.
        table_name = str(table_name)
        rows = []
        sha256, dumps = hashlib.sha256, orjson.dumps
        for record_id, new_value in inserted:
            seq += 1
            # The payload of chain.row_hash, field for field (a test recomputes it).
            payload = [
                seq, at_text, actor, role, "insert", table_name, record_id,
                None, None, new_value, reason, prev_hash,
            ]  # fmt: skip
            digest = sha256(dumps(payload)).hexdigest()
            rows.append(
                (seq, at_db, actor, role, "insert", table_name, record_id,
                 None, None, new_value, reason, prev_hash, digest)
            )  # fmt: skip
            prev_hash = digest
        write_rows(self.connection, _AUDIT, _AUDIT_COLUMNS, rows)


def _copy_integrity_error() -> tuple[type[Exception], ...]:
    """psycopg's IntegrityError and DataError (a value too long for its column), which COPY
    raises; psycopg is imported only for PostgreSQL (SQLite users need not load it), so
    without it there is nothing to catch."""
    psycopg = sys.modules.get("psycopg")
    return (psycopg.IntegrityError, psycopg.DataError) if psycopg is not None else ()


def write_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Send rows whose values are already database values: ``COPY`` or ``executemany``."""
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        # COPY is PostgreSQL's bulk-load path; psycopg adapts each value in C.
        raw = connection.connection.driver_connection
        statement = f"COPY {table.name} ({names}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    # Names come from our table metadata, never from input; values are bound parameters.
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
    connection.exec_driver_sql(statement, rows)


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int] | range:
    """``count`` ids for new rows of ``table`` that no other transaction can take."""
    if connection.dialect.name == "postgresql":
        # nextval hands out ids no other transaction will get, without any lock.
        reserved = connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        ).scalars()
        return sorted(int(id_) for id_ in reserved)
    # SQLite: this transaction began IMMEDIATE and holds the write lock, so nobody else can take
    # these ids before we commit. AUTOINCREMENT tables remember their highest id ever used in
    # sqlite_sequence, which may exceed max(id) after deletes.
    ever = select(_sqlite_sequence.c.seq).where(_sqlite_sequence.c.name == table.name)
    now = select(func.max(table.c.id))
    last = connection.execute(
        select(
            func.max(
                func.coalesce(ever.scalar_subquery(), 0), func.coalesce(now.scalar_subquery(), 0)
            )
        )
    ).scalar_one()
    return range(int(last) + 1, int(last) + 1 + count)


def _converted(
    dialect: Dialect, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    processors = _processors(dialect, table, tuple(columns))
    if not processors:
        return rows
    converted: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for index, process in processors:
            value = values[index]
            if value is not None:
                values[index] = process(value)
        converted.append(tuple(values))
    return converted


@functools.cache
def _processors(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> list[tuple[int, Processor]]:
    found: list[tuple[int, Processor]] = []
    for index, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            found.append((index, process))
    return found


def _processor(dialect: Dialect, table: Table, name: str) -> Processor:
    process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _identity


def _identity(value: Any) -> Any:
    return value


@functools.cache
def _row_dumper(table: Table, columns: tuple[str, ...]) -> Callable[[Sequence[Any]], str]:
    """``audit.row_json`` for rows given as tuples in ``columns`` order (same bytes, faster).

    Values are picked in sorted column order by one ``itemgetter`` (missing columns read the
    ``None`` appended to the row), so the dict needs no sorting; only the columns that can hold
    something other than text, integers and booleans (or are recorded by digest) are converted.
    """
    position = {name: index for index, name in enumerate(columns)}
    ordered = sorted(table.columns, key=lambda c: c.name)
    names = tuple(c.name for c in ordered)
    pick = operator.itemgetter(*(position.get(c.name, len(columns)) for c in ordered))
    special = [
        (index, bool(c.info.get("audit_digest")))
        for index, c in enumerate(ordered)
        if c.info.get("audit_digest") or _python_type(c) not in _PLAIN
    ]
    digest, jsonable, plain = canonical.digest, canonical.jsonable, _PLAIN

    def dump(row: Sequence[Any]) -> str:
        values = list(pick((*row, None)))
        for index, digested in special:
            value = values[index]
            if value is not None:
                values[index] = (
                    digest(value)
                    if digested
                    else value
                    if type(value) in plain
                    else jsonable(value)
                )
        return orjson.dumps(dict(zip(names, values, strict=True))).decode()

    return dump


def _python_type(column: Any) -> type:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return object

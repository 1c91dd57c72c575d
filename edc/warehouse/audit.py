"""The audit trail of trial data, written automatically in the transaction that changes it.

Bind who is acting to the session, then use the ORM as usual::

    with db.transaction(sessionmaker) as session:
        audit.bind(session, actor="alice", role="investigator", clock=clock)
        session.add(SubjectRow(...))                      # one "insert" audit row
        with audit.reason(session, "transcription error"):
            subject.status = "withdrawn"                  # one "update" row per changed field

Flushing an insert, update or delete of an audited table (every table except those marked
``not_audited()``) with no bound context raises ``MissingAuditContextError``; changing or deleting
a row that existed before the transaction began without a reason raises ``BadInputError`` and
writes nothing. Bulk writes go through ``edc.warehouse.bulk``, which records the same rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from sqlalchemy import Table, event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from edc import clock as clocks
from edc import errors
from edc.warehouse import canonical, chain, codes
from edc.warehouse.base import table_of

_CONTEXT = "edc.audit.context"
_SNAPSHOTS = "edc.audit.snapshots"
_INSERTED = "edc.audit.inserted"


class MissingAuditContextError(errors.EdcError):
    """Trial data was written through a session with no bound actor (a bug in the caller)."""


@dataclasses.dataclass(frozen=True)
class AuditContext:
    """Who writes, in which role, by which clock, and why (``reason`` None for new data)."""

    actor: str
    role: str
    clock: clocks.Clock
    reason: str | None = None

    def signature(self) -> chain.Signature:
        """The shared part of the audit rows written now."""
        return chain.Signature(self.actor, self.role, self.clock.now(), self.reason)


def bind(
    session: Session, *, actor: str, role: str, clock: clocks.Clock, reason: str | None = None
) -> AuditContext:
    """Name who writes through ``session`` from now on (until bound again or unbound).

    :param actor: the user name, or the job name for automated writers.
    :param role: one of ``codes.AUDIT_ROLES`` ("system" for jobs).
    :param clock: where audit times come from.
    :param reason: why existing data is being changed; needed for updates and deletes.
    :raises errors.BadInputError: for an empty actor, an unknown role or a blank reason.
    """
    if not actor.strip():
        raise errors.BadInputError("the audit trail needs an actor name")
    if role not in codes.AUDIT_ROLES:
        raise errors.BadInputError(
            f"unknown role {role!r}", f"roles: {', '.join(codes.AUDIT_ROLES)}"
        )
    if reason is not None and not reason.strip():
        raise errors.BadInputError("the reason for a change cannot be blank")
    context = AuditContext(actor, role, clock, reason)
    session.info[_CONTEXT] = context
    return context


def unbind(session: Session) -> None:
    """Forget the session's audit context."""
    session.info.pop(_CONTEXT, None)


def current(session: Session) -> AuditContext:
    """The context bound to ``session``.

    :raises MissingAuditContextError: when none is bound.
    """
    context = session.info.get(_CONTEXT)
    if not isinstance(context, AuditContext):
        raise MissingAuditContextError(
            "trial data written without an audit context: call edc.warehouse.audit.bind() first"
        )
    return context


@contextlib.contextmanager
def reason(session: Session, text: str) -> Iterator[AuditContext]:
    """Give a reason to the changes made inside the block (they are flushed before it ends).

    :raises MissingAuditContextError: when no context is bound.
    :raises errors.BadInputError: when ``text`` is blank.
    """
    outer = current(session)
    inner = bind(session, actor=outer.actor, role=outer.role, clock=outer.clock, reason=text)
    try:
        yield inner
        session.flush()
    finally:
        session.info[_CONTEXT] = outer


def is_audited(table: Table) -> bool:
    """Whether changes to ``table`` go to the audit trail (all tables but ``not_audited()``)."""
    return bool(table.info.get("audited", True))


def row_json(table: Table, values: Mapping[str, Any]) -> str:
    """Canonical JSON of a whole row, large texts replaced by their digest.

    :param values: column name to value; missing columns are recorded as null.
    """
    row = {}
    # A flat loop rather than canonical.dumps(): bulk inserts call this once per row.
    for name, digested in _audit_columns(table):
        value = values.get(name)
        if value is not None:
            if digested:
                value = canonical.digest(value)
            elif type(value) not in _PLAIN:
                value = canonical.jsonable(value)
        row[name] = value
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode()


def value_json(table: Table, column: str, value: Any) -> str:
    """Canonical JSON of one column value as the audit trail records it."""
    if value is not None and table.columns[column].info.get("audit_digest"):
        value = canonical.digest(value)
    return canonical.dumps(value)


_PLAIN = frozenset({str, int, bool})


@functools.cache
def _audit_columns(table: Table) -> tuple[tuple[str, bool], ...]:
    return tuple((c.name, bool(c.info.get("audit_digest"))) for c in table.columns)


# --- ORM hooks -------------------------------------------------------------------------------
# Registered on the Session class, so no session, however it was made, writes trial data
# without its audit rows.


def _audited_objects(objects: Any) -> list[Any]:
    return [obj for obj in objects if is_audited(inspect(obj).mapper.local_table)]


def _key(obj: Any) -> tuple[str, str]:
    state = inspect(obj)
    identity = state.identity or inspect(obj).mapper.primary_key_from_instance(obj)
    return state.mapper.local_table.name, ",".join(str(part) for part in identity)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    new = _audited_objects(session.new)
    dirty = [obj for obj in _audited_objects(session.dirty) if session.is_modified(obj)]
    deleted = _audited_objects(session.deleted)
    session.info.pop(_SNAPSHOTS, None)
    if not (new or dirty or deleted):
        return
    context = current(session)
    inserted: set[tuple[str, str]] = session.info.get(_INSERTED, set())
    if context.reason is None:
        for obj in dirty + deleted:
            if _key(obj) not in inserted:
                table, record = _key(obj)
                raise errors.BadInputError(
                    f"a reason is required to change {table} {record}",
                    "data already entered is changed only with a reason for the audit trail",
                )
    # Old (and, after the flush, new) values are read from the database rather than taken from
    # attribute history: an attribute expired when it was set (e.g. after a commit) has no
    # history of its old value, and one set to a SQL expression has no new value until read.
    session.info[_SNAPSHOTS] = [
        *((obj, "update", _read_row(session, obj)) for obj in dirty),
        *((obj, "delete", _read_row(session, obj)) for obj in deleted),
    ]


def _read_row(session: Session, obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    table = state.mapper.local_table
    pk_columns = list(table.primary_key.columns)
    condition = [column == value for column, value in zip(pk_columns, state.identity, strict=True)]
    row = session.connection().execute(select(table).where(*condition)).mappings().one()
    return dict(row)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    snapshots: list[tuple[Any, str, dict[str, Any]]] = session.info.pop(_SNAPSHOTS, [])
    new = _audited_objects(session.new)
    if not (new or snapshots):
        return
    changes: list[chain.Change] = []
    inserted: set[tuple[str, str]] = session.info.setdefault(_INSERTED, set())
    for obj in new:
        table, record = _key(obj)
        inserted.add((table, record))
        # Every column of a new row is in the object (edc tables have no server defaults).
        changes.append(
            chain.Change("insert", table, record, new_value=row_json(_table(obj), _values(obj)))
        )
    for obj, action, old_row in snapshots:
        table, record = _key(obj)
        if action == "delete":
            old = row_json(_table(obj), old_row)
            changes.append(chain.Change("delete", table, record, old_value=old))
        else:
            changes.extend(_field_changes(_table(obj), record, old_row, _read_row(session, obj)))
    chain.append(session.connection(), signature=current(session).signature(), changes=changes)


def _field_changes(
    table: Table, record: str, old_row: dict[str, Any], new_row: dict[str, Any]
) -> list[chain.Change]:
    changes = []
    for column in table.columns:
        old = value_json(table, column.name, old_row.get(column.name))
        new = value_json(table, column.name, new_row.get(column.name))
        if old != new:
            changes.append(chain.Change("update", table.name, record, column.name, old, new))
    return changes


def _table(obj: Any) -> Table:
    return table_of(inspect(obj).mapper.class_)


def _values(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {prop.columns[0].name: state.dict.get(prop.key) for prop in state.mapper.column_attrs}


@event.listens_for(Session, "after_transaction_end")
def _forget_inserted(session: Session, transaction: SessionTransaction) -> None:
    # Rows inserted by a transaction count as new data only until it ends.
    if transaction.parent is None:
        session.info.pop(_INSERTED, None)
        session.info.pop(_SNAPSHOTS, None)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_dml(state: ORMExecuteState) -> None:
    # session.execute(update(SubjectRow)...) never reaches the flush hooks: refuse it rather
    # than change trial data silently. edc.warehouse.bulk writes through the connection.
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if isinstance(table, Table) and is_audited(table):
        raise MissingAuditContextError(
            f"bulk {type(state.statement).__name__.upper()} on audited table {table.name} "
            "bypasses the audit trail: use the ORM or edc.warehouse.bulk"
        )

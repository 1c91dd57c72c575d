"""The lock triggers: the database refuses writes to a frozen or locked subject's trial data,
whoever sends them (edc's Session, or raw SQL that bypasses edc), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from edc import clock as clocks
from edc.warehouse import audit, db, locks
from edc.warehouse.base import Base
from edc.warehouse.tables import LockEventRow, LockStateRow, SiteRow, StudyRow, SubjectRow
from tests.fixtures.database import Database

# Values that satisfy the CHECK constraints; other columns get a plain value of their type.
CHOICES = {
    "status": {
        "form_response": "completed", "deviation": "open", "data_query": "open",
        "subject": "on-study",
    },
    "value_type": {"item_value": "string"},
    "outcome": {"adverse_event": "ongoing"},
    "attribution": {"adverse_event": "possible"},
    "kind": {"deviation": "other"},
    "severity": {"deviation": "minor"},
    "origin": {"data_query": "manual", "deviation": "recorded"},
}  # fmt: skip
DAY = dt.date(2027, 3, 1)
AT = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class Trial:
    database: Database
    study_id: int
    site_id: int
    locked: int  # the subject that gets locked
    other: int  # a subject of the same site that does not
    rows: dict[tuple[str, int], int]  # (table, subject) -> row id


def _value(table: sa.Table, column: sa.Column[Any], ids: dict[str, int]) -> Any:
    if column.name in ids:
        return ids[column.name]
    chosen = CHOICES.get(column.name, {}).get(table.name) or _allowed(table, column.name)
    if chosen is not None:
        return chosen
    kind = column.type
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl_instance
    python_type = kind.python_type
    if python_type is dt.datetime:
        return AT
    if python_type is dt.date:
        return DAY
    if python_type is bool:
        return False
    if python_type is int:
        return 1
    if python_type is dict:
        return {}
    return f"x{ids['subject_id']}"


def _allowed(table: sa.Table, column: str) -> str | None:
    """The first code a CHECK constraint allows for ``column`` (codes added by other work)."""
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            found = re.search(rf"\b{column} = '([^']+)'", str(constraint.sqltext))
            if found:
                return found.group(1)
    return None


def _row_class(name: str) -> type[Any]:
    return next(m.class_ for m in Base.registry.mappers if m.local_table.name == name)


def _fill(session: Any, name: str, ids: dict[str, int]) -> int:
    table = Base.metadata.tables[name]
    values = {
        c.name: _value(table, c, ids)
        for c in table.columns
        if not c.primary_key and (not c.nullable or c.name in ids)
    }
    row = _row_class(name)(**values)
    session.add(row)
    session.flush()
    return int(row.id)


@pytest.fixture
def trial(database: Database, clock: clocks.FixedClock) -> Trial:
    rows: dict[tuple[str, int], int] = {}
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="setup", role="admin", clock=clock)
        study = StudyRow(code="LOCK-01", title="lock")
        session.add(study)
        session.flush()
        site = SiteRow(study_id=study.id, code="S1", name="One", country="DE")
        session.add(site)
        session.flush()
        subjects = []
        for code in ("S1-001", "S1-002"):
            subject = SubjectRow(
                study_id=study.id, site_id=site.id, subject_code=code, status="on-study"
            )
            session.add(subject)
            session.flush()
            subjects.append(subject.id)
            rows["subject", subject.id] = subject.id
            ids = {"study_id": study.id, "site_id": site.id, "subject_id": subject.id}
            ids["response_id"] = rows["form_response", subject.id] = _fill(
                session, "form_response", ids
            )
            for name in locks.LOCKED_TABLES:
                if name not in ("subject", "form_response"):
                    rows[name, subject.id] = _fill(session, name, ids)
    return Trial(database, study.id, site.id, subjects[0], subjects[1], rows)


def _lock(trial: Trial, clock: clocks.FixedClock, unit: str, state: str = "locked") -> None:
    subject_id = trial.locked if unit == "subject" else None
    site_id = trial.site_id if unit in ("site", "subject") else None
    key = {"study": locks.STUDY_UNIT, "site": locks.site_unit(trial.site_id)}.get(
        unit, locks.subject_unit(trial.locked)
    )
    with db.transaction(trial.database.sessionmaker) as session:
        audit.bind(session, actor="dm", role="data_manager", clock=clock)
        event = LockEventRow(
            study_id=trial.study_id, site_id=site_id, subject_id=subject_id, state=state,
            at=clock.now(), actor="dm", reason="test", signer_role="data_manager",
            meaning="m", audit_rows=0, audit_head_hash="0" * 64, signature_sha256="1" * 64,
        )  # fmt: skip
        session.add(event)
        session.flush()
        with audit.reason(session, "test"):
            found = session.scalars(
                sa.select(LockStateRow).where(LockStateRow.unit == key)
            ).one_or_none()
            if found is None:
                session.add(
                    LockStateRow(
                        study_id=trial.study_id,
                        unit=key,
                        site_id=site_id,
                        subject_id=subject_id,
                        state=state,
                        lock_event_id=event.id,
                    )
                )
            else:
                found.state, found.lock_event_id = state, event.id


@pytest.fixture
def raw(trial: Trial) -> Iterator[sa.Connection]:
    """A bare connection, as ``sqlite3`` or ``psql`` would write (past the write guard too)."""
    with trial.database.engine.connect() as connection:
        yield connection


def _bypass(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":  # step past the write guard on purpose
        connection.exec_driver_sql("SELECT set_config('edc.write_path', 'audited', true)")


def _attempt(connection: sa.Connection, statement: str, **params: Any) -> None:
    """Run one statement in its own transaction (rolled back: only the refusal matters)."""
    transaction = connection.begin()
    try:
        _bypass(connection)
        connection.execute(text(statement), params)
    finally:
        transaction.rollback()


def _closed(trial: Trial) -> set[int]:
    with trial.database.engine.connect() as connection:
        return locks.closed_subject_ids(connection, study_id=trial.study_id)


def _first_column(name: str) -> str:
    return next(c.name for c in Base.metadata.tables[name].columns if not c.primary_key)


def _copy(name: str) -> str:
    """A copy of a row that only the lock refuses (a new answer index keeps an item value's
    unique key free: PostgreSQL checks inserts of item values after the statement)."""
    names = [c.name for c in Base.metadata.tables[name].columns if not c.primary_key]
    values = ", ".join("answer_index + 1000" if n == "answer_index" else n for n in names)
    columns = ", ".join(names)
    return f"INSERT INTO {name} ({columns}) SELECT {values} FROM {name} WHERE id = :id"


def test_every_locked_table_has_its_triggers(database: Database) -> None:
    with database.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            query = (
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = 'lock_guard'"
            )
            found = {name for (name,) in connection.execute(text(query))}
        else:
            query = "SELECT tbl_name, name FROM sqlite_master WHERE name LIKE 'lock_guard_%'"
            triggers = set(connection.execute(text(query)))
            found = {
                table
                for table in locks.LOCKED_TABLES
                if all(
                    (table, f"lock_guard_{table}_{op}") in triggers
                    for op in ("insert", "update", "delete")
                )
            }
    assert found == set(locks.LOCKED_TABLES)


@pytest.mark.parametrize("table", locks.LOCKED_TABLES)
def test_raw_sql_cannot_change_a_locked_subjects_rows(
    trial: Trial, raw: sa.Connection, clock: clocks.FixedClock, table: str
) -> None:
    locked, other = trial.rows[table, trial.locked], trial.rows[table, trial.other]
    column = _first_column(table)
    update = f"UPDATE {table} SET {column} = {column} WHERE id = :id"
    # Before the lock, the same statements go through.
    _attempt(raw, update, id=locked)
    _lock(trial, clock, "subject")
    statements = [update, f"DELETE FROM {table} WHERE id = :id"]
    if table != "subject":  # a new subject is refused by a site or study lock (below)
        statements.append(_copy(table))
    for statement in statements:
        with pytest.raises(DBAPIError, match=locks.REFUSED):
            _attempt(raw, statement, id=locked)
    # The other subject of the same site is not locked.
    _attempt(raw, update, id=other)


def test_edc_own_session_is_refused_too(trial: Trial, clock: clocks.FixedClock) -> None:
    _lock(trial, clock, "subject", state="frozen")
    with (
        pytest.raises(DBAPIError, match=locks.REFUSED),
        db.transaction(trial.database.sessionmaker) as session,
    ):
        audit.bind(session, actor="dm", role="data_manager", clock=clock)
        subject = session.get(SubjectRow, trial.locked)
        assert subject is not None
        with audit.reason(session, "withdrawn"):
            subject.status = "withdrawn"
    with trial.database.sessionmaker() as session:
        assert session.get(SubjectRow, trial.locked).status == "on-study"  # type: ignore[union-attr]


@pytest.mark.parametrize("unit", ["site", "study"])
def test_a_site_or_study_lock_covers_its_subjects_and_new_ones(
    trial: Trial, raw: sa.Connection, clock: clocks.FixedClock, unit: str
) -> None:
    _lock(trial, clock, unit)
    for subject in (trial.locked, trial.other):
        with pytest.raises(DBAPIError, match=locks.REFUSED):
            _attempt(
                raw, "DELETE FROM item_value WHERE id = :id", id=trial.rows["item_value", subject]
            )
    with pytest.raises(DBAPIError, match=locks.REFUSED):
        _attempt(
            raw,
            "INSERT INTO subject (study_id, site_id, subject_code, status) "
            "VALUES (:study, :site, 'S1-003', 'on-study')",
            study=trial.study_id, site=trial.site_id,
        )  # fmt: skip
    assert _closed(trial) == {trial.locked, trial.other}


def test_unlocked_subjects_take_writes_again(
    trial: Trial, raw: sa.Connection, clock: clocks.FixedClock
) -> None:
    _lock(trial, clock, "subject")
    assert _closed(trial) == {trial.locked}
    _lock(trial, clock, "subject", state="unlocked")
    _attempt(
        raw, "DELETE FROM item_value WHERE id = :id", id=trial.rows["item_value", trial.locked]
    )
    assert _closed(trial) == set()

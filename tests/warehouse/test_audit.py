"""The ORM audit hooks: every change to trial data leaves its audit rows, or nothing happens."""

from __future__ import annotations

import datetime as dt
import hashlib

import orjson
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from edc import clock as clocks
from edc import errors
from edc.warehouse import audit, chain, db
from edc.warehouse.tables import (
    AuditEventRow,
    FormResponseRow,
    ProtocolVersionRow,
    StudyRow,
    SubjectRow,
    SyncCursorRow,
)
from tests.fixtures.database import Database
from tests.warehouse.seed import Seeded


def _audit_rows(database: Database) -> list[AuditEventRow]:
    with db.transaction(database.sessionmaker) as session:
        return list(session.scalars(select(AuditEventRow).order_by(AuditEventRow.seq)))


def _count(database: Database, row_class: type) -> int:
    with db.transaction(database.sessionmaker) as session:
        return int(session.scalar(select(func.count()).select_from(row_class)) or 0)


def test_insert_writes_one_row_with_the_whole_row_as_json(
    database: Database, clock: clocks.FixedClock
) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="alice", role="data_manager", clock=clock)
        study = StudyRow(code="PVP-01", title="Percutaneous vertebroplasty")
        session.add(study)
    [row] = _audit_rows(database)
    assert (row.seq, row.action, row.table_name, row.record_id) == (
        1,
        "insert",
        "study",
        str(study.id),
    )
    assert (row.actor, row.role, row.field, row.old_value, row.reason) == (
        "alice",
        "data_manager",
        None,
        None,
        None,
    )
    assert orjson.loads(row.new_value or "") == {
        "id": study.id,
        "code": "PVP-01",
        "title": "Percutaneous vertebroplasty",
    }
    # The injected clock's instant, given at +05:30, is stored and returned as UTC.
    assert row.at == clock.now() and row.at.utcoffset() == dt.timedelta(0)
    assert row.prev_hash == "0" * 64


def test_update_writes_one_row_per_changed_field_with_old_new_and_reason(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="bob", role="investigator", clock=clock)
        subject = session.get_one(SubjectRow, seeded.subject_id)
        with audit.reason(session, "withdrew consent on 2026-03-02"):
            subject.status = "withdrawn"
            subject.subject_code = "S01-001"  # unchanged value: no audit row
    updates = [row for row in _audit_rows(database) if row.action == "update"]
    assert [
        (r.table_name, r.record_id, r.field, r.old_value, r.new_value, r.reason) for r in updates
    ] == [
        (
            "subject",
            str(seeded.subject_id),
            "status",
            '"on-study"',
            '"withdrawn"',
            "withdrew consent on 2026-03-02",
        )
    ]


def test_update_of_an_attribute_expired_by_commit_records_the_database_old_value(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with db.transaction(database.sessionmaker) as session:
        subject = session.get_one(SubjectRow, seeded.subject_id)
        session.expire(subject)  # nothing loaded: the ORM holds no history of the old value
        audit.bind(session, actor="bob", role="investigator", clock=clock, reason="typo")
        subject.status = "off-study"
    [update_row] = [row for row in _audit_rows(database) if row.action == "update"]
    assert (update_row.old_value, update_row.new_value) == ('"on-study"', '"off-study"')


def test_update_to_a_sql_expression_records_the_value_the_database_computed(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="bob", role="data_manager", clock=clock, reason="re-coded")
        subject = session.get_one(SubjectRow, seeded.subject_id)
        subject.subject_code = SubjectRow.subject_code + "-B"
    [update_row] = [row for row in _audit_rows(database) if row.action == "update"]
    assert (update_row.field, update_row.old_value, update_row.new_value) == (
        "subject_code",
        '"S01-001"',
        '"S01-001-B"',
    )


def test_change_without_reason_is_refused_and_leaves_the_database_unchanged(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    before = _audit_rows(database)
    with pytest.raises(
        errors.BadInputError, match="reason is required to change subject"
    ) as caught:
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="bob", role="investigator", clock=clock)
            session.add(StudyRow(code="OTHER", title="written in the same transaction"))
            session.get_one(SubjectRow, seeded.subject_id).status = "withdrawn"
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    with db.transaction(database.sessionmaker) as session:
        assert session.get_one(SubjectRow, seeded.subject_id).status == "on-study"
        assert session.scalar(select(StudyRow).where(StudyRow.code == "OTHER")) is None
    assert [row.hash for row in _audit_rows(database)] == [row.hash for row in before]


def test_delete_requires_a_reason_and_records_the_old_row(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with pytest.raises(errors.BadInputError, match="reason is required"):
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="carol", role="data_manager", clock=clock)
            session.delete(session.get_one(FormResponseRow, seeded.response_id))
    assert _count(database, FormResponseRow) == 1
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="carol", role="data_manager", clock=clock, reason="duplicate")
        session.delete(session.get_one(FormResponseRow, seeded.response_id))
    assert _count(database, FormResponseRow) == 0
    deleted = _audit_rows(database)[-1]
    assert (deleted.action, deleted.table_name, deleted.record_id, deleted.reason) == (
        "delete",
        "form_response",
        str(seeded.response_id),
        "duplicate",
    )
    assert deleted.new_value is None
    assert orjson.loads(deleted.old_value or "")["status"] == "completed"


def test_rows_inserted_in_the_same_transaction_change_without_a_reason(
    database: Database, clock: clocks.FixedClock
) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="alice", role="admin", clock=clock)
        study = StudyRow(code="DRAFT", title="first title")
        session.add(study)
        session.flush()
        study.title = "second title"
    assert [(row.action, row.field) for row in _audit_rows(database)] == [
        ("insert", None),
        ("update", "title"),
    ]


def test_writing_trial_data_without_an_audit_context_raises_and_writes_nothing(
    database: Database,
) -> None:
    with pytest.raises(audit.MissingAuditContextError):
        with db.transaction(database.sessionmaker) as session:
            session.add(StudyRow(code="NOPE", title="no actor"))
    assert _count(database, StudyRow) == 0
    assert _audit_rows(database) == []


def test_bulk_orm_update_of_an_audited_table_is_refused(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with pytest.raises(audit.MissingAuditContextError, match="bypasses the audit trail"):
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="x", role="admin", clock=clock, reason="bulk")
            session.execute(update(SubjectRow).values(status="withdrawn"))


def test_bookkeeping_tables_are_not_audited(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    before = len(_audit_rows(database))
    with db.transaction(database.sessionmaker) as session:  # no audit context needed
        session.add(
            SyncCursorRow(
                source="http://fhir.example",
                study_id=seeded.study_id,
                resource_type="Patient",
                cursor_value="2026-03-01T00:00:00Z",
                updated_at=clock.now(),
            )
        )
    assert len(_audit_rows(database)) == before


def test_large_texts_are_recorded_by_their_digest(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    bundle = '{"resourceType": "Bundle", "entry": []}' * 1000
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="alice", role="admin", clock=clock)
        session.add(
            ProtocolVersionRow(
                study_id=seeded.study_id,
                version="1.0.0",
                source_yaml="study: {}",
                bundle_json=bundle,
                bundle_sha256=hashlib.sha256(bundle.encode()).hexdigest(),
                compiled_at=clock.now(),
            )
        )
    recorded = orjson.loads(_audit_rows(database)[-1].new_value or "")
    assert recorded["bundle_json"] == "sha256:" + hashlib.sha256(bundle.encode()).hexdigest()
    assert recorded["version"] == "1.0.0"


def test_audit_rows_are_rolled_back_with_a_failed_change(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    before = len(_audit_rows(database))
    with pytest.raises(IntegrityError):
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="alice", role="admin", clock=clock)
            session.add(StudyRow(code="FINE", title="flushed, audited, then rolled back"))
            session.flush()
            session.add(StudyRow(code="FINE", title="duplicate code"))
    assert len(_audit_rows(database)) == before
    assert _count(database, StudyRow) == 1


def test_every_flush_extends_one_chain(database: Database, seeded: Seeded) -> None:
    rows = _audit_rows(database)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    with database.engine.connect() as connection:
        report = chain.verify(connection)
    assert report.first_break is None and report.rows == len(rows) == 4


@pytest.mark.parametrize(
    ("actor", "role", "reason", "message"),
    [
        ("", "admin", None, "actor"),
        ("alice", "boss", None, "unknown role"),
        ("alice", "admin", "  ", "blank"),
    ],
)
def test_bind_refuses_a_missing_actor_an_unknown_role_or_a_blank_reason(
    sqlite_database: Database, actor: str, role: str, reason: str | None, message: str
) -> None:
    with sqlite_database.sessionmaker() as session:
        with pytest.raises(errors.BadInputError, match=message):
            audit.bind(session, actor=actor, role=role, clock=clocks.SystemClock(), reason=reason)

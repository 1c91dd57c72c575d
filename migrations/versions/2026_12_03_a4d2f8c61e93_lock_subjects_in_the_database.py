"""lock subjects in the database: signed lock events, lock state, and the lock triggers

* ``lock_event`` (never written until now) gains its site and the electronic signature: the
  signer's role, the meaning, the audit chain's head it is bound to, and the signature's hash.
* ``lock_state``: the current state of each unit (study, site, subject).
* The lock triggers, on SQLite and PostgreSQL: while a subject's unit is frozen or locked, every
  INSERT, UPDATE and DELETE of that subject's trial data is refused, whoever sends it (edc,
  ``sqlite3``, ``psql``). They sit beside the write guard and refuse on their own terms.

Revision ID: a4d2f8c61e93
Revises: 4d9775787a81
Create Date: 2026-12-03 14:30:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4d2f8c61e93"
down_revision: str | None = "4d9775787a81"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REBUILD = {"sqlite_autoincrement": True}
STATES = ("open", "frozen", "locked", "unlocked")
REFUSED = "the subject is frozen or locked (edc lock unlock, with a reason, to change its data)"

# Written out rather than imported: a migration must keep doing what it did when it was written.
# Table -> how a row names its subject ("response": through form_response.response_id).
LOCKED_TABLES = {
    "subject": "id",
    "visit": "subject_id",
    "planned_visit": "subject_id",
    "form_response": "subject_id",
    "item_value": "response",
    "adverse_event": "subject_id",
    "consent": "subject_id",
    "allocation": "subject_id",
    "deviation": "subject_id",
    "data_query": "subject_id",
    "sdv_mark": "subject_id",
}


def _subject_locked(subject: str) -> str:
    """SQL true when the subject (an expression giving its id) is in a frozen or locked unit."""
    return (
        "EXISTS (SELECT 1 FROM lock_state l JOIN subject s ON s.study_id = l.study_id "
        f"WHERE s.id = {subject} AND l.state IN ('frozen', 'locked') AND (l.subject_id = s.id "
        "OR (l.subject_id IS NULL AND (l.site_id IS NULL OR l.site_id = s.site_id))))"
    )


def _unit_locked(row: str) -> str:
    """SQL true when a subject row's study or site (a new subject) is frozen or locked."""
    return (
        f"EXISTS (SELECT 1 FROM lock_state l WHERE l.study_id = {row}.study_id "
        "AND l.state IN ('frozen', 'locked') AND l.subject_id IS NULL "
        f"AND (l.site_id IS NULL OR l.site_id = {row}.site_id))"
    )


def _condition(table: str, how: str, row: str) -> str:
    if how == "response":
        return _subject_locked(
            f"(SELECT subject_id FROM form_response WHERE id = {row}.response_id)"
        )
    if table == "subject":
        if row == "NEW":
            return _unit_locked(row)
        return _subject_locked(f"{row}.id")
    return _subject_locked(f"{row}.{how}")


def _create_sqlite_triggers() -> None:
    for table, how in LOCKED_TABLES.items():
        checks = {
            "insert": _condition(table, how, "NEW"),
            "update": f"{_condition(table, how, 'OLD')} OR {_condition(table, how, 'NEW')}",
            "delete": _condition(table, how, "OLD"),
        }
        for operation, check in checks.items():
            op.execute(
                f"CREATE TRIGGER lock_guard_{table}_{operation} BEFORE {operation.upper()} "
                f"ON {table} FOR EACH ROW WHEN {check} "
                f"BEGIN SELECT RAISE(ABORT, '{operation} on {table} refused: {REFUSED}'); END"
            )


def _create_postgresql_triggers() -> None:
    for table, how in LOCKED_TABLES.items():
        old, new = _condition(table, how, "OLD"), _condition(table, how, "NEW")
        op.execute(
            f"CREATE FUNCTION edc_lock_guard_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            f"    IF (TG_OP <> 'INSERT' AND {old}) OR (TG_OP <> 'DELETE' AND {new}) THEN\n"
            f"        RAISE EXCEPTION '% on % refused: {REFUSED}', lower(TG_OP), TG_TABLE_NAME\n"
            "            USING ERRCODE = 'object_not_in_prerequisite_state';\n"
            "    END IF;\n"
            "    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
            "    RETURN NEW;\n"
            "END\n$$"
        )
        op.execute(
            f"CREATE TRIGGER lock_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION edc_lock_guard_{table}()"
        )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM lock_event")).scalar_one():
        raise RuntimeError("lock_event holds rows edc never wrote: look at them before upgrading")
    with op.batch_alter_table("lock_event", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("signer_role", sa.String(length=32), nullable=False))
        batch_op.add_column(sa.Column("meaning", sa.Text(), nullable=False))
        batch_op.add_column(sa.Column("audit_rows", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("audit_head_hash", sa.String(length=64), nullable=False))
        batch_op.add_column(sa.Column("signature_sha256", sa.String(length=64), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_lock_event_site_id_site"), "site", ["site_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_lock_event_signature_sha256_length"), "length(signature_sha256) = 64"
        )
    op.create_table(
        "lock_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lock_event_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(" + " OR ".join(f"state = '{s}'" for s in STATES) + ")",
            name=op.f("ck_lock_state_state"),
        ),
        sa.ForeignKeyConstraint(
            ["lock_event_id"],
            ["lock_event.id"],
            name=op.f("fk_lock_state_lock_event_id_lock_event"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_lock_state_site_id_site")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_lock_state_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_lock_state_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lock_state")),
        sa.UniqueConstraint("study_id", "unit", name=op.f("uq_lock_state_study_id_unit")),
        sqlite_autoincrement=True,
    )
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER write_guard BEFORE INSERT OR UPDATE OR DELETE ON lock_state "
            "FOR EACH STATEMENT EXECUTE FUNCTION edc_write_guard()"
        )
        op.execute(
            "CREATE TRIGGER write_guard_truncate BEFORE TRUNCATE ON lock_state "
            "FOR EACH STATEMENT EXECUTE FUNCTION edc_write_guard()"
        )
        _create_postgresql_triggers()
    else:
        _create_sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in LOCKED_TABLES:
            op.execute(f"DROP TRIGGER lock_guard ON {table}")
            op.execute(f"DROP FUNCTION edc_lock_guard_{table}()")
    else:
        for table in LOCKED_TABLES:
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER lock_guard_{table}_{operation}")
    op.drop_table("lock_state")
    with op.batch_alter_table("lock_event", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_lock_event_signature_sha256_length"), "check")
        batch_op.drop_constraint(batch_op.f("fk_lock_event_site_id_site"), "foreignkey")
        for column in (
            "signature_sha256", "audit_head_hash", "audit_rows", "meaning", "signer_role",
            "site_id",
        ):  # fmt: skip
            batch_op.drop_column(column)

"""lock triggers per statement for form data (PostgreSQL)

The lock triggers of ``item_value`` and ``form_response`` (migration a4d2f8c61e93) ran a PL/pgSQL
function per row, each running its lock query: a sync's COPY of 50,000 item values spent 18 s of
its 30 s in them (issue 10). Inserts are now checked by a statement-level AFTER trigger over the
statement's transition table (``lock_guard_insert``): one query per statement finds any new row
of a frozen or locked subject and refuses the whole statement, with the same message. Updates
and deletes (few) keep the row trigger ``lock_guard``, which refuses before the foreign keys are
checked. What is refused is unchanged. SQLite keeps its row triggers (their WHEN clause runs in
the engine, without a function call).

Revision ID: b7c4e2f9a1d6
Revises: e5b1c7d2a9f4
Create Date: 2026-12-03 16:40:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "b7c4e2f9a1d6"
down_revision: str | None = "e5b1c7d2a9f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration must keep doing what it did when it was written.
REFUSED = "the subject is frozen or locked (edc lock unlock, with a reason, to change its data)"
# Table -> the subject of a row ``r`` of it.
TABLES = {
    "item_value": "(SELECT subject_id FROM form_response WHERE id = r.response_id)",
    "form_response": "r.subject_id",
}


def _locked(subject: str) -> str:
    """SQL true when the subject (an expression giving its id) is in a frozen or locked unit
    (the condition of migration a4d2f8c61e93)."""
    return (
        "EXISTS (SELECT 1 FROM lock_state l JOIN subject s ON s.study_id = l.study_id "
        f"WHERE s.id = {subject} AND l.state IN ('frozen', 'locked') AND (l.subject_id = s.id "
        "OR (l.subject_id IS NULL AND (l.site_id IS NULL OR l.site_id = s.site_id))))"
    )


def _insert_function(table: str, subject: str) -> str:
    return (
        f"CREATE FUNCTION edc_lock_guard_{table}_insert() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    IF EXISTS (SELECT 1 FROM lock_state WHERE state IN ('frozen', 'locked')) AND EXISTS "
        f"(SELECT 1 FROM new_rows r WHERE {_locked(subject)}) THEN\n"
        f"        RAISE EXCEPTION 'insert on % refused: {REFUSED}', TG_TABLE_NAME\n"
        "            USING ERRCODE = 'object_not_in_prerequisite_state';\n"
        "    END IF;\n"
        "    RETURN NULL;\n"
        "END\n$$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, subject in TABLES.items():
        op.execute(f"DROP TRIGGER lock_guard ON {table}")
        op.execute(
            f"CREATE TRIGGER lock_guard BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION edc_lock_guard_{table}()"
        )
        op.execute(_insert_function(table, subject))
        op.execute(
            f"CREATE TRIGGER lock_guard_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION edc_lock_guard_{table}_insert()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER lock_guard_insert ON {table}")
        op.execute(f"DROP FUNCTION edc_lock_guard_{table}_insert()")
        op.execute(f"DROP TRIGGER lock_guard ON {table}")
        op.execute(
            f"CREATE TRIGGER lock_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION edc_lock_guard_{table}()"
        )

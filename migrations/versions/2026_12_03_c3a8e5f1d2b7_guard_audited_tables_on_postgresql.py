"""guard audited tables on postgresql

Statement-level triggers on every audited table refuse INSERT, UPDATE and DELETE unless the
transaction set ``edc.write_path = 'audited'`` (edc's Sessions do; ``edc.warehouse.guard``), and
refuse TRUNCATE always: trial data changed with raw SQL would leave no audit row. SQLite has no
per-transaction settings; there the file's owner has everything anyway, and the audit
checkpoints show what they do.

Revision ID: c3a8e5f1d2b7
Revises: 7e41c9a2d5b8
Create Date: 2026-12-03 14:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "c3a8e5f1d2b7"
down_revision: str | None = "7e41c9a2d5b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration must keep doing what it did when it was written.
GUARDED = (
    "adverse_event",
    "allocation",
    "consent",
    "data_problem",
    "data_query",
    "data_query_message",
    "deviation",
    "export_manifest",
    "form_response",
    "item_value",
    "lock_event",
    "patient_link",
    "planned_visit",
    "protocol_version",
    "published_definition",
    "randomization_scheme",
    "raw_resource",
    "role_assignment",
    "scheduled_job",
    "screening_tally",
    "sdv_mark",
    "site",
    "study",
    "subject",
    "unblinding",
    "user_account",
    "visit",
)
FUNCTION = """
CREATE FUNCTION edc_write_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' OR coalesce(current_setting('edc.write_path', true), '')
        NOT IN ('audited', 'received', 'derived') THEN
        RAISE EXCEPTION '% on % refused: trial data is written only through edc, which audits '
            'every change (see deploy/runbook.md, "Database roles")', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER write_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION edc_write_guard()"
        )
        op.execute(
            f"CREATE TRIGGER write_guard_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION edc_write_guard()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in GUARDED:
        op.execute(f"DROP TRIGGER write_guard_truncate ON {table}")
        op.execute(f"DROP TRIGGER write_guard ON {table}")
    op.execute("DROP FUNCTION edc_write_guard()")

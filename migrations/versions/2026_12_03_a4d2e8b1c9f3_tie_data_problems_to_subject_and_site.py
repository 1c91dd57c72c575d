"""tie data problems to the subject and site they concern

``data_problem.subject_id`` and ``site_id`` name the enrolled subject (and its site) whose data
the problem is about, so that monitors can count and filter problems per site without joining
through the raw resources. Existing problems are filled in from their raw resource's patient
where that patient is a subject of the problem's study; the others stay NULL.

Revision ID: a4d2e8b1c9f3
Revises: c3a8e5f1d2b7
Create Date: 2026-12-03 14:30:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4d2e8b1c9f3"
down_revision: str | None = "c3a8e5f1d2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite rebuilds a table to alter it: keep AUTOINCREMENT (ids are named in the audit trail).
REBUILD = {"sqlite_autoincrement": True}
_SUBJECT_OF_PROBLEM = (
    "SELECT pl.subject_id FROM raw_resource r JOIN patient_link pl"
    " ON pl.patient_id = r.patient_id AND pl.source = r.source"
    " WHERE r.id = data_problem.raw_resource_id AND pl.study_id = data_problem.study_id"
    " AND pl.subject_id IS NOT NULL"
)


def upgrade() -> None:
    with op.batch_alter_table("data_problem", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_data_problem_subject_id_subject"), "subject", ["subject_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_data_problem_site_id_site"), "site", ["site_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_data_problem_subject_id"), ["subject_id"])
    # A backfill by the migration itself, not a change by a person: the write guard lets
    # migrations through (edc.write_path is set by edc.warehouse.migrate).
    op.execute(
        f"UPDATE data_problem SET subject_id = ({_SUBJECT_OF_PROBLEM} LIMIT 1)"  # noqa: S608
        " WHERE raw_resource_id IS NOT NULL AND study_id IS NOT NULL"
    )
    op.execute(
        "UPDATE data_problem SET site_id ="
        " (SELECT s.site_id FROM subject s WHERE s.id = data_problem.subject_id)"
        " WHERE subject_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("data_problem", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_problem_subject_id"))
        batch_op.drop_constraint(batch_op.f("fk_data_problem_site_id_site"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_data_problem_subject_id_subject"), type_="foreignkey"
        )
        batch_op.drop_column("site_id")
        batch_op.drop_column("subject_id")

"""record sync problems, allocations made outside edc, and scheduler leases

* ``data_problem`` can keep input that is not a storable resource (``raw_text``, with its
  ``source`` and ``location``) and names the study whose sync found it.
* ``allocation`` rows read from a site's ResearchSubject.assignedArm have no list position.
* ``raw_resource.patient_id`` names the Patient a received resource belongs to.
* ``job_lease`` and ``job_run`` keep scheduled jobs from overlapping and log their runs.

Revision ID: 5c1e0a7d9b42
Revises: bf824a4873cf
Create Date: 2026-11-22 06:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edc.warehouse.coltypes

revision: str = "5c1e0a7d9b42"
down_revision: str | None = "bf824a4873cf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# SQLite rebuilds a table to alter it: keep AUTOINCREMENT (ids are named in the audit trail).
REBUILD = {"sqlite_autoincrement": True}
LIST_POSITION_COMPLETE = (
    "(stratum IS NULL AND block_number IS NULL AND sequence_in_block IS NULL)"
    " OR (stratum IS NOT NULL AND block_number IS NOT NULL AND sequence_in_block IS NOT NULL)"
)


def upgrade() -> None:
    op.create_table(
        "job_lease",
        sa.Column("job_id", sa.String(length=191), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("acquired_at", edc.warehouse.coltypes.UTCDateTime(), nullable=True),
        sa.Column("expires_at", edc.warehouse.coltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_lease")),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("started_at", edc.warehouse.coltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", edc.warehouse.coltypes.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(outcome = 'running' OR outcome = 'ok' OR outcome = 'failed' OR outcome = 'skipped')",
            name=op.f("ck_job_run_outcome"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_job_run_job_id_started_at"), "job_run", ["job_id", "started_at"], unique=False
    )

    op.add_column("raw_resource", sa.Column("patient_id", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_raw_resource_source_patient_id"),
        "raw_resource",
        ["source", "patient_id"],
        unique=False,
    )

    with op.batch_alter_table("allocation", table_kwargs=REBUILD) as batch_op:
        batch_op.alter_column("stratum", existing_type=sa.String(length=255), nullable=True)
        batch_op.alter_column("block_number", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("sequence_in_block", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint("list_position_complete", LIST_POSITION_COMPLETE)

    with op.batch_alter_table("data_problem", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("study_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("raw_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("raw_sha256", sa.String(length=64), nullable=True))
        batch_op.alter_column("raw_resource_id", existing_type=BIG_ID, nullable=True)
        batch_op.create_check_constraint(
            "keeps_the_input", "raw_resource_id IS NOT NULL OR raw_text IS NOT NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_data_problem_study_id_study"), "study", ["study_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_data_problem_study_id_status"), ["study_id", "status"], unique=False
        )


def downgrade() -> None:
    # Problems about input that was never a resource, and allocations without a list position,
    # cannot be expressed in the older schema.
    op.execute("DELETE FROM data_problem WHERE raw_resource_id IS NULL")
    op.execute("DELETE FROM allocation WHERE block_number IS NULL")
    with op.batch_alter_table("data_problem", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_problem_study_id_status"))
        batch_op.drop_constraint(batch_op.f("fk_data_problem_study_id_study"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("ck_data_problem_keeps_the_input"), type_="check")
        batch_op.alter_column("raw_resource_id", existing_type=BIG_ID, nullable=False)
        batch_op.drop_column("raw_sha256")
        batch_op.drop_column("raw_text")
        batch_op.drop_column("location")
        batch_op.drop_column("source")
        batch_op.drop_column("study_id")

    with op.batch_alter_table("allocation", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_allocation_list_position_complete"), type_="check")
        batch_op.alter_column("sequence_in_block", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("block_number", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("stratum", existing_type=sa.String(length=255), nullable=False)

    op.drop_index(op.f("ix_raw_resource_source_patient_id"), table_name="raw_resource")
    with op.batch_alter_table("raw_resource", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_column("patient_id")

    op.drop_index(op.f("ix_job_run_job_id_started_at"), table_name="job_run")
    op.drop_table("job_run")
    op.drop_table("job_lease")

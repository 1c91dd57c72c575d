"""store scheduled jobs as data

``scheduled_job`` holds each sync job as plain columns and a JSON document of options (audited
like any other table). APScheduler's own job store, ``apscheduler_jobs``, held pickled Python
objects: whoever could write the warehouse could run code on every scheduler host. It is
dropped; its rows cannot be read without unpickling them, so their ids are logged and the jobs
must be added again with ``edc scheduler add`` (see the runbook).

Revision ID: 7e41c9a2d5b8
Revises: 3b7e9c1d4a20
Create Date: 2026-12-03 12:00:00.000000+00:00
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edc.warehouse.coltypes

revision: str = "7e41c9a2d5b8"
down_revision: str | None = "f7ad58a838fd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "scheduled_job",
        sa.Column("id", sa.String(length=191), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("source_dir", sa.Text(), nullable=True),
        sa.Column("fhir_url", sa.Text(), nullable=True),
        sa.Column("interval_ms", sa.BigInteger(), nullable=False),
        sa.Column("time_limit_ms", sa.BigInteger(), nullable=True),
        sa.Column("options_json", sa.Text(), nullable=False),
        sa.Column("created_at", edc.warehouse.coltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("(kind = 'sync' OR kind = 'push')", name=op.f("ck_scheduled_job_kind")),
        sa.CheckConstraint(
            "(source_dir IS NULL) <> (fhir_url IS NULL)", name=op.f("ck_scheduled_job_one_source")
        ),
        sa.CheckConstraint("interval_ms > 0", name=op.f("ck_scheduled_job_interval_positive")),
        sa.CheckConstraint(
            "time_limit_ms IS NULL OR time_limit_ms > 0",
            name=op.f("ck_scheduled_job_time_limit_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_scheduled_job_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_job")),
    )
    bind = op.get_bind()
    if sa.inspect(bind).has_table("apscheduler_jobs"):
        ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM apscheduler_jobs"))]
        if ids:
            log.warning(
                "Dropping APScheduler's pickled job store; add these jobs again with "
                "`edc scheduler add`: %s",
                ", ".join(ids),
            )
        op.drop_table("apscheduler_jobs")


def downgrade() -> None:
    # The stored jobs are lost: the older schema kept them in APScheduler's pickles.
    op.drop_table("scheduled_job")

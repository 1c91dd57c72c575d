"""unblind the study after lock: one signed study_unblinding per study

``study_unblinding`` records the unblinded statistician's signed unblinding of the whole study
(after lock), bound to the audit chain's head and to the lock in force; until it exists, exports
show arms as masked codes. Audited like every trial table, and guarded on PostgreSQL.

Revision ID: b7e2c4a91f05
Revises: b7c4e2f9a1d6
Create Date: 2026-12-03 16:20:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edc.warehouse.coltypes

revision: str = "b7e2c4a91f05"
down_revision: str | None = "b7c4e2f9a1d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "study_unblinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("lock_event_id", sa.Integer(), nullable=False),
        sa.Column("at", edc.warehouse.coltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("signer_role", sa.String(length=32), nullable=False),
        sa.Column("meaning", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("audit_rows", sa.Integer(), nullable=False),
        sa.Column("audit_head_hash", sa.String(length=64), nullable=False),
        sa.Column("signature_sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "length(signature_sha256) = 64",
            name=op.f("ck_study_unblinding_signature_sha256_length"),
        ),
        sa.ForeignKeyConstraint(
            ["lock_event_id"],
            ["lock_event.id"],
            name=op.f("fk_study_unblinding_lock_event_id_lock_event"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_study_unblinding_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_unblinding")),
        sa.UniqueConstraint("study_id", name=op.f("uq_study_unblinding_study_id")),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER write_guard BEFORE INSERT OR UPDATE OR DELETE ON study_unblinding "
            "FOR EACH STATEMENT EXECUTE FUNCTION edc_write_guard()"
        )
        op.execute(
            "CREATE TRIGGER write_guard_truncate BEFORE TRUNCATE ON study_unblinding "
            "FOR EACH STATEMENT EXECUTE FUNCTION edc_write_guard()"
        )


def downgrade() -> None:
    op.drop_table("study_unblinding")

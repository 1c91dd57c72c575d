"""deviations found with evidence: origin, evidence, status reason, resolution

* ``deviation`` gains ``origin`` (``detector``: found by the deviation engine, which reconciles
  its own findings; ``recorded``: written by an action, e.g. enrolling an ineligible patient),
  ``evidence`` (the resources and dates a finding rests on), ``status_reason`` (why a person
  confirmed or dismissed it) and ``resolved_at``.
* Its statuses become open / confirmed / dismissed / resolved (nothing wrote the old
  acknowledged / closed: they map to confirmed / resolved), and its kinds gain the detectors'.

Revision ID: 4d9775787a81
Revises: 9a4d2e6c1f83
Create Date: 2026-12-03 14:40:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edc.warehouse.coltypes

revision: str = "4d9775787a81"
down_revision: str | None = "9a4d2e6c1f83"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REBUILD = {"sqlite_autoincrement": True}
OLD_KINDS = (
    "visit_out_of_window",
    "missed_visit",
    "visit_out_of_order",
    "ineligible_enrolled",
    "late_sae_report",
    "missing_data",
    "other",
)
NEW_KINDS = (
    "visit_out_of_window",
    "missed_visit",
    "visit_out_of_order",
    "visit_before_consent",
    "form_before_consent",
    "randomized_before_consent",
    "randomized_before_eligibility",
    "ineligible_enrolled",
    "missing_form",
    "form_after_withdrawal",
    "late_sae_report",
    "ae_outcome_missing",
    "missing_data",
    "other",
)
OLD_STATUSES = ("open", "acknowledged", "closed")
NEW_STATUSES = ("open", "confirmed", "dismissed", "resolved")
ORIGINS = ("detector", "recorded")


def _any_of(column: str, values: Sequence[str]) -> str:
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("deviation", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_deviation_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_deviation_status"), type_="check")
    op.execute("UPDATE deviation SET status = 'confirmed' WHERE status = 'acknowledged'")
    op.execute("UPDATE deviation SET status = 'resolved' WHERE status = 'closed'")
    with op.batch_alter_table("deviation", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=16), nullable=False, server_default="recorded")
        )
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("resolved_at", edc.warehouse.coltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_check_constraint("kind", _any_of("kind", NEW_KINDS))
        batch_op.create_check_constraint("status", _any_of("status", NEW_STATUSES))
        batch_op.create_check_constraint("origin", _any_of("origin", ORIGINS))
    with op.batch_alter_table("deviation", table_kwargs=REBUILD) as batch_op:
        # Models have no server defaults (audit rows read every column from the object).
        batch_op.alter_column("origin", existing_type=sa.String(length=16), server_default=None)


def downgrade() -> None:
    # Findings of the new kinds go: the old schema cannot hold them.
    kept = ", ".join(f"'{kind}'" for kind in OLD_KINDS)
    op.execute(f"DELETE FROM deviation WHERE kind NOT IN ({kept})")
    with op.batch_alter_table("deviation", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_deviation_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_deviation_status"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_deviation_origin"), type_="check")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("evidence")
        batch_op.drop_column("origin")
    op.execute(
        "UPDATE deviation SET status = 'acknowledged' WHERE status IN ('confirmed', 'dismissed')"
    )
    op.execute("UPDATE deviation SET status = 'closed' WHERE status = 'resolved'")
    with op.batch_alter_table("deviation", table_kwargs=REBUILD) as batch_op:
        batch_op.create_check_constraint("kind", _any_of("kind", OLD_KINDS))
        batch_op.create_check_constraint("status", _any_of("status", OLD_STATUSES))

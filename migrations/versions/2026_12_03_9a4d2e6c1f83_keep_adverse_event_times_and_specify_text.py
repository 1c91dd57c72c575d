"""keep adverse event times and the "Other, specify" text

AdverseEvent.date and the resolve-date extension are FHIR dateTimes: ``onset_at`` and
``resolved_at`` keep the instant when the source gave a time (NULL: it gave a date only, the
precision of ``onset_date`` / ``resolution_date``, which stay as they are). ``verbatim`` keeps
the event's text, which tells "Other, specify" events apart (issue 12 items 4 and 5). Existing
rows keep every value; their new columns start empty: `edc db backfill` fills them from the
raw resources (audited), and the sync fills them when an event changes.

Revision ID: 9a4d2e6c1f83
Revises: a4d2e8b1c9f3
Create Date: 2026-12-03 15:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from edc.warehouse.coltypes import UTCDateTime

revision: str = "9a4d2e6c1f83"
down_revision: str | None = "a4d2e8b1c9f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("adverse_event", sa.Column("verbatim", sa.Text(), nullable=True))
    op.add_column("adverse_event", sa.Column("onset_at", UTCDateTime(), nullable=True))
    op.add_column("adverse_event", sa.Column("resolved_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): the columns are in no constraint or index.
    op.drop_column("adverse_event", "resolved_at")
    op.drop_column("adverse_event", "onset_at")
    op.drop_column("adverse_event", "verbatim")

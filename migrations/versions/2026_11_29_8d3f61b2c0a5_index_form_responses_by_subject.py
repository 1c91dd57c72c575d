"""index form responses by subject

A subject's forms are read by subject: when an Encounter arrives after the responses that
name it, sync links those responses to the new visit.

Revision ID: 8d3f61b2c0a5
Revises: 5c1e0a7d9b42
Create Date: 2026-11-29 18:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "8d3f61b2c0a5"
down_revision: str | None = "5c1e0a7d9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_form_response_subject_id"), "form_response", ["subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_form_response_subject_id"), table_name="form_response")

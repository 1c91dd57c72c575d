"""queries on a deviation or on a data problem

``data_query.deviation_id``: a monitor's question about a protocol deviation (why was the
visit late?); ``data_query.data_problem_id``: the query the monitoring run opens on a received
form whose stored score the answers do not give (``score_mismatch``), closed when a corrected
version arrives.

On SQLite the columns are added with ``ALTER TABLE ... ADD COLUMN`` (a nullable column with an
inline reference), not by rebuilding the table: a rebuild would drop the lock triggers that
sit on ``data_query``. For the same reason the SQLite downgrade leaves the two nullable
columns in place (SQLite cannot drop a column that references another table without a
rebuild); older code never reads or writes them.

Revision ID: e5b1c7d2a9f4
Revises: a4d2f8c61e93
Create Date: 2026-12-03 16:30:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5b1c7d2a9f4"
down_revision: str | None = "a4d2f8c61e93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {"deviation_id": "deviation", "data_problem_id": "data_problem"}


def _fk(column: str, table: str) -> str:
    return f"fk_data_query_{column}_{table}"


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # A SQLite warehouse that was downgraded past this revision still has the columns.
    present = {column["name"] for column in sa.inspect(bind).get_columns("data_query")}
    for column, table in COLUMNS.items():
        if not sqlite:
            op.add_column("data_query", sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(_fk(column, table), "data_query", table, [column], ["id"])
        elif column not in present:
            op.execute(
                f"ALTER TABLE data_query ADD COLUMN {column} INTEGER"
                f" CONSTRAINT {_fk(column, table)} REFERENCES {table} (id)"
            )
        op.create_index(f"ix_data_query_{column}", "data_query", [column])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for column, table in COLUMNS.items():
        op.drop_index(f"ix_data_query_{column}", table_name="data_query")
        if not sqlite:
            op.drop_constraint(_fk(column, table), "data_query", type_="foreignkey")
            op.drop_column("data_query", column)

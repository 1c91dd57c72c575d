"""The shared database fixtures: clean databases, and no leftovers from killed runs."""

from __future__ import annotations

import os
import subprocess
import sys

from psycopg import sql
from sqlalchemy import func, select

from edc.warehouse import migrate
from edc.warehouse.tables import AuditEventRow, StudyRow
from tests.fixtures import database as fixtures
from tests.fixtures.database import Database


def test_each_test_gets_a_clean_database_at_head(database: Database) -> None:
    assert migrate.current(database.url) == migrate.head_revision()
    with database.engine.connect() as connection:
        for row_class in (StudyRow, AuditEventRow):
            assert connection.execute(select(func.count()).select_from(row_class)).scalar() == 0


def test_databases_left_by_dead_runs_are_dropped_and_live_ones_kept(
    postgres_database: Database,
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    stale = f"{fixtures.PREFIX}{int(dead.stdout)}_0123abcd"
    live = f"{fixtures.PREFIX}{os.getpid()}_4567abcd"
    admin_url = fixtures._reachable_postgres()
    with fixtures._admin(admin_url) as admin:
        for name in (stale, live):
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            fixtures._drop_stale(admin)
            names = {row[0] for row in admin.execute("SELECT datname FROM pg_database")}
        finally:
            fixtures._drop(admin, stale)
            fixtures._drop(admin, live)
    assert stale not in names
    assert live in names
    # This test's own database (a live run's) survived the clean-up.
    assert postgres_database.url.rsplit("/", 1)[1] in names

"""Alembic environment: migrates the engine handed over by ``edc.warehouse.migrate``.

There is no alembic.ini; run migrations with ``edc db upgrade`` (or ``edc.warehouse.migrate``).
"""

from __future__ import annotations

from alembic import context

from edc.warehouse import db, guard, tables  # noqa: F401  (tables registers every table)
from edc.warehouse.base import Base

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    own_engine = engine is None
    if own_engine:
        engine = db.make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        # One transaction for the whole run: PostgreSQL and SQLite both have transactional DDL,
        # so a failed upgrade leaves the database as it was.
        with engine.begin() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                # SQLite cannot ALTER most things: Alembic rebuilds the table instead.
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            # Revisions that move data do it on this bare connection: the write guard on
            # audited tables (PostgreSQL) lets it through, as it does edc's Sessions.
            guard.allow_audited_writes(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if own_engine:
            engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("edc migrations run online only (edc db upgrade)")
run_migrations_online()

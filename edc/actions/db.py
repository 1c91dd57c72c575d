"""`edc db`: bring the warehouse schema up (or down) to a revision."""

from __future__ import annotations

from edc import config
from edc.warehouse import db, migrate


def upgrade(settings: config.Settings, revision: str = "head") -> str | None:
    """Migrate the configured warehouse to ``revision``, creating a SQLite file's folder.

    :returns: the revision the database is at afterwards.
    :raises errors.BadInputError: for an unusable database URL or an unknown revision.
    """
    _create_sqlite_folder(settings.database_url)
    migrate.upgrade(settings.database_url, revision)
    return migrate.current(settings.database_url)


def downgrade(settings: config.Settings, revision: str) -> str | None:
    """Migrate the configured warehouse down to ``revision`` ("base" removes every table).

    :returns: the revision the database is at afterwards.
    :raises errors.BadInputError: for an unusable database URL or an unknown revision.
    """
    migrate.downgrade(settings.database_url, revision)
    return migrate.current(settings.database_url)


def current(settings: config.Settings) -> tuple[str | None, str]:
    """The revision the configured warehouse is at, and the newest one edc knows."""
    return migrate.current(settings.database_url), migrate.head_revision()


def _create_sqlite_folder(url: str) -> None:
    path = db.sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

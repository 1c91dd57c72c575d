"""`edc db`: bring the warehouse schema up (or down) to a revision."""

from __future__ import annotations

import dataclasses

from edc import config
from edc.warehouse import db, migrate


@dataclasses.dataclass(frozen=True)
class SchemaState:
    """The revision the warehouse is at (None: never migrated) and the newest edc knows."""

    revision: str | None
    head: str
    up_to_date: bool


def upgrade(settings: config.Settings, revision: str = "head") -> SchemaState:
    """Migrate the configured warehouse to ``revision``, creating a SQLite file's folder.

    :raises errors.BadInputError: for an unusable database URL or an unknown revision.
    :raises errors.ExternalSystemError: when the database cannot be reached.
    """
    _create_sqlite_folder(settings.database_url)
    migrate.upgrade(settings.database_url, revision)
    return current(settings)


def downgrade(settings: config.Settings, revision: str) -> SchemaState:
    """Migrate the configured warehouse down to ``revision`` ("base" removes every table).

    :raises errors.BadInputError: for an unusable database URL or an unknown revision.
    :raises errors.ExternalSystemError: when the database cannot be reached.
    """
    migrate.downgrade(settings.database_url, revision)
    return current(settings)


def current(settings: config.Settings) -> SchemaState:
    """The revision the configured warehouse is at, and the newest one edc knows.

    :raises errors.ExternalSystemError: when the database cannot be reached.
    """
    at, head = migrate.current(settings.database_url), migrate.head_revision()
    return SchemaState(at, head, at == head)


def _create_sqlite_folder(url: str) -> None:
    path = db.sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

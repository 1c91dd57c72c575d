"""`edc db`: bring the warehouse schema up (or down) to a revision."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from edc import config, errors
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


def downgrade(
    settings: config.Settings, revision: str, *, yes_destroy_data: bool = False
) -> SchemaState:
    """Migrate the configured warehouse down to ``revision`` ("base" removes every table).

    A downgrade drops what later revisions added, data included ("base": everything, the audit
    trail too). So it is refused on a warehouse holding data unless ``yes_destroy_data``, and
    always while a study is locked: locked data is kept whatever anyone confirms.

    :raises errors.BadInputError: for an unusable database URL or an unknown revision, a
        warehouse holding data without ``yes_destroy_data``, or a locked study.
    :raises errors.ExternalSystemError: when the database cannot be reached.
    """
    engine = db.make_engine(settings.database_url)
    try:
        with db.reporting_failures(engine), db.read_only(engine).connect() as connection:
            locked = locked_studies(connection)
            rows = audit_rows(connection)
    finally:
        engine.dispose()
    if locked:
        raise errors.BadInputError(
            f"refusing to downgrade: study {', '.join(locked)} is locked",
            "locked data is never destroyed; a downgrade needs the study unlocked (with a reason)",
        )
    if rows and not yes_destroy_data:
        raise errors.BadInputError(
            f"refusing to downgrade to {revision}: the warehouse holds data "
            f"({rows:,} audit rows), which a downgrade drops with the tables that hold it",
            "back the database up, then confirm with --yes-destroy-data",
        )
    migrate.downgrade(settings.database_url, revision)
    return current(settings)


def current(settings: config.Settings) -> SchemaState:
    """The revision the configured warehouse is at, and the newest one edc knows.

    :raises errors.ExternalSystemError: when the database cannot be reached.
    """
    at, head = migrate.current(settings.database_url), migrate.head_revision()
    return SchemaState(at, head, at == head)


def audit_rows(connection: sa.Connection) -> int:
    """How many audit rows the warehouse holds (0 when it has no audit table yet)."""
    if not sa.inspect(connection).has_table("audit_event"):
        return 0
    return int(connection.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one())


def locked_studies(connection: sa.Connection) -> list[str]:
    """Codes of the studies that hold locked data.

    Read from ``lock_state`` (the current state of each unit: study, site, subject) where the
    schema has it; else from the latest study-level event of ``lock_event``.
    """
    inspector = sa.inspect(connection)
    if inspector.has_table("lock_state"):
        query = sa.text(
            "SELECT DISTINCT s.code FROM lock_state l JOIN study s ON s.id = l.study_id "
            "WHERE l.state = 'locked' ORDER BY s.code"
        )
    elif inspector.has_table("lock_event"):
        # The newest event of each study (subject NULL: the whole study) sets its state.
        query = sa.text(
            "SELECT s.code FROM lock_event e JOIN study s ON s.id = e.study_id "
            "WHERE e.subject_id IS NULL AND e.state = 'locked' AND e.id = ("
            "  SELECT max(l.id) FROM lock_event l"
            "  WHERE l.study_id = e.study_id AND l.subject_id IS NULL) "
            "ORDER BY s.code"
        )
    else:
        return []
    return [str(code) for (code,) in connection.execute(query)]


def _create_sqlite_folder(url: str) -> None:
    path = db.sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

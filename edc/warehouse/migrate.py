"""Schema migrations (Alembic), configured in code: the repository has no alembic.ini.

The scripts live in ``migrations/`` at the top of the repository; a wheel carries them as
``edc/_migrations`` (pyproject ``force-include``), which is looked for first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import ProgrammingError

import edc
from edc import errors
from edc.warehouse import db

# Date-prefixed revision files, e.g. 2026_11_22_3f2a9c1d0b7e_create_warehouse.py ("%%" because
# the value goes through configparser interpolation).
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"


def script_location() -> Path:
    """Where the migration scripts are: inside the installed package, or in the repository.

    :raises errors.EdcError: when neither exists (a broken installation).
    """
    package = Path(edc.__file__).resolve().parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise errors.EdcError(f"no migration scripts in {package / '_migrations'} or beside {package}")


def alembic_config(engine: Engine | None = None, scripts: Path | None = None) -> Config:
    """An Alembic configuration for ``engine`` (which ``migrations/env.py`` uses as is)."""
    config = Config()
    config.set_main_option("script_location", str(scripts or script_location()))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.attributes["engine"] = engine
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` up to ``revision``, in one transaction.

    :raises errors.BadInputError: for an unsupported URL or an unknown revision.
    """
    engine = db.make_engine(database_url)
    try:
        _run(engine, lambda config: command.upgrade(config, revision))
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database at ``database_url`` down to ``revision`` ("base" empties it).

    :raises errors.BadInputError: for an unsupported URL or an unknown revision.
    """
    engine = db.make_engine(database_url)
    try:
        _run(engine, lambda config: command.downgrade(config, revision))
    finally:
        engine.dispose()


def current(database_url: str) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database.

    :raises errors.BadInputError: for an unsupported URL.
    """
    engine = db.make_engine(database_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database behind ``engine`` is at (None when never migrated)."""
    with db.reporting_failures(engine), db.read_only(engine).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision among the scripts."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise errors.EdcError("the migration scripts have no head revision")
    return head


def require_current(engine: Engine) -> None:
    """Make sure the database has the schema this version of edc expects.

    :raises errors.BadInputError: when it was never migrated or is at another revision.
    """
    at, head = current_revision(engine), head_revision()
    if at != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "has no warehouse schema" if at is None else f"is at revision {at}, not {head}"
        raise errors.BadInputError(f"the database {where} {state}", "run `edc db upgrade`")


def open_engine(database_url: str) -> Engine:
    """An engine on an existing warehouse that has this edc's schema (the caller disposes it).

    :raises errors.BadInputError: for an unsupported URL, a SQLite file that does not exist
        (connecting would create an empty one), or a database not at the newest revision.
    :raises errors.ExternalSystemError: when the database cannot be reached.
    """
    path = db.sqlite_file(database_url)
    if path is not None and not path.is_file():
        raise errors.BadInputError(f"no warehouse at {path}", "run `edc db upgrade` first")
    engine = db.make_engine(database_url)
    try:
        require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def revision(database_url: str, message: str, scripts: Path | None = None) -> Path:
    """Write a new migration comparing the models with the database (which must be at head).

    For developers: the file goes into the repository's ``migrations/versions``.

    :returns: the path of the new file.
    :raises errors.BadInputError: for an unsupported URL, a database not at head, or an
        installed edc (whose scripts are not a source checkout's).
    """
    scripts = scripts or script_location()
    if scripts.name == "_migrations":
        raise errors.BadInputError(
            f"{scripts} belongs to an installed edc", "write migrations in a source checkout"
        )
    engine = db.make_engine(database_url)
    created: list[Path] = []

    def _autogenerate(config: Config) -> None:
        script = command.revision(config, message=message, autogenerate=True)
        scripts_list = script if isinstance(script, list) else [script]
        created.extend(Path(s.path) for s in scripts_list if s is not None)

    try:
        _run(engine, _autogenerate, scripts)
    finally:
        engine.dispose()
    return created[0]


def _run(engine: Engine, operation: Callable[[Config], None], scripts: Path | None = None) -> None:
    config = alembic_config(engine, scripts)
    try:
        with db.reporting_failures(engine):
            operation(config)
    except CommandError as exc:
        raise errors.BadInputError(f"migration failed: {exc}") from None
    except ProgrammingError as exc:  # e.g. "must be owner of relation ...": the wrong role
        raise errors.BadInputError(
            f"the database refused the migration: {str(exc.orig).strip()}",
            "migrate as the role that owns the schema (deploy/runbook.md, 'Database roles')",
        ) from None

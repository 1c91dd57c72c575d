"""Engines, sessions and transactions. Factories only: entry points call them, nothing at import.

SQLite gets foreign keys (off by default there), WAL (readers never block the writer), a busy
timeout (writers wait for each other instead of failing) and a larger page cache, and its
transactions begin IMMEDIATE so the audit chain head is read under the write lock (see
``edc.warehouse.chain``). PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from edc import errors

# What actions pass around to open transactions (``transaction(maker)``).
SessionMaker = sessionmaker[Session]

# How long a SQLite writer waits for another one before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite's page cache per connection, in KiB (negative PRAGMA value). The default 2 MiB is far
# smaller than the indexes a sync appends to (audit hashes, item values); with it, a bulk insert
# spends much of its time re-reading index pages. 64 MiB measured about 25% faster.
SQLITE_CACHE_KIB = 65_536
# Execution option for connections that only read: a SQLite reader then takes no write lock.
READ_ONLY = "edc_read_only"


def database_url(url: str) -> URL:
    """Parse a warehouse URL, sending ``postgresql://`` to the psycopg 3 driver.

    :raises errors.BadInputError: when the URL cannot be parsed or names another database.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise errors.BadInputError(f"cannot parse database URL {url!r}") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed
    raise errors.BadInputError(
        f"unsupported database {parsed.drivername!r} in {parsed.render_as_string()}",
        "use sqlite:///PATH or postgresql://USER@HOST/DB",
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory SQLite).

    :raises errors.BadInputError: for an unsupported URL.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextlib.contextmanager
def reporting_failures(engine: Engine) -> Iterator[None]:
    """Turn a failure to reach or use the database into ``errors.ExternalSystemError``."""
    try:
        yield
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise errors.ExternalSystemError(
            f"database {where} failed", str(exc.orig).strip()
        ) from None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the warehouse at ``url`` (SQLite file or PostgreSQL).

    :param url: ``sqlite:///path``, ``postgresql://...`` or ``postgresql+psycopg://...``.
    :param kwargs: passed to ``sqlalchemy.create_engine`` (e.g. ``poolclass``).
    :raises errors.BadInputError: for an unsupported URL.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event: pysqlite would otherwise open
    # transactions itself, lazily and DEFERRED.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def relax_durability(engine: Engine) -> Engine:
    """Tune SQLite connections of this engine for bulk writers that can redo their work.

    ``synchronous = NORMAL`` (in WAL mode): a commit survives a crash of the process (the kill
    -9 kind) but not a power cut, which may lose the last transactions (never corrupt the
    database). Only for writers that can redo them: sync batches carry their cursor, so a lost
    batch is simply read again. ``wal_autocheckpoint`` of 64 MiB: fewer, larger checkpoints
    (bench_ingest: commits went from a sixth to a tenth of the ingest time). No effect on
    PostgreSQL.
    """
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_relaxed)
        engine.dispose()  # connections already pooled were made without it
    return engine


def _sqlite_relaxed(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous = NORMAL")
    dbapi_connection.execute("PRAGMA wal_autocheckpoint = 16384")  # pages of 4 KiB


def read_only(engine: Engine) -> Engine:
    """The same engine for read-only work (on SQLite its transactions take no write lock)."""
    return engine.execution_options(**{READ_ONLY: True})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``.

    Objects stay readable after commit (``expire_on_commit=False``): actions return rows to their
    callers after the transaction; the audit hooks read old values from the database anyway.
    """
    return sessionmaker(engine, expire_on_commit=False)


@dataclasses.dataclass(frozen=True)
class Makers:
    """Sessions for writing, and for reading only (on SQLite, without the write lock): a server
    answering many readers at once keeps them off the one writer's lock."""

    writer: SessionMaker
    reader: SessionMaker


def make_makers(engine: Engine) -> Makers:
    """Writer and reader sessions on ``engine``."""
    return Makers(make_sessionmaker(engine), make_sessionmaker(read_only(engine)))


@contextlib.contextmanager
def transaction(maker: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back if it raises.

    :param maker: from ``make_sessionmaker``.
    """
    with maker() as session, session.begin():
        yield session

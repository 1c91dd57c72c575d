"""PostgreSQL: audited tables refuse raw writes, and edc's role cannot switch any trigger off.

The roles are those of ``deploy/postgresql/roles.sql``, run as written (names made unique: roles
belong to the whole PostgreSQL cluster, which other test runs share).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from edc import config, errors
from edc.actions import audit as audit_actions
from edc.actions import protocol, sync
from edc.clock import FixedClock
from edc.warehouse import audit, db, migrate
from edc.warehouse.base import Base
from edc.warehouse.tables.subjects import SubjectRow
from tests.fhir.faults import FROZEN_AT
from tests.fixtures.database import PREFIX, Database, _admin, _drop
from tests.sync import trialdata
from tests.sync.conftest import clock, make_warehouse, protocols
from tests.sync.protocols import Protocols

__all__ = ["clock", "protocols"]  # fixtures shared with the sync tests

ROLES_SQL = Path(__file__).parents[2] / "deploy" / "postgresql" / "roles.sql"
REFUSED = "written only through edc"


def _guarded(database: Database) -> dict[str, set[str]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE 'write_guard%' AND NOT t.tgisinternal"
            )
        )
        found: dict[str, set[str]] = {}
        for table, trigger in rows:
            found.setdefault(table, set()).add(trigger)
        return found


def test_every_audited_table_is_guarded_and_no_other(postgres_database: Database) -> None:
    audited = {t.name for t in Base.metadata.sorted_tables if audit.is_audited(t)}
    found = _guarded(postgres_database)
    assert set(found) == audited
    assert all(triggers == {"write_guard", "write_guard_truncate"} for triggers in found.values())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE subject SET status = 'withdrawn'",
        "DELETE FROM item_value",
        "INSERT INTO study (code, title) VALUES ('RAW', 'raw')",
        "TRUNCATE item_value CASCADE",
    ],
)
def test_raw_sql_on_trial_tables_is_refused(postgres_database: Database, statement: str) -> None:
    with pytest.raises(DBAPIError, match=REFUSED), postgres_database.engine.begin() as connection:
        connection.execute(text(statement))


def test_the_session_is_the_audited_path(
    postgres_database: Database, tmp_path: Path, protocols: Protocols, clock: FixedClock
) -> None:
    warehouse = make_warehouse(postgres_database, tmp_path / "data", protocols.get(), clock)
    source = trialdata.build(warehouse.study.checked.compiled, 2).write(
        warehouse.settings.data_dir / "export"
    )
    sync.sync(warehouse.settings, sync.SyncRequest(study="MINI-01", source_dir=source))
    with db.transaction(warehouse.database.sessionmaker) as session:
        audit.bind(session, actor="dm", role="data_manager", clock=clock)
        subject = session.query(SubjectRow).first()
        assert subject is not None
        with audit.reason(session, "withdrew consent"):
            subject.status = "withdrawn"
    assert warehouse.count("subject", "status = 'withdrawn'") == 1
    assert warehouse.chain_ok()


# --- the runbook's roles ------------------------------------------------------------------


class Roles:
    """A database set up by roles.sql and migrated by its owner; URLs per role."""

    def __init__(self, admin_url: object, database: str, names: dict[str, str]) -> None:
        self.admin_url = admin_url
        self.database = database
        self.names = names

    def url(self, role: str) -> str:
        base = self.admin_url.set(  # type: ignore[attr-defined]
            database=self.database, username=self.names[role]
        )
        return str(base.render_as_string(hide_password=False))

    def psycopg(self, role: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(role).replace("+psycopg", ""), autocommit=True)


@pytest.fixture(scope="module")
def roles(_postgres_template: object) -> Iterator[Roles]:
    admin_url = _postgres_template.admin_url  # type: ignore[attr-defined]
    tag = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    names = {role: f"{tag}_{role}" for role in ("owner", "app", "read")}
    script = ROLES_SQL.read_text()
    for role, name in names.items():
        script = script.replace(f"edc_{role}", name)
    with _admin(admin_url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(tag)))
    setup = admin_url.set(database=tag).set(drivername="postgresql")
    try:
        with psycopg.connect(setup.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(script.encode())
        made = Roles(admin_url, tag, names)
        migrate.upgrade(made.url("owner"))
        yield made
    finally:
        with _admin(admin_url) as admin:
            _drop(admin, tag)
            for name in names.values():
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_the_application_role_syncs_and_verifies(
    roles: Roles, tmp_path: Path, protocols: Protocols
) -> None:
    settings = config.Settings(data_dir=tmp_path / "data", database_url=roles.url("app"))
    study = protocols.get()
    engine = migrate.open_engine(settings.database_url)
    try:
        protocol.register_checked(
            db.make_sessionmaker(engine), study.checked, FixedClock(FROZEN_AT)
        )
    finally:
        engine.dispose()
    source = trialdata.build(study.checked.compiled, 3).write(tmp_path / "export")
    result = sync.sync(settings, sync.SyncRequest(study=study.study, source_dir=source))
    assert result.counts["Patient"].new == 3
    verified = audit_actions.verify(settings)
    assert verified.first_break is None and verified.checkpoint_added is not None


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE subject SET status = 'withdrawn'", REFUSED),
        ("DELETE FROM audit_event", "append-only"),
        ("TRUNCATE audit_event", "permission denied"),
        ("DROP TRIGGER write_guard ON subject", "must be owner"),
        ("ALTER TABLE audit_event DISABLE TRIGGER USER", "must be owner"),
        ("ALTER TABLE item_value DISABLE TRIGGER write_guard", "must be owner"),
        ("SET session_replication_role = replica", "permission denied"),
        ("CREATE TABLE shadow (x int)", "permission denied"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "permission denied"),
    ],
)
def test_the_application_role_cannot_get_around_the_triggers(
    roles: Roles, statement: str, refusal: str
) -> None:
    with roles.psycopg("app") as connection, pytest.raises(psycopg.Error, match=refusal):
        connection.execute(statement.encode())


def test_the_read_role_reads_and_writes_nothing(roles: Roles) -> None:
    with roles.psycopg("read") as connection:
        connection.execute(b"SELECT count(*) FROM audit_event")
        with pytest.raises(psycopg.Error, match="permission denied"):
            connection.execute(b"INSERT INTO job_lease (job_id) VALUES ('x')")


def test_the_application_role_cannot_migrate(roles: Roles) -> None:
    with pytest.raises(errors.BadInputError, match="must be owner"):
        migrate.downgrade(roles.url("app"), "base")
    assert migrate.current(roles.url("app")) == migrate.head_revision()


@pytest.mark.parametrize("path", ["audited", "received", "derived"])
def test_each_of_edcs_write_paths_is_let_through(postgres_database: Database, path: str) -> None:
    with postgres_database.engine.begin() as connection:
        connection.execute(text("SELECT set_config('edc.write_path', :p, true)"), {"p": path})
        connection.execute(text("INSERT INTO study (code, title) VALUES ('PATH', 'path')"))
    with pytest.raises(DBAPIError, match=REFUSED), postgres_database.engine.begin() as connection:
        connection.execute(text("SELECT set_config('edc.write_path', 'typed-by-hand', true)"))
        connection.execute(text("DELETE FROM study"))

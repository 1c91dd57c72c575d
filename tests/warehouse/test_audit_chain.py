"""The audit trail is append-only in the database, hash-chained, and `edc audit` checks it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from edc import cli, errors
from edc import clock as clocks
from edc.warehouse import audit, chain, db, migrate
from edc.warehouse.base import table_of
from edc.warehouse.tables import AuditEventRow, SubjectRow
from tests.fixtures.database import Database
from tests.warehouse.seed import Seeded

_audit = table_of(AuditEventRow)


@pytest.fixture
def use_database(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    return database


def _as_superuser(database: Database, statement: str) -> None:
    """Run ``statement`` on audit_event with the append-only triggers out of the way."""
    with database.engine.begin() as connection:
        if database.backend == "postgresql":
            # Triggers do not fire for a replica session; only a superuser may switch to it.
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.execute(text(statement))
        else:
            triggers = _sqlite_triggers(connection)
            for name in triggers:
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
            connection.execute(text(statement))
            for sql in triggers.values():
                connection.exec_driver_sql(sql)


def _sqlite_triggers(connection: Connection) -> dict[str, str]:
    rows = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'trigger' AND tbl_name = 'audit_event'"
        )
    )
    return {str(name): str(sql) for name, sql in rows}


def _rows(database: Database) -> list[dict[str, object]]:
    with database.engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(select(_audit).order_by(_audit.c.seq)).mappings()
        ]


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET reason = 'edited'", "DELETE FROM audit_event"]
)
def test_the_database_refuses_to_update_or_delete_audit_rows(
    database: Database, seeded: Seeded, statement: str
) -> None:
    before = _rows(database)
    with pytest.raises(DBAPIError, match="append-only"):
        with database.engine.begin() as connection:
            connection.execute(text(statement))
    assert _rows(database) == before


def test_postgresql_refuses_to_truncate_audit_rows(postgres_database: Database) -> None:
    with pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"):
        with postgres_database.engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_event"))


def test_verify_passes_an_intact_chain(
    use_database: Database, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["audit", "verify"]) == 0
    head = _rows(use_database)[-1]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"audit chain intact: 4 rows, head 4 {head['hash']}"
    assert out[1] == "checkpoints: none of this warehouse yet (this verification added the first)"


def test_verify_names_the_row_altered_behind_the_triggers(
    use_database: Database, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    _as_superuser(
        use_database, "UPDATE audit_event SET new_value = '{\"forged\": true}' WHERE seq = 2"
    )
    assert _rows(use_database)[1]["new_value"] == '{"forged": true}'
    assert cli.main(["audit", "verify"]) == errors.EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert f"audit chain broken at row 2 (site {seeded.site_id})" in err
    assert "content does not match its hash" in err
    assert "1 rows before it verify" in err


def test_verify_catches_a_row_rewritten_with_a_fresh_hash_at_its_successor(
    use_database: Database, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    row = _rows(use_database)[1]
    forged = {**row, "actor": "mallory"}
    new_hash = chain.row_hash(forged, str(row["prev_hash"]))
    _as_superuser(
        use_database, f"UPDATE audit_event SET actor = 'mallory', hash = '{new_hash}' WHERE seq = 2"
    )
    assert cli.main(["audit", "verify"]) == errors.EXIT_CHECK_FAILED
    assert "broken at row 3" in capsys.readouterr().err


def test_verify_catches_a_deleted_row(
    use_database: Database, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    _as_superuser(use_database, "DELETE FROM audit_event WHERE seq = 2")
    assert cli.main(["audit", "verify"]) == errors.EXIT_CHECK_FAILED
    assert "broken at row 3" in capsys.readouterr().err


def test_a_fork_of_the_chain_cannot_be_committed(database: Database, seeded: Seeded) -> None:
    last = _rows(database)[-1]
    successor = {**last, "seq": int(str(last["seq"])) + 1, "prev_hash": last["hash"], "reason": "a"}
    successor["hash"] = chain.row_hash(successor, str(last["hash"]))
    rival = {**successor, "seq": successor["seq"] + 1, "reason": "b"}  # same predecessor
    rival["hash"] = chain.row_hash(rival, str(last["hash"]))
    with database.engine.begin() as connection:
        connection.execute(insert(_audit), [successor])
    # The linkage trigger refuses it: its prev_hash is not the hash of row seq - 1.
    with pytest.raises((IntegrityError, DBAPIError), match="chain broken"):
        with database.engine.begin() as connection:
            connection.execute(insert(_audit), [rival])
    assert [row["seq"] for row in _rows(database)][-1] == successor["seq"]


def test_the_database_refuses_an_audit_row_that_skips_a_link(
    database: Database, seeded: Seeded
) -> None:
    before = _rows(database)
    last = before[-1]
    gap = {**last, "seq": int(str(last["seq"])) + 2, "prev_hash": last["hash"], "reason": "gap"}
    gap["hash"] = chain.row_hash(gap, str(last["hash"]))
    wrong_link = {**last, "seq": int(str(last["seq"])) + 1, "prev_hash": "f" * 64}
    wrong_link["hash"] = chain.row_hash(wrong_link, "f" * 64)
    for row in (gap, wrong_link):
        with pytest.raises((IntegrityError, DBAPIError), match="chain broken"):
            with database.engine.begin() as connection:
                connection.execute(insert(_audit), [row])
    assert _rows(database) == before


def test_show_prints_a_record_history_oldest_first(
    use_database: Database,
    seeded: Seeded,
    clock: clocks.FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for status, why in [("off-study", "completed follow-up"), ("withdrawn", "consent withdrawn")]:
        with db.transaction(use_database.sessionmaker) as session:
            audit.bind(session, actor="dr.li", role="investigator", clock=clock, reason=why)
            session.get_one(SubjectRow, seeded.subject_id).status = status
        clock.advance(dt.timedelta(days=1))
    assert cli.main(["audit", "show", "--record", f"subject:{seeded.subject_id}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("#3 2026-03-01T04:00:15.123456+00:00 setup (admin) insert")
    by_dr_li = "dr.li (investigator) update status  reason:"
    assert lines[2:] == [
        f"#5 2026-03-01T04:00:15.123456+00:00 {by_dr_li} completed follow-up",
        '    old: "on-study"',
        '    new: "off-study"',
        f"#6 2026-03-02T04:00:15.123456+00:00 {by_dr_li} consent withdrawn",
        '    old: "off-study"',
        '    new: "withdrawn"',
    ]


@pytest.mark.parametrize("record", ["subject", "subject:", "no_such_table:1"])
def test_show_refuses_a_malformed_record(
    use_database: Database, record: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["audit", "show", "--record", record]) == errors.EXIT_BAD_INPUT
    assert "--record" in capsys.readouterr().err


def test_verify_without_a_warehouse_is_bad_input_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EDC_DATABASE_URL", raising=False)
    assert cli.main(["audit", "verify"]) == errors.EXIT_BAD_INPUT
    assert "edc db upgrade" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_verify_of_an_unmigrated_database_is_bad_input(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.downgrade(sqlite_database.url, "base")
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    assert cli.main(["audit", "verify"]) == errors.EXIT_BAD_INPUT
    assert "has no warehouse schema" in capsys.readouterr().err

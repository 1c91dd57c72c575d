"""The audit chain anchored outside the database: what the database owner does is detected.

The owner of the database can switch the append-only triggers off (``session_replication_role``
on PostgreSQL, ``DROP TRIGGER`` on SQLite) and then cut rows off the end of the chain, or change
a row and recompute every later hash. The chain alone verifies after either; the checkpoints
kept in a file, keyed with a key outside the database, do not.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, text

from edc import cli, errors
from edc.actions import sync
from edc.clock import FixedClock
from edc.warehouse import chain, checkpoints
from edc.warehouse.base import table_of
from edc.warehouse.tables.audit import AuditEventRow
from tests.fixtures.database import Database
from tests.fixtures.owner import as_owner
from tests.sync import trialdata
from tests.sync.conftest import Warehouse, protocols, warehouse

__all__ = ["protocols", "warehouse"]  # fixtures shared with the sync tests

AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=4)))
_audit = table_of(AuditEventRow)


@pytest.fixture
def env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    return database


def _append(database: Database, count: int) -> None:
    signature = chain.Signature("alice", "investigator", AT, None)
    changes = [
        chain.Change("insert", "subject", str(i), new_value=orjson.dumps({"n": i}).decode())
        for i in range(count)
    ]
    with database.engine.begin() as connection:
        chain.append(connection, signature=signature, changes=changes)


def _as_owner(database: Database, *statements: str | tuple[str, dict[str, object]]) -> None:
    """Run SQL as the database owner would, the audit triggers switched off."""
    with as_owner(database) as connection:
        for statement in statements:
            sql, values = statement if isinstance(statement, tuple) else (statement, {})
            connection.execute(text(sql), values)


def _recompute_from(database: Database, seq: int) -> None:
    """Change row ``seq`` and recompute its hash and every later one (a careful forger)."""
    with database.engine.connect() as connection:
        rows = [
            dict(row)
            for row in connection.execute(
                select(_audit).where(_audit.c.seq >= seq - 1).order_by(_audit.c.seq)
            ).mappings()
        ]
    prev_hash = rows[0]["hash"] if rows[0]["seq"] == seq - 1 else "0" * 64
    updates: list[tuple[str, dict[str, object]]] = []
    for row in rows:
        if row["seq"] < seq:
            continue
        if row["seq"] == seq:
            row["new_value"] = '{"n": "forged"}'
        row["prev_hash"] = prev_hash
        prev_hash = row["hash"] = chain.row_hash(row, prev_hash)
        updates.append(
            (
                "UPDATE audit_event SET new_value = :new_value, prev_hash = :prev_hash, "
                "hash = :hash WHERE seq = :seq",
                {k: row[k] for k in ("new_value", "prev_hash", "hash", "seq")},
            )
        )
    _as_owner(database, *updates)


def _verify(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    code = cli.main(["audit", "verify", *flags])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_an_intact_chain_verifies_and_gains_a_checkpoint(
    env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _append(env, 10)
    assert cli.main(["audit", "checkpoint"]) == 0
    code, out = _verify(capsys)
    assert code == 0, out
    assert "checkpoints: 1 of this warehouse hold" in out
    lines = (tmp_path / "data" / "audit" / "checkpoints.ndjson").read_bytes().splitlines()
    assert [orjson.loads(line)["event"] for line in lines] == ["manual", "verify"]
    key = tmp_path / "data" / "audit" / "checkpoint.key"
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("cut", [1, 732, 5_000])
def test_rows_cut_off_the_end_are_detected(
    env: Database, capsys: pytest.CaptureFixture[str], cut: int
) -> None:
    _append(env, 6_000)
    assert cli.main(["audit", "checkpoint"]) == 0
    _as_owner(env, f"DELETE FROM audit_event WHERE seq > {6_000 - cut}")

    assert _verify(capsys, "--skip-checkpoints")[0] == 0  # the chain alone cannot tell
    code, out = _verify(capsys)
    assert code == errors.EXIT_CHECK_FAILED
    assert f"rows {6_000 - cut + 1:,} to 6,000 of the audit trail are missing" in out


def test_a_rewritten_row_with_every_later_hash_recomputed_is_detected(
    env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _append(env, 50)
    assert cli.main(["audit", "checkpoint"]) == 0
    _append(env, 5)  # rows after the checkpoint are fine: the chain goes on
    _recompute_from(env, 20)

    assert _verify(capsys, "--skip-checkpoints")[0] == 0
    code, out = _verify(capsys)
    assert code == errors.EXIT_CHECK_FAILED
    assert "row 50 does not have the hash the checkpoint" in out
    assert "rewritten and the chain recomputed" in out


def test_emptying_the_trail_is_detected(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _append(env, 3)
    assert cli.main(["audit", "checkpoint"]) == 0
    _as_owner(env, "DELETE FROM audit_event")
    code, out = _verify(capsys)
    assert code == errors.EXIT_CHECK_FAILED and "rows 1 to 3" in out


def test_a_forged_or_removed_checkpoint_line_is_detected(
    env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "data" / "audit" / "checkpoints.ndjson"
    for _ in range(3):
        _append(env, 2)
        assert cli.main(["audit", "checkpoint"]) == 0
    original = log.read_bytes()
    lines = original.splitlines()

    forged = orjson.loads(lines[2])
    forged["rows"] = 4  # pretend the trail was shorter, to hide a truncation
    log.write_bytes(b"\n".join([*lines[:2], orjson.dumps(forged)]) + b"\n")
    code, out = _verify(capsys)
    assert code == errors.EXIT_CHECK_FAILED and f"{log}:3: checkpoint is not genuine" in out

    log.write_bytes(b"\n".join([lines[0], lines[2]]) + b"\n")
    code, out = _verify(capsys)
    assert code == errors.EXIT_CHECK_FAILED and "the line before it was removed" in out

    log.write_bytes(original)
    assert _verify(capsys)[0] == 0


def test_without_the_key_the_checkpoints_cannot_be_checked(
    env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _append(env, 2)
    assert cli.main(["audit", "checkpoint"]) == 0
    (tmp_path / "data" / "audit" / "checkpoint.key").unlink()
    code, out = _verify(capsys)
    assert code == errors.EXIT_CHECK_FAILED
    assert "cannot be checked: the checkpoint key" in out and "is missing" in out
    # ... and no new key is made behind the user's back.
    assert cli.main(["audit", "checkpoint"]) == errors.EXIT_BAD_INPUT
    assert not (tmp_path / "data" / "audit" / "checkpoint.key").exists()


def test_checkpoints_of_another_warehouse_are_not_applied(
    database: Database, tmp_path: Path
) -> None:
    location = checkpoints.Location(tmp_path / "cp.ndjson", tmp_path / "cp.key")
    clock = FixedClock(AT)
    _append(database, 5)
    with database.engine.connect() as connection:
        checkpoints.write(
            connection, location, warehouse="sqlite:////elsewhere", event="t", clock=clock
        )
        mine = checkpoints.write(connection, location, warehouse="here", event="t", clock=clock)
        found = checkpoints.verify(connection, location, warehouse="here")
    assert (found.checked, found.other_warehouses, found.latest, found.problem) == (
        1,
        1,
        mine,
        None,
    )


def test_the_warehouse_is_named_by_its_settings_without_password(tmp_path: Path) -> None:
    named = checkpoints.warehouse_id("postgresql://edc:secret@db.example.org/edc")
    assert named == "postgresql+psycopg://edc@db.example.org/edc"
    relative = checkpoints.warehouse_id("sqlite:///data/w.sqlite3")
    assert relative == f"sqlite:///{Path('data/w.sqlite3').resolve()}"


def test_every_sync_leaves_a_checkpoint(warehouse: Warehouse, tmp_path: Path) -> None:
    source = trialdata.build(warehouse.study.checked.compiled, 2).write(tmp_path / "export")
    request = sync.SyncRequest(study=warehouse.study.study, source_dir=source)
    sync.sync(warehouse.settings, request)
    sync.sync(warehouse.settings, request)  # nothing new: still a checkpoint
    location = checkpoints.location_for(warehouse.settings)
    written = [orjson.loads(line) for line in location.log.read_bytes().splitlines()]
    assert [c["event"] for c in written] == ["sync", "sync"]
    rows = warehouse.count("audit_event")
    assert written[-1]["rows"] == rows > 0
    with warehouse.database.engine.connect() as connection:
        found = checkpoints.verify(
            connection, location, warehouse=checkpoints.warehouse_id(warehouse.database.url)
        )
    assert (found.checked, found.problem) == (2, None)

"""`edc db downgrade` keeps data unless told otherwise, and never destroys a locked study."""

from __future__ import annotations

import pytest

from edc import cli, errors
from edc.clock import FixedClock
from edc.warehouse import audit, db, migrate, studies
from edc.warehouse.tables.lock import LockEventRow, LockStateRow
from tests.fixtures.database import Database
from tests.sync.conftest import Warehouse, protocols, warehouse

__all__ = ["protocols", "warehouse"]  # fixtures shared with the sync tests


@pytest.fixture
def env(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    monkeypatch.setenv("EDC_DATABASE_URL", warehouse.database.url)
    return warehouse


def test_a_populated_warehouse_is_not_downgraded_without_confirmation(
    env: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    head = migrate.head_revision()
    rows = env.count("audit_event")
    assert cli.main(["db", "downgrade", "base"]) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"the warehouse holds data ({rows:,} audit rows)" in err
    assert "--yes-destroy-data" in err
    assert migrate.current(env.database.url) == head
    assert env.count("audit_event") == rows and env.chain_ok()

    assert cli.main(["db", "downgrade", "base", "--yes-destroy-data"]) == 0
    assert migrate.current(env.database.url) is None


def test_a_locked_study_is_never_downgraded(
    env: Warehouse, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.transaction(env.database.sessionmaker) as session:
        audit.bind(session, actor="dm", role="data_manager", clock=clock)
        study = studies.get_study(session=session, code="MINI-01")
        event = LockEventRow(
            study_id=study.id, subject_id=None, state="locked", at=clock.now(), actor="dm",
            signer_role="data_manager", meaning="final", audit_rows=0,
            audit_head_hash="0" * 64, signature_sha256="1" * 64,
        )  # fmt: skip
        session.add(event)
        session.flush()
        session.add(
            LockStateRow(study_id=study.id, unit="study", state="locked", lock_event_id=event.id)
        )
    head = migrate.head_revision()
    for flags in ([], ["--yes-destroy-data"]):
        assert cli.main(["db", "downgrade", "base", *flags]) == errors.EXIT_BAD_INPUT
        assert "study MINI-01 is locked" in capsys.readouterr().err
    assert migrate.current(env.database.url) == head


def test_an_empty_warehouse_goes_down_without_asking(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    assert cli.main(["db", "downgrade", "base"]) == 0
    assert migrate.current(database.url) is None

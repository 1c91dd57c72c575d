"""`edc db backfill`: adverse events synced before migration 9a4d2e6c1f83 get their onset and
resolution times and "Other, specify" text from the raw resources (issue 12 item 5)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from edc import errors
from edc.actions import backfill, sync
from edc.cli import main
from edc.clock import FixedClock
from edc.warehouse import audit, db
from edc.warehouse.tables import AdverseEventRow
from tests.sync import trialdata
from tests.sync.conftest import Warehouse


def test_backfill_fills_what_rows_synced_before_the_columns_lack(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    trial = trialdata.build(warehouse.study.checked.compiled, 2)
    for event in trial.resources["AdverseEvent"]:
        event["date"] += "T21:40:00+08:00"
        event["event"]["text"] = "nausea after the procedure"
    source = trial.write(tmp_path / "export")
    sync.sync(warehouse.settings, sync.SyncRequest(study="MINI-01", source_dir=source), clock=clock)
    # As a row synced before the columns existed: empty (an audited change, as edc makes them).
    maker = db.make_sessionmaker(warehouse.database.engine)
    with db.transaction(maker) as session:
        audit.bind(session, actor="test", role="system", clock=clock)
        rows = list(session.scalars(select(AdverseEventRow)))
        assert rows and all(r.onset_at is not None for r in rows)
        count = len(rows)
        with audit.reason(session, "test: as before migration 9a4d2e6c1f83"):
            for row in rows:
                row.onset_at = row.resolved_at = row.verbatim = None

    done = backfill.backfill(warehouse.settings, clock=clock)

    assert (done.examined, done.filled, done.closed) == (count, count, 0)
    filled = warehouse.rows("SELECT onset_at, verbatim, resolved_at FROM adverse_event")
    for onset_at, verbatim, resolved_at in filled:
        when = (
            onset_at
            if isinstance(onset_at, dt.datetime)
            else dt.datetime.fromisoformat(str(onset_at))
        )
        assert (when.hour, when.minute) in {(13, 40), (21, 40)}  # 21:40 +08 kept as an instant
        assert verbatim == "nausea after the procedure"
        assert resolved_at is None  # the source gave the resolution as a date only
    reasons = warehouse.rows(
        "SELECT DISTINCT reason FROM audit_event WHERE table_name = 'adverse_event' "
        "AND field = 'onset_at' AND reason LIKE 'backfill%'"
    )
    assert reasons == [(backfill.REASON,)]
    again = backfill.backfill(warehouse.settings, clock=clock)
    assert again.filled == 0  # resolved_at stays empty: nothing more to fill


def test_backfill_reports_as_json_and_refuses_a_warehouse_that_is_not_there(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", warehouse.settings.database_url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    assert main(["db", "backfill", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"examined": 0, "filled": 0, "closed": 0}  # nothing synced: nothing to fill
    missing = tmp_path / "nowhere" / "warehouse.sqlite3"
    monkeypatch.setenv("EDC_DATABASE_URL", f"sqlite:///{missing}")
    assert main(["db", "backfill"]) == errors.EXIT_BAD_INPUT
    assert "edc db upgrade" in capsys.readouterr().err
    assert not missing.exists()  # nothing created

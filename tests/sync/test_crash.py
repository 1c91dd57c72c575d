"""Crash safety with a real process kill: `edc sync` is killed (SIGKILL) at several points of a
large pull and run again; the warehouse must equal the one a single clean run produces.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edc.actions import sync
from edc.clock import FixedClock
from edc.warehouse import db, migrate
from tests.fixtures.database import Database
from tests.sync import trialdata
from tests.sync.conftest import TRIAL_TABLES, Warehouse, make_warehouse
from tests.sync.protocols import Protocols

ROOT = Path(__file__).parents[2]
SUBJECTS = 80  # about 830 resources: 33 batches of 25
KILL_AFTER = (4, 13)  # progress lines (one per committed batch) before each kill


def _run_sync(url: str, source: Path, kill_after: int | None) -> int:
    env = {**os.environ, "EDC_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "edc", "sync", "--study", "MINI-01", "--source", str(source),
        "--batch-size", "25", "--progress-interval", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stderr is not None
    lines = 0
    for line in process.stderr:
        if line.startswith(b"sync: ") and b" resources (" in line:
            lines += 1
            if kill_after is not None and lines == kill_after:
                os.kill(process.pid, signal.SIGKILL)
                break
    process.stderr.close()
    return process.wait(timeout=60)


@pytest.mark.slow
def test_kill_9_at_any_point_then_rerun_equals_one_clean_run(
    warehouse: Warehouse,
    tmp_path: Path,
    protocols: Protocols,
    clock: FixedClock,
) -> None:
    source = trialdata.build(warehouse.study.checked.compiled, SUBJECTS).write(tmp_path / "export")
    codes = [_run_sync(warehouse.database.url, source, k) for k in KILL_AFTER]
    assert codes == [-signal.SIGKILL] * len(KILL_AFTER)
    assert _run_sync(warehouse.database.url, source, None) == 0

    clean_url = f"sqlite:///{tmp_path / 'clean.sqlite3'}"
    migrate.upgrade(clean_url)
    engine = db.make_engine(clean_url)
    try:
        clean = make_warehouse(
            Database("sqlite", clean_url, engine, db.make_sessionmaker(engine)),
            tmp_path / "clean-data",
            protocols.get(),
            clock,
        )
        sync.sync(clean.settings, sync.SyncRequest(study="MINI-01", source_dir=source), clock=clock)
        assert warehouse.counts() == clean.counts()
        assert warehouse.counts()["form_response"] == SUBJECTS * 4
        assert warehouse.count("audit_event") == clean.count("audit_event")
    finally:
        engine.dispose()
    assert warehouse.duplicates() == {}
    assert warehouse.chain_ok()
    # Every table the sync writes was compared.
    assert set(TRIAL_TABLES) <= set(warehouse.counts())

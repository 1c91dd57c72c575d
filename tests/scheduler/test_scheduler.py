"""`edc scheduler`: stored jobs, no overlapping runs across processes, retries after failures.

Scheduler processes are real (`python -m edc scheduler run`), on short intervals.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from edc import cli, errors
from edc.actions import scheduler
from edc.warehouse import leases
from edc.warehouse.base import Base
from tests.sync import trialdata
from tests.sync.conftest import Warehouse

ROOT = Path(__file__).parents[2]


def _edc(url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EDC_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "edc", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("30s", 30), ("2h", 7200), ("1d", 86400), ("500ms", 0.5)]
)
def test_intervals(text: str, seconds: float) -> None:
    every = scheduler.parse_every(text)
    assert every == dt.timedelta(seconds=seconds)
    assert scheduler.every_text(every) == text


@pytest.mark.parametrize("text", ["15", "m", "1w", "10ms", "-5s"])
def test_bad_intervals_are_bad_input(text: str) -> None:
    with pytest.raises(errors.BadInputError):
        scheduler.parse_every(text)


def test_jobs_are_added_listed_and_removed(
    sqlite_warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_warehouse.database.url)
    source = tmp_path / "export"
    source.mkdir()
    add = ["scheduler", "add", "--study", "MINI-01", "--every", "15m"]
    assert cli.main([*add, "--source", str(source), "--id", "nightly"]) == 0
    assert cli.main([*add, "--fhir-url", "https://ehr.example.org/fhir", "--bulk"]) == 0
    capsys.readouterr()
    assert cli.main(["scheduler", "list", "--format", "json"]) == 0
    listed = {job["job_id"]: job for job in json.loads(capsys.readouterr().out)}
    assert listed["nightly"]["source"] == str(source.resolve())
    (server_job,) = (job for name, job in listed.items() if name != "nightly")
    assert server_job["source"] == "https://ehr.example.org/fhir"
    for job in listed.values():
        assert (job["study"], job["every"], job["every_seconds"]) == ("MINI-01", "15m", 900)
        assert job["last_outcome"] is None  # never run
    # Bad input never reaches the job store.
    assert cli.main([*add, "--source", str(tmp_path / "missing")]) == errors.EXIT_BAD_INPUT
    assert cli.main([*add[:3], "NOPE", *add[4:], "--source", str(source)]) == 2
    assert cli.main([*add, "--source", str(source), "--fhir-url", "https://x.org/fhir"]) == 2
    assert cli.main(["scheduler", "remove", "nightly"]) == 0
    assert cli.main(["scheduler", "remove", "nightly"]) == errors.EXIT_BAD_INPUT
    capsys.readouterr()
    assert cli.main(["scheduler", "list"]) == 0
    assert "nightly" not in capsys.readouterr().out
    # The jobs are our own table's rows (no APScheduler table), and the schema is the models'.
    with sqlite_warehouse.database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_two_schedulers_never_run_a_job_at_once(warehouse: Warehouse, tmp_path: Path) -> None:
    source = trialdata.build(warehouse.study.checked.compiled, 30).write(tmp_path / "export")
    url = warehouse.database.url
    job_id = scheduler.add(
        warehouse.settings,
        scheduler.sync.SyncRequest(study="MINI-01", source_dir=source),
        dt.timedelta(milliseconds=300),
    )
    # Both run until three runs finished (however slow the machine), then stop as a service does.
    runners = [_edc(url, "scheduler", "run", "--for", "120") for _ in range(2)]
    try:
        _wait_for(warehouse, job_id, "ok", count=3, timeout=100.0)
    finally:
        for runner in runners:
            runner.send_signal(signal.SIGTERM)
    for runner in runners:
        _, err = runner.communicate(timeout=60)
        assert runner.returncode == 0, err.decode()

    runs = leases.list_runs(warehouse.database.engine, job_id=job_id)
    done = sorted((r.started_at, r.finished_at) for r in runs if r.outcome == "ok")
    assert len(done) >= 3, runs
    for (_, finished), (started, _) in itertools.pairwise(done):
        assert finished is not None and finished <= started, "two runs overlapped"
    assert {r.outcome for r in runs} <= {"ok", "skipped"}
    # Whoever ran which part, the data arrived once.
    assert warehouse.count("subject") == 30 and warehouse.duplicates() == {}
    assert warehouse.chain_ok()


def test_a_failed_run_is_logged_and_retried_at_the_next_interval(
    sqlite_warehouse: Warehouse, tmp_path: Path
) -> None:
    warehouse = sqlite_warehouse
    source = trialdata.build(warehouse.study.checked.compiled, 3).write(tmp_path / "export")
    job_id = scheduler.add(
        warehouse.settings,
        scheduler.sync.SyncRequest(study="MINI-01", source_dir=source),
        dt.timedelta(milliseconds=300),
    )
    hidden = source.rename(tmp_path / "elsewhere")  # the next runs fail: no such directory
    runner = _edc(warehouse.database.url, "scheduler", "run", "--for", "30")
    try:
        _wait_for(warehouse, job_id, "failed")
        hidden.rename(source)
        _wait_for(warehouse, job_id, "ok")
    finally:
        runner.send_signal(signal.SIGTERM)
        _, err = runner.communicate(timeout=30)
    assert runner.returncode == 0
    assert f"Job {job_id} failed (retried at the next interval)" in err.decode()
    runs = leases.list_runs(warehouse.database.engine, job_id=job_id)
    failed = [r for r in runs if r.outcome == "failed"]
    assert failed and "not a readable directory" in str(failed[0].message)
    assert warehouse.count("subject") == 3


def _wait_for(
    warehouse: Warehouse, job_id: str, outcome: str, *, count: int = 1, timeout: float = 20.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = leases.list_runs(warehouse.database.engine, job_id=job_id)
        if sum(r.outcome == outcome for r in runs) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {outcome} run of {job_id} within {timeout} s")


def test_jobs_use_the_settings_file_the_scheduler_was_started_with(
    sqlite_warehouse: Warehouse, tmp_path: Path
) -> None:
    warehouse = sqlite_warehouse
    source = trialdata.build(warehouse.study.checked.compiled, 2).write(tmp_path / "export")
    job_id = scheduler.add(
        warehouse.settings,
        scheduler.sync.SyncRequest(study="MINI-01", source_dir=source),
        dt.timedelta(milliseconds=300),
    )
    settings_file = tmp_path / "edc.toml"
    settings_file.write_text(f'database_url = "{warehouse.database.url}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_")}
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edc",
            "scheduler",
            "run",
            "--for",
            "30",
            "--config",
            str(settings_file),
        ],
        env={**env, "PYTHONPATH": str(ROOT), "EDC_DATA_DIR": str(tmp_path / "data")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(warehouse, job_id, "ok")
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=30)
    assert warehouse.count("subject") == 2

"""Scheduled jobs are data in our own audited table; a hanging run lets its lease expire."""

from __future__ import annotations

import datetime as dt
import pickle
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from edc import errors, jobs
from edc.actions import scheduler, sync
from edc.clock import SystemClock
from edc.fhir.target import ServerSpec, SmartSpec
from edc.warehouse import db, leases, migrate, schedules
from tests.fixtures.owner import as_owner
from tests.sync.conftest import Warehouse

JOBS_AS_DATA = "7e41c9a2d5b8"  # the migration that stores scheduled jobs as data


def _source(tmp_path: Path) -> Path:
    source = tmp_path / "export"
    source.mkdir()
    return source


def test_a_job_is_stored_as_plain_data_and_audited(warehouse: Warehouse, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("never read by add")
    server = ServerSpec(
        "https://ehr.example.org/fhir",
        SmartSpec(client_id="edc", key_file=key, kid="k1"),
        trusted_origins=("https://auth.example.org",),
    )
    request = sync.SyncRequest(study="MINI-01", server=server, bulk=True, time_limit=900)
    job_id = scheduler.add(warehouse.settings, request, dt.timedelta(minutes=15))

    ((row),) = warehouse.rows(
        "SELECT fhir_url, source_dir, interval_ms, time_limit_ms, options_json FROM scheduled_job"
    )
    assert row[:4] == ("https://ehr.example.org/fhir", None, 900_000, 900_000)
    assert '"key_file":"' + str(key.resolve()) + '"' in str(row[4])
    assert "never read by add" not in str(row[4])
    assert warehouse.count(
        "audit_event", f"table_name = 'scheduled_job' AND record_id = '{job_id}'"
    )

    scheduler.remove(warehouse.settings, job_id)
    actions = warehouse.rows(
        "SELECT action, reason FROM audit_event WHERE table_name = 'scheduled_job' ORDER BY seq"
    )
    assert actions == [
        ("insert", f"edc scheduler add {job_id}"),
        ("delete", f"edc scheduler remove {job_id}"),
    ]
    assert warehouse.chain_ok()


def test_the_job_store_holds_no_pickle(warehouse: Warehouse, tmp_path: Path) -> None:
    request = sync.SyncRequest(study="MINI-01", source_dir=_source(tmp_path))
    scheduler.add(warehouse.settings, request, dt.timedelta(minutes=5))
    with warehouse.database.engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
    assert "apscheduler_jobs" not in names
    (options,) = warehouse.rows("SELECT options_json FROM scheduled_job")[0]
    assert str(options).startswith("{")  # JSON, not a pickle protocol header


def test_a_row_altered_in_the_database_fails_its_job_and_runs_nothing(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    request = sync.SyncRequest(study="MINI-01", source_dir=_source(tmp_path))
    scheduler.add(warehouse.settings, request, dt.timedelta(minutes=5))
    payload = pickle.dumps(print).hex()
    with as_owner(warehouse.database) as connection:  # the write guard would refuse edc_app
        connection.execute(
            sa.text("UPDATE scheduled_job SET options_json = :bad"),
            {"bad": f'{{"types": ["Patient"], "callable": "{payload}"}}'},
        )

    (status,) = scheduler.list_schedules(warehouse.settings)
    assert status.schedule.options is None
    assert "callable: Extra inputs are not permitted" in str(status.last_message)
    with pytest.raises(errors.BadInputError, match="stored options do not read back"):
        scheduler.run_schedule(status.schedule)


def test_a_hanging_run_stops_renewing_its_lease_after_its_time_limit(
    sqlite_warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = sqlite_warehouse
    monkeypatch.setenv("EDC_DATABASE_URL", warehouse.database.url)
    monkeypatch.setenv(jobs.LEASE_ENV, "0.6")
    request = sync.SyncRequest(study="MINI-01", source_dir=_source(tmp_path), time_limit=0.5)
    job_id = scheduler.add(warehouse.settings, request, dt.timedelta(minutes=5))
    release = threading.Event()

    def hangs(schedule: schedules.Schedule) -> None:
        release.wait(20)  # a sync stuck in code no deadline reaches

    worker = threading.Thread(target=jobs.run_job, args=(job_id, hangs))
    worker.start()
    engine = warehouse.database.engine
    try:
        time.sleep(0.3)
        assert leases.holder_of(engine, job_id, SystemClock()) is not None
        # Time limit 0.5 s + one lease period 0.6 s, then the lease is left to expire.
        deadline = time.monotonic() + 10
        while leases.holder_of(engine, job_id, SystemClock()) is not None:
            assert time.monotonic() < deadline, "the lease was renewed for ever"
            time.sleep(0.1)
        # Another scheduler may now take the job.
        taken = leases.acquire(
            engine, job_id=job_id, holder="other", ttl=dt.timedelta(seconds=5), clock=SystemClock()
        )
        assert taken
    finally:
        release.set()
        worker.join(30)


def test_upgrading_drops_apschedulers_pickled_store(sqlite_warehouse: Warehouse) -> None:
    url = sqlite_warehouse.database.url
    engine = db.make_engine(url)
    try:
        config = migrate.alembic_config(engine)
        before = ScriptDirectory.from_config(config).get_revision(JOBS_AS_DATA).down_revision
        command.downgrade(config, str(before))
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE apscheduler_jobs (id TEXT, job_state BLOB)"))
            connection.execute(
                sa.text("INSERT INTO apscheduler_jobs VALUES ('old-job', :state)"),
                {"state": pickle.dumps({"func": "os:system"})},
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            names = sa.inspect(connection).get_table_names()
        assert "apscheduler_jobs" not in names and "scheduled_job" in names
    finally:
        engine.dispose()

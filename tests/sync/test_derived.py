"""The audit granularity decision (issue 10): received resources are audited once per version,
the rows derived from them are checked by `edc audit verify --derived`, and the history of a
synced value comes from the stored versions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text

from edc import errors, jobs
from edc.actions import scheduler, sync
from edc.cli import main
from edc.clock import FixedClock
from edc.sync import ingest, work
from edc.warehouse import audit, db, leases
from edc.warehouse.tables import AdverseEventRow, ItemValueRow
from tests.sync import trialdata
from tests.sync.conftest import Warehouse

VERIFY = ["audit", "verify", "--derived"]


def _sync(warehouse: Warehouse, source: Path) -> None:
    assert main(["sync", "--study", "MINI-01", "--source", str(source), "-q"]) == 0


@pytest.fixture
def synced(warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two subjects synced from files (SQLite and PostgreSQL); returns the source directory."""
    monkeypatch.setenv("EDC_DATABASE_URL", warehouse.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    source = trialdata.build(warehouse.study.checked.compiled, 2).write(tmp_path / "in")
    _sync(warehouse, source)
    return source


def _tamper(warehouse: Warehouse, sql: str) -> None:
    """Raw SQL behind edc's back (on PostgreSQL, past the write guard as the owner could)."""
    with warehouse.database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT set_config('edc.write_path', 'audited', true)")
        connection.execute(text(sql))


def test_a_clean_warehouse_verifies_derived(
    synced: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*VERIFY, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["derived_responses"] == warehouse.count("form_response") > 0
    assert report["derived_item_values"] == warehouse.count("item_value") > 0
    assert report["derived_adverse_events"] == warehouse.count("adverse_event") > 0
    assert main(["audit", "verify", "--format", "json"]) == 0  # not asked: not counted
    assert json.loads(capsys.readouterr().out)["derived_responses"] is None


def test_an_item_value_changed_with_raw_sql_is_found(
    synced: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    ((item_id, number),) = warehouse.rows(
        "SELECT id, value_number FROM item_value WHERE value_type = 'integer' ORDER BY id LIMIT 1"
    )
    was = int(str(number))
    _tamper(warehouse, f"UPDATE item_value SET value_number = {was + 1} WHERE id = {item_id}")
    assert main(["audit", "verify"]) == 0  # the hash chain cannot see it
    capsys.readouterr()
    assert main(VERIFY) == errors.EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert f'item_value:{item_id} value_number: "{was + 1}" in the table, "{was}" derived' in err
    assert "1 difference(s)" in err


def test_deleted_and_reassigned_rows_are_found(
    synced: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    ((item_id, response_id, link_id),) = warehouse.rows(
        "SELECT id, response_id, link_id FROM item_value ORDER BY id DESC LIMIT 1"
    )
    ((other,),) = warehouse.rows(
        f"SELECT id FROM subject WHERE id <> (SELECT subject_id FROM form_response "
        f"WHERE id = {response_id})"
    )
    _tamper(warehouse, f"DELETE FROM item_value WHERE id = {item_id}")
    _tamper(warehouse, f"UPDATE form_response SET subject_id = {other} WHERE id = {response_id}")
    assert main(VERIFY) == errors.EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert f"item_value:response {response_id} {link_id}[0]: missing" in err
    assert f"form_response:{response_id} subject_id: {other} in the table" in err


def _versions(warehouse: Warehouse, table: str) -> int:
    return warehouse.count("audit_event", f"table_name = '{table}'")


def test_one_audit_row_per_received_version_not_per_item(
    synced: Path, warehouse: Warehouse
) -> None:
    received = warehouse.count("raw_resource", "direction = 'received'")
    assert received > 0 and _versions(warehouse, "raw_resource") == received
    assert warehouse.count("item_value") > 0
    assert _versions(warehouse, "item_value") == 0
    assert _versions(warehouse, "form_response") == 0
    ((actor, role, new_value),) = warehouse.rows(
        "SELECT actor, role, new_value FROM audit_event WHERE table_name = 'raw_resource' "
        "ORDER BY seq LIMIT 1"
    )
    assert (actor, role) == ("edc sync", "system")
    recorded = json.loads(str(new_value))
    assert {"source", "resource_type", "logical_id", "version_id", "sha256"} <= set(recorded)
    assert str(recorded["source"]).endswith("/in") and len(recorded["sha256"]) == 64


def _pain_response(warehouse: Warehouse, source: Path) -> dict[str, Any]:
    lines = (source / "QuestionnaireResponse.ndjson").read_bytes().splitlines()
    return next(r for r in map(orjson.loads, lines) if "-qp" in r["id"])  # type: ignore[no-any-return]


def _receipts(warehouse: Warehouse) -> set[tuple[str, str, str]]:
    return {
        (str(actor), str(role), str(reason))
        for actor, role, reason in warehouse.rows(
            "SELECT actor, role, reason FROM audit_event WHERE table_name = 'raw_resource'"
        )
    }


def test_a_received_versions_audit_row_names_the_run_and_who_started_it(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", warehouse.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    source = trialdata.build(warehouse.study.checked.compiled, 2).write(tmp_path / "in")
    args = ["sync", "--study", "MINI-01", "--source", str(source), "-q"]
    assert main(["--user", "alice", *args]) == 0
    receipts = _receipts(warehouse)
    (run,) = {reason.split(" run ")[1].split(",")[0] for _, _, reason in receipts}
    assert len(run) == 12  # one run, named by its id
    by = f"by edc sync run {run}, started by alice"
    assert receipts == {
        ("edc sync", "system", f"received {by}"),
        # the patients' EHR data, held for screening until they enrolled in this run
        ("edc sync", "system", f"screening data made trial data {by}"),
    }
    assert warehouse.chain_ok()


def test_a_scheduled_syncs_versions_name_the_job_its_run_and_the_scheduler(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", warehouse.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDC_USER", "bob")  # the scheduler process's user did not start it
    source = trialdata.build(warehouse.study.checked.compiled, 2).write(tmp_path / "in")
    request = sync.SyncRequest(study="MINI-01", source_dir=source)
    job_id = scheduler.add(warehouse.settings, request, dt.timedelta(hours=1))
    jobs.run_job(job_id, scheduler.run_schedule)  # what the scheduler runs, in this thread
    (run,) = leases.list_runs(warehouse.database.engine, job_id=job_id)
    assert run.outcome == "ok", run.message
    by = f"by scheduled job {job_id} run {run.id}, started by scheduler"
    assert _receipts(warehouse) == {
        ("edc scheduler (MINI-01)", "system", f"received {by}"),
        ("edc scheduler (MINI-01)", "system", f"screening data made trial data {by}"),
    }
    assert warehouse.count("raw_resource", "direction = 'received'") > 0
    assert jobs.current_run() is None  # only inside the run


def test_casebook_history_shows_a_synced_value_changing_across_versions(
    synced: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _pain_response(warehouse, synced)
    old = first["item"][0]["answer"][0]["valueInteger"]
    second = json.loads(json.dumps(first))
    second["meta"] = {"versionId": "2", "lastUpdated": "2026-03-02T00:00:00.000Z"}
    second["item"][0]["answer"][0]["valueInteger"] = (old + 3) % 11
    (synced / "QuestionnaireResponse.2.ndjson").write_bytes(orjson.dumps(second) + b"\n")
    _sync(warehouse, synced)
    capsys.readouterr()
    ((code,),) = warehouse.rows(
        "SELECT s.subject_code FROM subject s JOIN patient_link p ON p.subject_id = s.id "
        f"WHERE p.patient_id = '{first['subject']['reference'].split('/')[1]}'"
    )
    assert (
        main(["audit", "show", "--subject", str(code), "--form", "pain", "--format", "json"]) == 0
    )
    entries = json.loads(capsys.readouterr().out)
    changed = [e for e in entries if e["field"] == "nrs" and e["action"] == "update"]
    assert len(changed) == 1  # the other pain responses have one version
    nrs = [e for e in entries if e["record"] == changed[0]["record"]]
    assert [(e["action"], e["old_value"], e["new_value"]) for e in nrs] == [
        ("insert", None, str(old)),
        ("update", str(old), str((old + 3) % 11)),
    ]
    assert nrs[-1]["reason"] == "updated at source to versionId 2"
    assert nrs[-1]["actor"] == "edc sync" and nrs[-1]["record"].startswith("item_value:")
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert main(VERIFY) == 0  # the update is derived from version 2


def test_a_correction_made_in_edc_with_its_audit_row_is_not_a_difference(
    synced: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(dt.datetime(2031, 5, 1, 9, 30, tzinfo=dt.UTC))
    with db.transaction(warehouse.database.sessionmaker) as session:
        audit.bind(session, actor="dr.li", role="investigator", clock=clock, reason="typo")
        item = session.scalars(
            select(ItemValueRow).where(ItemValueRow.value_type == "integer")
        ).first()
        assert item is not None
        item.value_number = (item.value_number or 0) + 1
        item_id = item.id
    assert main(VERIFY) == 0
    _tamper(
        warehouse, f"UPDATE item_value SET value_number = value_number + 1 WHERE id = {item_id}"
    )
    assert main(VERIFY) == errors.EXIT_CHECK_FAILED  # changed again, this time behind edc's back
    assert f"item_value:{item_id} value_number" in capsys.readouterr().err


def test_a_warehouse_synced_before_the_decision_keeps_its_audit_rows_and_verifies(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", warehouse.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    source = trialdata.build(warehouse.study.checked.compiled, 2).write(tmp_path / "in")
    with monkeypatch.context() as before:  # sync as it was: an audit row per derived row
        before.setattr(
            ingest, "Work", lambda *a, **k: work.Work(*a, **{**k, "audit_derived": True})
        )
        _sync(warehouse, source)
    old_rows = _versions(warehouse, "item_value")
    assert old_rows == warehouse.count("item_value") > 0
    first = _pain_response(warehouse, source)
    second = json.loads(json.dumps(first))
    second["meta"] = {"versionId": "2", "lastUpdated": "2026-03-02T00:00:00.000Z"}
    old = first["item"][0]["answer"][0]["valueInteger"]
    second["item"][0]["answer"][0]["valueInteger"] = (old + 1) % 11
    (source / "QuestionnaireResponse.2.ndjson").write_bytes(orjson.dumps(second) + b"\n")
    _sync(warehouse, source)  # today's sync on the same warehouse
    assert _versions(warehouse, "item_value") == old_rows  # kept, none added
    assert warehouse.chain_ok()
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    assert main(VERIFY) == 0
    ((code, item_id),) = warehouse.rows(
        "SELECT s.subject_code, i.id FROM item_value i "
        "JOIN form_response r ON r.id = i.response_id JOIN subject s ON s.id = r.subject_id "
        f"JOIN raw_resource w ON w.id = r.raw_resource_id WHERE w.logical_id = '{first['id']}' "
        "AND i.link_id = 'nrs'"
    )
    capsys.readouterr()
    assert main(["audit", "show", "--subject", str(code), "--format", "json"]) == 0
    mine = [
        (e["action"], e["field"], e["new_value"])
        for e in json.loads(capsys.readouterr().out)
        if e["record"] == f"item_value:{item_id}"
    ]
    # The old insert audit row (the whole row), then the change derived from version 2.
    assert [(action, field) for action, field, _ in mine] == [("insert", None), ("update", "nrs")]
    assert mine[1][2] == str((old + 1) % 11)


def test_an_adverse_events_grade_changed_with_raw_sql_is_found_an_audited_one_is_not(
    synced: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    ((event_id, grade),) = warehouse.rows("SELECT id, grade FROM adverse_event ORDER BY id LIMIT 1")
    was = int(str(grade))
    _tamper(warehouse, f"UPDATE adverse_event SET grade = {was % 4 + 1} WHERE id = {event_id}")
    capsys.readouterr()
    assert main(VERIFY) == errors.EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert f"adverse_event:{event_id} grade: {was % 4 + 1} in the table, {was} derived" in err
    assert "1 difference(s)" in err
    clock = FixedClock(dt.datetime(2031, 5, 1, 9, 30, tzinfo=dt.UTC))
    with db.transaction(warehouse.database.sessionmaker) as session:
        audit.bind(session, actor="dr.li", role="investigator", clock=clock, reason="regraded")
        session.get_one(AdverseEventRow, event_id).grade = was % 4 + 2  # regraded in edc
    assert main(VERIFY) == 0
    assert warehouse.chain_ok()


def test_a_responses_visit_changed_with_raw_sql_is_found(
    synced: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    ((response_id, visit_id),) = warehouse.rows(
        "SELECT id, visit_id FROM form_response WHERE visit_id IS NOT NULL ORDER BY id LIMIT 1"
    )
    _tamper(warehouse, f"UPDATE form_response SET visit_id = NULL WHERE id = {response_id}")
    capsys.readouterr()
    assert main(VERIFY) == errors.EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert f'form_response:{response_id} visit_id: null in the table, "{visit_id}" derived' in err

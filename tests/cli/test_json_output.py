"""Every reporting command's `--format json` parses and has its documented keys (and CSV parses).

The key lists below are the documented JSON interface of each command: scripts and monitors
rely on them, so a change here is a change of interface (add keys; do not rename them).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from edc.cli import main
from edc.synced_types import TYPES
from tests.fhir_server.fixture import FhirServer
from tests.fixtures.database import Database

STUDY = Path(__file__).parents[2] / "fhir_mappings" / "studies" / "spine-mwa-01.yaml"
PROTOCOL = [
    "study",
    "version",
    "sites",
    "arms",
    "criteria",
    "visits",
    "forms",
    "resources",
    "sha256",
]
COUNTS = ["new", "updated", "unchanged", "rejected", "deleted"]
PROBLEM_GROUP = ["kind", "pattern", "count", "example"]
KEYS: dict[str, list[str]] = {
    "protocol check": PROTOCOL,
    "protocol compile": [*PROTOCOL, "output"],
    "protocol register": [*PROTOCOL, "created"],
    "db upgrade": ["revision", "head", "up_to_date"],
    "db current": ["revision", "head", "up_to_date"],
    "audit verify": [
        "rows",
        "head_seq",
        "head_hash",
        "first_break",
        "checkpoints_checked",
        "other_warehouses",
        "latest_checkpoint",
        "checkpoint_added",
        "derived_responses",
        "derived_item_values",
        "derived_adverse_events",
    ],
    "generate": [
        "out",
        "patients",
        "eligible",
        "subjects",
        "resources",
        "defects",
        "seconds",
        "files",
    ],
    "sync": ["study", "source", "counts", "skipped", "seconds", "problems", "rejected"],
    "config show": ["file", "settings"],
    "doctor": ["checks"],
    "publish": [
        "study",
        "version",
        "sha256",
        "server_url",
        "sent",
        "unchanged",
        "definitions",
        "left_out",
    ],
    "load": ["counts", "patients", "bad_lines", "seconds"],
    "monitor run": [
        "study",
        "found",
        "opened",
        "updated",
        "resolved",
        "reopened",
        "open_by_kind",
        "checks_failing",
        "queries_opened",
        "queries_closed",
        "queries_reopened",
    ],
    "monitor list": ["study", "deviations"],
    "monitor report": ["study", "generated_at", "sites"],
    "query list": ["study", "queries", "sites"],
    "sdv coverage": ["study", "sites"],
}
LIST_KEYS: dict[str, list[str]] = {
    "audit show --subject": [
        "seq",
        "at",
        "actor",
        "role",
        "action",
        "study",
        "site",
        "subject",
        "visit",
        "form",
        "record",
        "field",
        "old_value",
        "new_value",
        "reason",
    ],
    "audit show --record": [
        "seq",
        "at",
        "actor",
        "role",
        "action",
        "field",
        "old_value",
        "new_value",
        "reason",
    ],
    "scheduler list": [
        "job_id",
        "study",
        "source",
        "every",
        "every_seconds",
        "next_run",
        "last_outcome",
        "last_message",
        "running_on",
    ],
    "config show settings": ["name", "env", "value", "source"],
    "query list sites": ["site", "open", "answered", "closed", "oldest_open_days"],
    "sdv coverage sites": ["site", "forms", "items_needing_sdv", "items_verified", "coverage"],
    "doctor checks": ["name", "status", "detail", "fix"],
}


def run(capsys: pytest.CaptureFixture[str], *line: str, fmt: str = "json") -> Any:
    code = main([*line, "--format", fmt])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(captured.out)))
    return json.loads(captured.out)


def check(name: str, data: Any) -> Any:
    assert list(data) == KEYS[name], name
    return data


def check_list(name: str, items: list[dict[str, Any]]) -> None:
    assert items, name
    for item in items:
        assert list(item) == LIST_KEYS[name], name


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "trial"
    line = ["generate", "--study", str(STUDY), "--out", str(out), "--patients", "40", "-q"]
    assert main([*line, "--seed", "3", "--defect-rate", "0.1"]) == 0
    return out


@pytest.fixture
def env(sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path))
    return sqlite_database


def test_warehouse_commands(
    env: Database, generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check("db upgrade", run(capsys, "db", "upgrade"))["up_to_date"] is True
    assert check("db current", run(capsys, "db", "current"))["revision"]
    assert check("protocol check", run(capsys, "protocol", "check", str(STUDY)))["sites"] == 3
    bundle = tmp_path / "bundle.json"
    compiled = run(capsys, "protocol", "compile", str(STUDY), "-o", str(bundle))
    assert check("protocol compile", compiled)["output"] == str(bundle)
    assert check("protocol register", run(capsys, "protocol", "register", str(STUDY)))["created"]

    out = tmp_path / "again"
    line = ["generate", "--study", str(STUDY), "--out", str(out), "--patients", "5"]
    report = check("generate", run(capsys, *line))
    assert report["patients"] == 5 and isinstance(report["files"]["Patient"], int)

    line = ["sync", "--study", "SPINE-MWA-01", "--source", str(generated), "--format", "json"]
    assert main(line) == 0
    captured = capsys.readouterr()
    synced = check("sync", json.loads(captured.out))
    # Progress on stderr (no terminal: plain lines) knows the total from manifest.json.
    manifest = json.loads((generated / "manifest.json").read_text())
    total = sum(item["count"] for item in manifest["output"] if item["type"] in TYPES)
    assert f"/{total:,} resources" in captured.err
    assert set(synced["counts"]["Patient"]) == set(COUNTS)
    assert synced["rejected"] > 0 and synced["problems"]
    for group in synced["problems"]:
        assert list(group) == PROBLEM_GROUP and isinstance(group["count"], int)
    rows = run(capsys, "sync", "--study", "SPINE-MWA-01", "--source", str(generated), fmt="csv")
    assert rows == []  # nothing new the second time; the header is still there:
    header = main(
        ["sync", "--study", "SPINE-MWA-01", "--source", str(generated), "--format", "csv"]
    )
    assert (
        header == 0 and capsys.readouterr().out == "type,new,updated,unchanged,rejected,deleted\n"
    )

    # The monitor's commands, as a monitor (the first user added is the administrator).
    assert main(["user", "add", "admin"]) == 0
    assert main(["user", "grant", "admin", "--study", "SPINE-MWA-01", "--role", "admin"]) == 0
    assert main(["--user", "admin", "user", "add", "mon"]) == 0
    grant = ["user", "grant", "mon", "--study", "SPINE-MWA-01", "--role", "monitor"]
    assert main(["--user", "admin", *grant]) == 0
    capsys.readouterr()
    as_monitor = ["--user", "mon"]
    study = ["--study", "SPINE-MWA-01"]
    check("monitor run", run(capsys, *as_monitor, "monitor", "run", *study))
    check("monitor list", run(capsys, *as_monitor, "monitor", "list", *study))
    check("monitor report", run(capsys, *as_monitor, "monitor", "report", *study))
    queries = check("query list", run(capsys, *as_monitor, "query", "list", *study))
    check_list("query list sites", queries["sites"])
    coverage = check("sdv coverage", run(capsys, *as_monitor, "sdv", "coverage", *study))
    check_list("sdv coverage sites", coverage["sites"])

    verified = check("audit verify", run(capsys, "audit", "verify"))
    assert isinstance(verified["rows"], int) and verified["first_break"] is None
    with env.engine.connect() as connection:
        subject_id, code = connection.execute(text("SELECT id, subject_code FROM subject")).first()
    history = run(capsys, "audit", "show", "--record", f"subject:{subject_id}")
    check_list("audit show --record", history)
    casebook = run(capsys, "audit", "show", "--subject", code)
    check_list("audit show --subject", casebook)

    assert (
        main(
            [
                "scheduler",
                "add",
                "--study",
                "SPINE-MWA-01",
                "--source",
                str(generated),
                "--every",
                "1h",
            ]
        )
        == 0
    )
    check_list("scheduler list", run(capsys, "scheduler", "list"))

    shown = check("config show", run(capsys, "config", "show"))
    check_list("config show settings", shown["settings"])
    doctor = check("doctor", run(capsys, "doctor"))
    check_list("doctor checks", doctor["checks"])


def test_server_commands(
    env: Database,
    generated: Path,
    fresh_fhir_server: FhirServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = fresh_fhir_server.base_url
    published = check("publish", run(capsys, "publish", str(STUDY), "--fhir-url", url))
    assert published["sent"] == len(published["definitions"]) > 0
    loaded = check("load", run(capsys, "load", str(generated), "--fhir-url", url))
    assert loaded["patients"] == 40 and loaded["counts"]["Patient"]["created"] == 40
    assert loaded["bad_lines"] and list(loaded["bad_lines"][0]) == ["file", "line", "reason"]

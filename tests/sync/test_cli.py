"""`edc sync` on the command line: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edc import cli, errors
from tests.sync import trialdata
from tests.sync.conftest import Warehouse


@pytest.fixture
def source(sqlite_warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_warehouse.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    return trialdata.build(sqlite_warehouse.study.checked.compiled, 2).write(tmp_path / "export")


def test_sync_prints_a_summary_per_type(
    source: Path, sqlite_warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sync", "--study", "MINI-01", "--source", str(source)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["type", "new", "updated", "unchanged", "rejected", "deleted"]
    assert "QuestionnaireResponse 8 0 0 0 0" in [" ".join(line.split()) for line in out]
    assert out[-1].startswith(f"synced MINI-01 from {source.resolve()} in ")


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (["--study", "MINI-01"], errors.EXIT_BAD_INPUT),
        (["--study", "MINI-01", "--source", "{source}", "--fhir-url", "http://x.org/fhir"], 2),
        (["--study", "NOPE", "--source", "{source}"], errors.EXIT_BAD_INPUT),
        (["--study", "MINI-01", "--source", "/no/such/dir"], errors.EXIT_BAD_INPUT),
        (["--study", "MINI-01", "--fhir-url", "ftp://x.org/fhir"], errors.EXIT_BAD_INPUT),
        (["--study", "MINI-01", "--source", "{source}", "--group", "g1"], errors.EXIT_BAD_INPUT),
        (["--study", "MINI-01", "--fhir-url", "http://x.org/fhir", "--smart-kid", "k"], 2),
        (
            ["--study", "MINI-01", "--fhir-url", "http://127.0.0.1:1/fhir", "--max-attempts", "1"],
            errors.EXIT_EXTERNAL_FAILURE,
        ),
    ],
)
def test_exit_codes(
    source: Path, sqlite_warehouse: Warehouse, arguments: list[str], code: int
) -> None:
    before = sqlite_warehouse.counts()
    command = ["sync", *(a.replace("{source}", str(source)) for a in arguments)]
    assert cli.main(command) == code
    assert sqlite_warehouse.counts() == before


def test_strict_exits_1_when_something_was_rejected(
    source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / "Observation.ndjson").write_bytes(b"not json\n")
    assert cli.main(["sync", "--study", "MINI-01", "--source", str(source), "--strict"]) == 1
    assert "1 resource(s) rejected" in capsys.readouterr().err


def test_sync_prints_the_rejection_reasons_of_this_run(
    source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / "Observation.ndjson").write_bytes(b"not json\n{}\n")
    assert cli.main(["sync", "--study", "MINI-01", "--source", str(source), "-q"]) == 0
    out = capsys.readouterr().out
    assert "rejected, by reason" in out and "not_json" in out
    # JSON: the groups of this run only; a second run records nothing new.
    assert (
        cli.main(["sync", "--study", "MINI-01", "--source", str(source), "--format", "json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["problems"] == []


def test_sync_logs_start_batches_types_and_end(
    source: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        cli.main(["sync", "--study", "MINI-01", "--source", str(source), "--format", "json", "-v"])
        == 0
    )
    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays the result alone
    records = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records]
    assert messages[0] == "sync started" and messages[-1] == "sync finished"
    assert "batch committed" in messages
    assert all(r["study"] == "MINI-01" for r in records)
    typed = {r["type"]: r for r in records if r["message"] == "synced type"}
    assert typed["QuestionnaireResponse"]["new"] == 8
    assert records[-1]["source"] == str(source.resolve())

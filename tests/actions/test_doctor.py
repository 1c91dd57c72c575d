"""`edc doctor`: what it finds on a good set-up, and on each broken part, with a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edc import errors
from edc.cli import main
from edc.warehouse import migrate
from tests.fhir_server.fixture import FhirServer
from tests.fixtures.database import Database


def run(capsys: pytest.CaptureFixture[str], *line: str) -> tuple[int, dict[str, dict[str, str]]]:
    code = main(["doctor", "--format", "json", *line])
    checks = json.loads(capsys.readouterr().out)["checks"]
    return code, {check["name"]: check for check in checks}


@pytest.fixture
def env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    return database


def test_a_migrated_warehouse_passes(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = run(capsys)
    assert code == 0
    assert [c["status"] for c in checks.values()] == ["ok", "ok", "ok"]
    assert migrate.head_revision() in checks["migrations"]["detail"]


def test_an_unmigrated_database_fails_saying_what_to_do(
    env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.downgrade(env.url, "base")
    code, checks = run(capsys)
    assert code == errors.EXIT_CHECK_FAILED
    assert (checks["migrations"]["status"], checks["migrations"]["fix"]) == (
        "fail",
        "edc db upgrade",
    )


def test_unreachable_database_and_server_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDC_DATABASE_URL", "postgresql://edc@127.0.0.1:1/edc")
    code, checks = run(capsys, "--fhir-url", "http://127.0.0.1:1/fhir", "--max-attempts", "1")
    assert code == errors.EXIT_CHECK_FAILED
    assert checks["database"]["status"] == checks["FHIR server"]["status"] == "fail"
    assert "127.0.0.1:1" in checks["database"]["detail"]


def test_bad_settings_are_a_failed_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "file"))
    code, checks = run(capsys)
    assert code == errors.EXIT_CHECK_FAILED
    assert "EDC_DATA_DIR" in checks["settings"]["detail"]


def test_a_real_server_is_checked(
    sqlite_database: Database,
    fhir_server: FhirServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    code, checks = run(capsys, "--fhir-url", fhir_server.base_url)
    assert code == 0, checks
    assert checks["FHIR server"]["status"] == "ok" and "4.0" in checks["FHIR server"]["detail"]
    assert checks["publish and load"]["status"] == "ok"
    assert checks["SMART"]["status"] == "ok"


def test_smart_credentials_get_a_token_or_fail(
    sqlite_database: Database,
    fhir_server_smart: FhirServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    creds = fhir_server_smart.smart
    assert creds is not None
    key = tmp_path / "key.pem"
    key.write_text(creds.private_key_pem)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    smart = ["--fhir-url", fhir_server_smart.base_url, "--smart-key", str(key)]
    smart += ["--smart-kid", creds.kid]
    code, checks = run(capsys, *smart, "--smart-client-id", creds.client_id)
    assert code == 0, checks
    assert "token obtained" in checks["SMART"]["detail"]
    code, checks = run(capsys, *smart, "--smart-client-id", "not-registered")
    assert code == errors.EXIT_CHECK_FAILED
    assert checks["SMART token"]["status"] == "fail"

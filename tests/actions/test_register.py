"""`edc protocol register`: a protocol version recorded once, and never silently replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from edc import cli, errors
from tests.fixtures.database import Database
from tests.sync.protocols import Protocols


@pytest.fixture(scope="module")
def protocols(tmp_path_factory: pytest.TempPathFactory) -> Protocols:
    return Protocols(tmp_path_factory.mktemp("protocols"))


def _counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("study", "site", "protocol_version", "audit_event")
        }


def test_register_records_study_sites_and_version_once(
    database: Database,
    protocols: Protocols,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    study = protocols.get()
    assert cli.main(["protocol", "register", str(study.path)]) == 0
    first = _counts(database)
    assert cli.main(["protocol", "register", str(study.path)]) == 0
    assert (
        _counts(database)
        == first
        == {"study": 1, "site": 2, "protocol_version": 1, "audit_event": 4}
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("registered: MINI-01 v1.0") and out[1].startswith("already registered")
    with database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT version, source_yaml, bundle_json, bundle_sha256 FROM protocol_version")
        ).one()
    assert row.version == "1.0" and row.source_yaml == study.path.read_text()
    assert row.bundle_json.encode() == study.checked.compiled.json_bytes
    assert row.bundle_sha256 == study.checked.compiled.sha256


def test_an_amendment_is_a_new_version_of_the_same_study(
    sqlite_database: Database, protocols: Protocols, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    assert cli.main(["protocol", "register", str(protocols.get().path)]) == 0
    assert cli.main(["protocol", "register", str(protocols.get(version="1.1").path)]) == 0
    assert (
        _counts(sqlite_database)["study"] == 1 and _counts(sqlite_database)["protocol_version"] == 2
    )


def test_the_same_version_with_other_content_is_refused(
    sqlite_database: Database,
    protocols: Protocols,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    assert cli.main(["protocol", "register", str(protocols.get().path)]) == 0
    before = _counts(sqlite_database)
    changed = protocols.get(title="A retitled two-arm trial")
    assert cli.main(["protocol", "register", str(changed.path)]) == errors.EXIT_BAD_INPUT
    assert "version 1.0 is already registered with different content; bump study.version" in (
        capsys.readouterr().err
    )
    assert _counts(sqlite_database) == before


def test_a_bad_protocol_changes_nothing(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: 1\nstudy: {id: X}\n")
    before = _counts(sqlite_database)
    assert cli.main(["protocol", "register", str(bad)]) == errors.EXIT_BAD_INPUT
    assert (
        cli.main(["protocol", "register", str(tmp_path / "missing.yaml")]) == errors.EXIT_BAD_INPUT
    )
    assert _counts(sqlite_database) == before


def test_register_without_a_warehouse_says_how_to_make_one(
    protocols: Protocols,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "none.sqlite3"
    monkeypatch.setenv("EDC_DATABASE_URL", f"sqlite:///{missing}")
    assert cli.main(["protocol", "register", str(protocols.get().path)]) == errors.EXIT_BAD_INPUT
    assert "run `edc db upgrade` first" in capsys.readouterr().err
    assert not missing.exists()

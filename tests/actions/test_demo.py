"""`edc demo`: the whole path on the embedded default (both databases) and through a server."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edc import errors
from edc.cli import main
from edc.warehouse.tables import (
    DataProblemRow,
    FormResponseRow,
    RawResourceRow,
    SiteRow,
    SubjectRow,
)
from tests.fhir_server.fixture import FhirServer, FhirServerFactory, start_or_give_up
from tests.fixtures.database import Database

PATIENTS = 90


def truth(data_dir: Path, name: str) -> list[dict[str, object]]:
    (generated,) = (data_dir / "demo").iterdir()
    return [json.loads(line) for line in (generated / "truth" / name).read_text().splitlines()]


def run_demo(*flags: str) -> int:
    return main(["demo", "--patients", str(PATIENTS), "--seed", "7", *flags])


@pytest.fixture
def env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    return tmp_path / "data"


def test_demo_brings_the_trial_into_the_warehouse_and_reports_it(
    env: Path, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo("--defect-rate", "0.05", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    patients = truth(env, "patients.ndjson")
    defects = truth(env, "defects.ndjson")
    assert defects, "the demo data should carry some deliberate defects"

    enrolled = collections.Counter(p["site"] for p in patients if p["enrolled"])
    with database.sessionmaker() as session:
        subjects = dict(
            session.execute(
                select(SiteRow.code, func.count())
                .join(SubjectRow, SubjectRow.site_id == SiteRow.id)
                .group_by(SiteRow.code)
            ).all()
        )
        forms = session.scalar(select(func.count()).select_from(FormResponseRow))
        rejected = set(
            session.scalars(
                select(RawResourceRow.logical_id).join(
                    DataProblemRow, DataProblemRow.raw_resource_id == RawResourceRow.id
                )
            )
        )
        unreadable = session.scalar(
            select(func.count()).where(DataProblemRow.raw_resource_id.is_(None))
        )
    assert subjects == dict(enrolled)
    assert forms and forms > 0
    # Exactly the damaged responses are rejected; malformed lines are kept as text.
    broken = [d for d in defects if d["kind"] != "malformed-line"]
    assert rejected == {d["id"] for d in broken}
    assert unreadable == len(defects) - len(broken)

    assert {site["code"]: site["subjects"] for site in report["sites"]} == dict(enrolled)
    assert report["rejected"] == len(defects)
    assert sum(group["count"] for group in report["problems"]) >= len(defects)
    assert all(group["example"] for group in report["problems"])

    # Run again: the generated files are reused and nothing new arrives.
    assert run_demo("--defect-rate", "0.05") == 0
    again = capsys.readouterr().out
    assert "generated: reused" in again
    total = next(line for line in again.splitlines() if line.startswith("total "))
    assert total.split()[1] == "0"  # new
    assert main(["audit", "verify"]) == 0


def test_clean_data_is_accepted_whole(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo("--defect-rate", "0") == 0
    out = capsys.readouterr().out
    assert "rejected (kept raw for the monitors): 0 (0 problems)" in out
    assert truth(env, "defects.ndjson") == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--patients", "0"), "--patients must be at least 1"),
        (("--defect-rate", "2"), "--defect-rate must be within 0..1"),
        (("--study", "no-such-protocol.yaml"), "protocol file not found"),
        (("--fhir-url", "ftp://example.org/fhir"), "unsupported URL scheme"),
    ],
)
def test_bad_input_changes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: tuple[str, ...],
    message: str,
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("EDC_DATA_DIR", str(data))
    monkeypatch.delenv("EDC_DATABASE_URL", raising=False)
    assert main(["demo", *flags]) == errors.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert not data.exists()


@pytest.fixture(scope="module")
def demo_server(fhir_server_factory: FhirServerFactory) -> FhirServer:
    # Its own server: publishing adds definitions whose versions other modules' tests count.
    return start_or_give_up(fhir_server_factory, name="demo")


def test_demo_through_a_fhir_server(
    demo_server: FhirServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EDC_DATABASE_URL", raising=False)
    assert run_demo("--defect-rate", "0", "--fhir-url", demo_server.base_url) == 0
    out = capsys.readouterr().out
    enrolled = collections.Counter(
        p["site"] for p in truth(tmp_path / "data", "patients.ndjson") if p["enrolled"]
    )
    for code in ("01", "02", "03"):  # the per-site table: code, name, patients, subjects, ...
        line = next(line for line in out.splitlines() if line.startswith(f"{code} "))
        assert f" {enrolled[code]:,} " in line
    assert "rejected (kept raw for the monitors): 0 (0 problems)" in out

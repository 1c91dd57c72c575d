"""`edc demo`: the site's path on the embedded default (both databases) and through a server."""

from __future__ import annotations

import collections
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from edc import errors
from edc.cli import main
from edc.fhir import FhirClient
from tests.fhir_server.fixture import FhirServer, FhirServerFactory, start_or_give_up
from tests.fixtures.database import Database

PATIENTS = 90


def demo_dir(data_dir: Path) -> Path:
    (generated,) = (data_dir / "demo").iterdir()
    return generated


def truth(data_dir: Path, name: str, stage: str = "hospital") -> list[dict[str, object]]:
    text = (demo_dir(data_dir) / stage / "truth" / name).read_text()
    return [json.loads(line) for line in text.splitlines()]


def run_demo(*flags: str) -> int:
    return main(["demo", "--patients", str(PATIENTS), "--seed", "7", *flags])


def run_json(capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, Any]:
    assert run_demo(*flags, "--format", "json") == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def sites(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {site["site"]: site for site in report["sites"]}


@pytest.fixture
def env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    monkeypatch.delenv("EDC_USER", raising=False)
    return tmp_path / "data"


def test_demo_screens_enrolls_randomizes_and_the_trial_follows_edcs_arms(
    env: Path, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_json(capsys, "--defect-rate", "0.05")
    patients = truth(env, "patients.ndjson")
    # The population stage enrolls nobody: edc does.
    assert not any(p["enrolled"] for p in patients)
    with database.engine.connect() as connection:
        subjects = dict(
            connection.exec_driver_sql(
                "SELECT s.code, count(*) FROM subject j JOIN site s ON s.id = j.site_id "
                "GROUP BY s.code"
            ).all()
        )
        allocations = dict(
            connection.exec_driver_sql(
                "SELECT s.subject_code, a.arm FROM allocation a JOIN subject s "
                "ON s.id = a.subject_id"
            ).all()
        )
        (commitment,) = connection.exec_driver_sql(
            "SELECT commitment FROM randomization_scheme"
        ).one()
    per_site = collections.Counter(p["site"] for p in patients)
    for code, site in sites(report).items():
        assert site["screened"] == per_site[code]  # every patient of the site was screened
        assert site["enrolled"] == subjects.get(code, 0)
        assert set(site["randomized"]) <= {"(blinded)"}  # the trial statistician sees no arm
    assert report["commitment"] == commitment and report["viewer"] == "demo-statistician"
    assert report["verified"] == len(allocations) > 0
    assert report["site_path"]["enrolled"]
    # The treatment was generated from the arms edc allocated.
    conducted = truth(env, "allocations.ndjson", "conduct-2-treatment")
    assert {row["subject"]: row["arm"] for row in conducted} == allocations
    # It ends locked (signed by the data manager) and exported, every file with its hash.
    locked = report["locked"]
    assert locked["lock"].startswith("locked: study ")
    assert "data reviewed and approved as final" in locked["lock"]
    exported = Path(locked["export_dir"])
    for entry in locked["files"]:
        data = (exported / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert {"dm.xpt", "qs.parquet", "ae.csv"} <= {f["name"] for f in locked["files"]}
    # ... and analysed: the primary endpoint's estimate, and the report.
    assert locked["primary"].startswith("primary vas-w1 (ancova): ")
    assert "95% CI" in locked["primary"]
    report = Path(locked["report"]).read_text()
    # estimates, within arm, pre/post, CONSORT, adverse events; and the figures inline.
    assert report.count("<table>") == 5
    assert report.count("<svg") >= 3
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()

    # Run again: the generated files and the warehouse are reused; nothing new arrives.
    again = run_json(capsys, "--defect-rate", "0.05")
    assert again["generated"].startswith("reused")
    assert sum(c["new"] for c in again["sync"]["counts"].values()) == 0
    assert again["site_path"] is None and again["commitment"] == commitment
    assert again["locked"] == locked  # the same lock and export, shown again


def test_the_people_and_the_commitment_are_shown_as_a_table(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo("--defect-rate", "0") == 0
    out = capsys.readouterr().out
    assert "randomization commitment (SHA-256, recorded before the first subject): " in out
    assert "pre-screened 90 patients: " in out
    assert "rejected (kept raw for the monitors): 0 (0 problems)" in out


def test_the_unblinded_statistician_sees_the_arms(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_json(capsys, "--defect-rate", "0", "--user", "demo-unblinded-statistician")
    arms = {arm for site in sites(report).values() for arm in site["randomized"]}
    assert arms == {"ARM-A", "ARM-B"}
    assert report["rejected"] == 0


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
    monkeypatch.delenv("EDC_USER", raising=False)
    report = run_json(capsys, "--defect-rate", "0", "--fhir-url", demo_server.base_url)
    per_site = collections.Counter(p["site"] for p in truth(tmp_path / "data", "patients.ndjson"))
    assert {code: site["screened"] for code, site in sites(report).items()} == dict(per_site)
    assert report["rejected"] == 0
    # edc's own writes reached the server: one ResearchSubject per enrolled subject.
    enrolled = sum(site["enrolled"] for site in report["sites"])
    system = "https://edc.example.org/fhir/sid/subject/SPINE-MWA-01"
    with FhirClient(demo_server.base_url) as fhir:
        written = list(fhir.search("ResearchSubject", {"identifier": f"{system}|"}))
    assert len(written) == enrolled > 0
    assert {r["status"] for r in written} <= {"eligible", "on-study"}
    assert all("assignedArm" not in r for r in written)  # single-blind: no arm in the EHR

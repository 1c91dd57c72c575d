"""`edc export`: only locked data (or a marked snapshot), byte-reproducible, blinded arms."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pyreadstat
import pytest

from edc import cli, errors
from edc.actions import export as action
from edc.actions import lock
from edc.trial import permissions
from tests.actions.sitetrial import STUDY, SiteTrial
from tests.actions.test_lock import PASSWORD, make_lockable
from tests.actions.test_randomize import opened, randomized
from tests.fixtures.database import Database


@pytest.fixture
def trial(database: Database, tmp_path: Path) -> SiteTrial:
    return make_lockable(database, tmp_path)


def _lock(trial: SiteTrial) -> lock.LockResult:
    with trial.workspace("dm") as workspace:
        request = lock.LockRequest(STUDY, "lock", "final", PASSWORD)
        return lock.change(trial.settings, workspace, request)


def _export(trial: SiteTrial, out: Path, user: str = "stat", **flags: bool) -> action.ExportResult:
    with trial.workspace(user) as workspace:
        request = action.ExportRequest(STUDY, out, **flags)
        return action.export(trial.settings, workspace, request)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_unlocked_study_is_refused_without_snapshot_and_nothing_is_written(
    trial: SiteTrial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("EDC_DATABASE_URL", trial.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(trial.settings.data_dir))
    out = tmp_path / "out"
    code = cli.main(["--user", "stat", "export", "--study", STUDY, "--out", str(out)])
    assert code == errors.EXIT_BAD_INPUT
    assert f"{STUDY} is not locked" in capsys.readouterr().err
    assert not out.exists()
    snapshot = _export(trial, out, snapshot=True)
    manifest = orjson.loads((out / action.MANIFEST).read_bytes())
    assert snapshot.locked is False
    assert manifest["locked"] is False
    assert manifest["lock_event"] is None


def test_the_same_lock_exports_the_same_bytes_with_a_complete_manifest(
    trial: SiteTrial, tmp_path: Path
) -> None:
    signed = _lock(trial)
    first = _export(trial, tmp_path / "one", xpt=True)
    trial.clock.advance(dt.timedelta(hours=1))
    second = _export(trial, tmp_path / "two", xpt=True)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert first.manifest_sha256 == second.manifest_sha256
    manifest = orjson.loads((tmp_path / "one" / action.MANIFEST).read_bytes())
    assert manifest["lock_event"]["signature_sha256"] == signed.signature_sha256
    assert manifest["audit_head"] == {"rows": signed.audit_rows, "hash": signed.audit_head_hash}
    assert manifest["protocol"]["version"]
    for entry in manifest["files"]:
        data = (tmp_path / "one" / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert {e["name"] for e in manifest["files"]} >= {
        "dm.csv", "dm.parquet", "qs.parquet", "define.json", "define.html",
    }  # fmt: skip
    dictionary = orjson.loads((tmp_path / "one" / "define.json").read_bytes())
    variables = {d["name"]: d["variables"] for d in dictionary["datasets"]}
    assert variables["DM"][2] == {
        "name": "USUBJID", "label": "Unique Subject Identifier", "type": "text",
        "length": len(f"{STUDY}-") + 7, "origin": "Assigned",
    }  # fmt: skip
    assert dictionary["codelists"] and dictionary["methods"] is not None
    # Parquet and CSV hold the same rows; arms are masked for the blinded statistician.
    dm = pq.read_table(tmp_path / "one" / "dm.parquet").to_pylist()
    csv_lines = (tmp_path / "one" / "dm.csv").read_text().splitlines()
    assert len(dm) == len(csv_lines) - 1 == 1
    assert dm[0]["USUBJID"].startswith(f"{STUDY}-")
    assert trial.count("export_manifest") == 2
    # A tool we did not write reads every XPORT file back as the Parquet holds it.
    for name in ("dm", "ds", "sv", "qs", "ae"):
        parquet = pq.read_table(tmp_path / "one" / f"{name}.parquet").to_pydict()
        xpt, meta = pyreadstat.read_xport(
            str(tmp_path / "one" / f"{name}.xpt"), output_format="dict"
        )
        assert meta.table_name == name.upper()
        assert list(xpt) == list(parquet)
        for column, values in parquet.items():
            assert [v or "" for v in xpt[column]] == values, (name, column)
    assert meta.column_labels[2] == "Unique Subject Identifier"


def test_unblinded_export_is_refused_to_blinded_roles(trial: SiteTrial, tmp_path: Path) -> None:
    _lock(trial)
    with pytest.raises(errors.BadInputError, match="may not export arms unblinded"):
        _export(trial, tmp_path / "out", unblinded=True)
    assert not (tmp_path / "out").exists()
    result = _export(trial, tmp_path / "out", user="unblinded", unblinded=True)
    assert result.locked
    with pytest.raises(permissions.PermissionDeniedError, match="may not export datasets"):
        _export(trial, tmp_path / "other", user="coord-a")


def test_sqlite_and_postgresql_export_the_same_bytes(
    sqlite_database: Database, postgres_database: Database, tmp_path: Path
) -> None:
    exported = []
    for database in (sqlite_database, postgres_database):
        # The same folders for both: the hospital export's path is in the audit trail.
        trial = make_lockable(database, tmp_path / "trial")
        _lock(trial)
        _export(trial, tmp_path / database.backend)
        exported.append(_files(tmp_path / database.backend))
    # Every dataset file is the same; the manifest differs only where it names each
    # warehouse's own audit chain (its head, and the signature bound to it).
    manifests = [orjson.loads(files.pop(action.MANIFEST)) for files in exported]
    assert exported[0] == exported[1]
    for manifest in manifests:
        manifest.pop("audit_head")
        manifest.pop("lock_event")
    assert manifests[0] == manifests[1]


def test_trial_design_and_adsl_flags_with_arms_masked_unless_unblinded(
    trial: SiteTrial, tmp_path: Path
) -> None:
    subject = trial.rows("SELECT subject_code FROM subject")[0][0]
    opened(trial, tmp_path)
    trial.frailty_form("p-ok", "fit")
    trial.sync()
    randomized(trial, subject)
    ((arm,),) = trial.rows("SELECT arm FROM allocation")
    _lock(trial)
    _export(trial, tmp_path / "blind", xpt=True)
    _export(trial, tmp_path / "open", user="unblinded", unblinded=True)
    (blind,) = pq.read_table(tmp_path / "blind" / "adsl.parquet").to_pylist()
    (seen,) = pq.read_table(tmp_path / "open" / "adsl.parquet").to_pylist()
    assert (blind["ITTFL"], blind["PPROTFL"], blind["DVMAJN"]) == ("Y", "Y", "0")
    assert blind["TRT01P"] == permissions.MASKED_ARM
    assert seen["TRT01P"] == arm != permissions.MASKED_ARM
    assert blind["STRATUM"] and blind["RANDDT"]
    blind_dm = (tmp_path / "blind" / "dm.csv").read_text()
    assert arm not in blind_dm and arm in (tmp_path / "open" / "dm.csv").read_text()
    # The trial design comes from the protocol (three arms, its criteria and visits).
    ta = pq.read_table(tmp_path / "blind" / "ta.parquet").to_pydict()
    assert len(ta["ARMCD"]) == 3
    ts = pq.read_table(tmp_path / "blind" / "ts.parquet").to_pydict()
    assert dict(zip(ts["TSPARMCD"], ts["TSVAL"], strict=True))["NARMS"] == "3"
    assert pyreadstat.read_xport(str(tmp_path / "blind" / "ti.xpt"), output_format="dict")[0]
    # One BDS per endpoint family, and ADAE, both as the ADSL says.
    names = {p.stem for p in (tmp_path / "blind").glob("ad*.parquet")}
    assert {"adsl", "adae"} < names and len(names) >= 3
    for name in names - {"adsl", "adae"}:
        bds = pq.read_table(tmp_path / "blind" / f"{name}.parquet").to_pylist()
        for row in bds:
            assert row["TRT01P"] == permissions.MASKED_ARM and row["ITTFL"] == "Y"
            if row["BASE"] and row["AVISIT"] != "BL" and row["CHG"]:
                assert float(row["CHG"]) == pytest.approx(float(row["AVAL"]) - float(row["BASE"]))

"""`edc export`: only locked data (or a marked snapshot), byte-reproducible, blinded arms."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pyreadstat
import pytest

from edc import cli, errors
from edc.actions import consent, enroll, lock
from edc.actions import export as action
from edc.export import clinical
from edc.library import load_library
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
    for name in ("dm", "ds", "sv", "qs", "ae", "ie", "lb", "cm", "pr", "te", "ta", "adsl"):
        parquet = pq.read_table(tmp_path / "one" / f"{name}.parquet").to_pydict()
        xpt, meta = pyreadstat.read_xport(
            str(tmp_path / "one" / f"{name}.xpt"), output_format="dict"
        )
        assert meta.table_name == name.upper()
        assert list(xpt) == list(parquet)
        for column, values in parquet.items():
            assert [v or "" for v in xpt[column]] == values, (name, column)
        if "USUBJID" in xpt:
            assert meta.column_labels[list(xpt).index("USUBJID")] == "Unique Subject Identifier"


def _unblind(trial: SiteTrial, user: str = "unblinded") -> lock.UnblindResult:
    with trial.workspace(user) as workspace:
        return lock.unblind_study(trial.settings, workspace, STUDY, "final analysis", PASSWORD)


def test_unblinded_export_is_refused_to_blinded_roles(trial: SiteTrial, tmp_path: Path) -> None:
    _lock(trial)
    _unblind(trial)
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
        _ehr_data(trial)  # IE, LB, CM, PR hold rows
        _lock(trial)
        _export(trial, tmp_path / database.backend)
        exported.append(_files(tmp_path / database.backend))
    # Every dataset file is the same; the manifest differs only where it names each
    # warehouse's own audit chain (its head, and the signature bound to it).
    manifests = [orjson.loads(files.pop(action.MANIFEST)) for files in exported]
    assert exported[0] == exported[1]
    assert b"OPIOID" in exported[0]["cm.csv"] and b"718-7" in exported[0]["lb.csv"]
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
    _unblind(trial)
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
    assert sorted(set(ta["ARMCD"])) == ["ARM-A", "ARM-B", "ARM-C"]
    assert set(ta["ETCD"]) == {"SCRN", "ARMA", "ARMB", "ARMC"}
    te = pq.read_table(tmp_path / "blind" / "te.parquet").to_pydict()
    assert set(te["ETCD"]) == set(ta["ETCD"])  # every element of an arm is described
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


def _ehr_data(trial: SiteTrial) -> None:
    """An opioid patch and a BID oxycodone, a procedure for p-ok; p-anemic enrolled anyway."""
    patient = {"reference": "Patient/p-ok"}
    meta = {"versionId": "1", "lastUpdated": "2027-03-02T08:00:00+01:00"}

    def request(rid: str, coding: dict[str, str], dose: float, unit: str, timing: dict[str, Any]):
        return {
            "resourceType": "MedicationRequest", "id": rid, "meta": meta, "status": "active",
            "intent": "order", "subject": patient, "authoredOn": "2027-02-27T08:15:00+01:00",
            "medicationCodeableConcept": {"coding": [coding]},
            "dosageInstruction": [{
                "timing": {"repeat": timing},
                "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}],
            }],
        }  # fmt: skip

    trial.add(
        "MedicationRequest",
        request("p-ok-fent", {"system": "urn:local", "code": "fentanyl-transdermal",
                              "display": "Fentanyl (transdermal patch)"},
                25, "ug/h", {"frequency": 1, "period": 72, "periodUnit": "h"}),
        request("p-ok-oxy", {"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                             "code": "7804", "display": "Oxycodone (oral)"},
                10, "mg", {"frequency": 2, "period": 1, "periodUnit": "d"}),
        request("p-ok-para", {"system": "urn:local", "code": "paracetamol",
                              "display": "Paracetamol"},
                1000, "mg", {"frequency": 3, "period": 1, "periodUnit": "d"}),
    )  # fmt: skip
    trial.add(
        "Procedure",
        {
            "resourceType": "Procedure", "id": "p-ok-rt", "meta": meta, "status": "completed",
            "subject": patient, "code": {"text": "Radiotherapy of the spine"},
            "bodySite": [{"coding": [{"system": "urn:local", "display": "T11"}]}],
            "performedPeriod": {"start": "2027-03-05T10:00:00+01:00"},
        },
    )  # fmt: skip
    with trial.workspace("coord-a") as workspace:
        consent.record(
            workspace,
            consent.ConsentRequest(
                study=STUDY, patient="p-anemic", signed=dt.date(2027, 3, 1),
                form_version="2.1", obtained_by="Dr. Alpha",
            ),
        )  # fmt: skip
    with trial.workspace("pi-a") as workspace:
        enroll.enroll(
            workspace,
            enroll.EnrollRequest(
                study=STUDY, patient="p-anemic", site="A1", investigator="inv-a",
                confirm=("IN03=yes",), override="transfusion planned",
            ),
        )  # fmt: skip
    trial.sync()


def test_ie_lb_cm_pr_come_from_the_eligibility_decision_and_the_ehr(
    trial: SiteTrial, tmp_path: Path
) -> None:
    _ehr_data(trial)
    subjects = dict(trial.rows("SELECT p.patient_id, s.subject_code FROM patient_link p "
                               "JOIN subject s ON s.id = p.subject_id"))  # fmt: skip
    ok, anemic = (f"{STUDY}-{subjects[p]}" for p in ("p-ok", "p-anemic"))
    _lock(trial)
    _export(trial, tmp_path / "out", xpt=True)

    def read(name: str) -> list[dict[str, str]]:
        return pq.read_table(tmp_path / "out" / f"{name}.parquet").to_pylist()

    # IE: only the criterion the enrolled-anyway subject did not meet, dated, study day -1.
    (ie,) = read("ie")
    assert (ie["USUBJID"], ie["IETESTCD"], ie["IECAT"], ie["IEORRES"]) == (
        anemic, "IN02", "INCLUSION", "N"
    )  # fmt: skip
    assert ie["IETEST"].startswith("Hemoglobin") and ie["IESEQ"] == "1"
    assert (ie["IEDTC"], ie["IEDY"]) == ("2027-03-02", "1")  # decided on the day of enrollment
    # LB: the hemoglobin each decision read, with its unit, local date and study day.
    lb = {row["USUBJID"]: row for row in read("lb")}
    assert set(lb) == {ok, anemic}
    assert {k: lb[ok][k] for k in ("LBTESTCD", "LBLOINC", "LBORRES", "LBORRESU", "LBDTC")} == {
        "LBTESTCD": "HGB", "LBLOINC": "718-7", "LBORRES": "12.1", "LBORRESU": "g/dL",
        "LBDTC": "2027-02-24T23:10:00",
    }  # fmt: skip
    assert lb[ok]["LBDY"] == "-6" and lb[anemic]["LBSTRESN"] == "7.5"
    # CM: daily doses and MME with the CDC 2022 factors (fentanyl per ug/h, oxycodone 1.5).
    cm = {row["CMTRT"]: row for row in read("cm")}
    fentanyl, oxycodone = cm["Fentanyl (transdermal patch)"], cm["Oxycodone (oral)"]
    assert (fentanyl["CMDOSTOT"], fentanyl["CMMMEF"], fentanyl["CMMME"]) == ("25", "2.4", "60")
    assert (oxycodone["CMDOSTOT"], oxycodone["CMDOSTU"], oxycodone["CMMME"]) == ("20", "mg/d", "30")
    assert (cm["Paracetamol"]["CMCAT"], cm["Paracetamol"]["CMMME"]) == ("", "")
    assert oxycodone["CMCAT"] == "OPIOID" and oxycodone["CMSTDTC"] == "2027-02-27T08:15:00"
    assert sorted(row["CMSEQ"] for row in cm.values()) == ["1", "2", "3"]
    # PR: the EHR's procedure, located, on study day 4.
    (pr,) = read("pr")
    assert (pr["PRTRT"], pr["PRCAT"], pr["PRLOC"], pr["PRSTDTC"], pr["PRDY"]) == (
        "Radiotherapy of the spine", "EHR", "T11", "2027-03-05T10:00:00", "4"
    )  # fmt: skip
    # The data dictionary describes them, within the XPORT v5 limits.
    dictionary = orjson.loads((tmp_path / "out" / "define.json").read_bytes())
    described = {d["name"]: d for d in dictionary["datasets"]}
    assert {"IE", "LB", "CM", "PR", "TE"} <= set(described)
    assert described["LB"]["variables"][0]["origin"] == "Assigned"
    for dataset in described.values():
        for variable in dataset["variables"]:
            assert len(variable["name"]) <= 8 and len(variable["label"].encode()) <= 40
    manifest = orjson.loads((tmp_path / "out" / action.MANIFEST).read_bytes())
    names = {e["name"] for e in manifest["files"]}
    assert {f"{n}.{x}" for n in ("ie", "lb", "cm", "pr", "te") for x in ("csv", "xpt")} <= names


def test_mme_of_a_medication_named_only_in_its_text() -> None:
    factors = load_library().mme_factors
    assert (
        clinical.opioid_factor({"text": "Hydromorphone 2 mg tablet"}, factors)
        == factors["hydromorphone"]
    )
    assert (
        clinical.opioid_factor({"text": "Fentanyl transdermal"}, factors)
        == factors["fentanyl transdermal"]
    )
    assert clinical.opioid_factor({"text": "Ibuprofen"}, factors) is None
    assert clinical.study_day(dt.date(2027, 3, 2), dt.date(2027, 3, 2)) == "1"
    assert clinical.study_day(dt.date(2027, 3, 1), dt.date(2027, 3, 2)) == "-1"


def test_the_study_is_unblinded_once_after_lock_by_the_unblinded_statistician_signed(
    trial: SiteTrial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with pytest.raises(errors.BadInputError, match=f"{STUDY} is not locked"):
        _unblind(trial)
    signed = _lock(trial)
    # Until unblinded, even the unblinded statistician exports masked arms only.
    with pytest.raises(errors.BadInputError, match=f"{STUDY} is not unblinded"):
        _export(trial, tmp_path / "early", user="unblinded", unblinded=True)
    assert not (tmp_path / "early").exists()
    # Blinded and other roles are refused on the command line: exit 2, nothing written.
    monkeypatch.setenv("EDC_DATABASE_URL", trial.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(trial.settings.data_dir))
    rows = trial.count("audit_event")
    for user in ("stat", "dm", "inv-a"):
        code = cli.main(["--user", user, "lock", "unblind", "--study", STUDY, "--reason", "x",
                         "--password", PASSWORD])  # fmt: skip
        assert code == errors.EXIT_BAD_INPUT, user
        assert "unblind the whole study" in capsys.readouterr().err
    with pytest.raises(errors.BadInputError, match="password of unblinded does not match"):
        with trial.workspace("unblinded") as workspace:
            lock.unblind_study(trial.settings, workspace, STUDY, "final", "wrong")
    assert trial.count("study_unblinding") == 0 and trial.count("audit_event") == rows
    result = _unblind(trial)
    assert (result.signer, result.role, result.lock_event_id) == (
        "unblinded", "unblinded_statistician", signed.lock_event_id
    )  # fmt: skip
    assert trial.count("audit_event", "table_name = 'study_unblinding'") == 1
    with pytest.raises(errors.BadInputError, match="unblinded already, by unblinded"):
        _unblind(trial)
    _export(trial, tmp_path / "open", user="unblinded", unblinded=True)
    manifest = orjson.loads((tmp_path / "open" / action.MANIFEST).read_bytes())
    assert manifest["arms"] == "unblinded"
    assert manifest["unblinding"]["signature_sha256"] == result.signature_sha256
    assert manifest["unblinding"]["lock_event_id"] == signed.lock_event_id

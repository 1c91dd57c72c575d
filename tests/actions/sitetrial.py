"""A small study of another shape at two sites, with EHR data synced and people with roles.

``make_site_trial`` registers ``tests/data/protocols/three-arm-blinded.yaml`` (three arms 2:1:1,
double-blind, stratified by site and a screening form), writes a hospital export (Patients,
hemoglobin Observations, pregnancy Conditions) for the patients below, syncs it - so their data
is kept for screening - and gives roles to users. ``trial.workspace("coord-a")`` acts as one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from edc import config
from edc.actions import protocol, sync, users
from edc.actions.workspace import Workspace
from edc.clock import FixedClock
from tests.fixtures.database import Database

PROTOCOL = Path(__file__).parents[1] / "data" / "protocols" / "three-arm-blinded.yaml"
STUDY = "OTHER-01"
SCREENING = dt.date(2027, 3, 1)
# A clock at a non-UTC offset, the morning after screening.
NOW = dt.datetime(2027, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=4)))
SITES = {"A1": "Alpha Hospital", "B2": "Beta Clinic"}
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"

# patient id -> (hospital, birth date, hemoglobin g/dL or None, days before screening, pregnant)
PATIENTS: dict[str, tuple[str, str, float | None, int, bool]] = {
    "p-ok": ("Alpha Hospital", "1970-05-01", 12.1, 5, False),
    "p-anemic": ("Alpha Hospital", "1961-02-11", 7.5, 3, False),
    "p-nolab": ("Alpha Hospital", "1980-08-20", None, 0, False),
    "p-stale": ("Alpha Hospital", "1975-01-30", 11.0, 31, False),
    "p-boundary": ("Alpha Hospital", "1990-12-24", 10.0, 30, False),
    "p-pregnant": ("Alpha Hospital", "1994-06-07", 13.0, 2, True),
    "p-minor": ("Beta Clinic", "2012-04-04", 12.5, 4, False),
    "p-b-ok": ("Beta Clinic", "1958-03-15", 14.2, 6, False),
    "p-nosite": ("Gamma Infirmary", "1960-01-01", 12.0, 1, False),
}
USERS = {
    "coord-a": [("site_staff", "A1")],
    "inv-a": [("investigator", "A1")],
    "pi-a": [("principal_investigator", "A1")],
    "coord-b": [("site_staff", "B2")],
    "inv-b": [("investigator", "B2")],
    "monitor": [("monitor", None)],
    "stat": [("statistician", None)],
    "unblinded": [("unblinded_statistician", None)],
    "dm": [("data_manager", None)],
}


def patient(pid: str, hospital: str, birth: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"versionId": "1", "lastUpdated": "2027-02-01T08:00:00+01:00"},
        "birthDate": birth,
        "managingOrganization": {"reference": f"Organization/{pid}-org", "display": hospital},
    }


def hemoglobin(pid: str, value: float, days_before: int, version: str = "1") -> dict[str, Any]:
    when = SCREENING - dt.timedelta(days=days_before)
    return {
        "resourceType": "Observation",
        "id": f"{pid}-hb",
        "meta": {"versionId": version, "lastUpdated": f"{when.isoformat()}T12:00:00+01:00"},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "718-7", "display": "Hemoglobin"}]},
        "subject": {"reference": f"Patient/{pid}"},
        # Late in the day, in the hospital's own offset: the date is what counts.
        "effectiveDateTime": f"{when.isoformat()}T23:10:00+01:00",
        "valueQuantity": {"value": value, "unit": "g/dL", "system": "http://unitsofmeasure.org"},
    }


def pregnancy(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"{pid}-pregnancy",
        "meta": {"versionId": "1", "lastUpdated": "2027-02-10T08:00:00+01:00"},
        "code": {"coding": [{"system": SNOMED, "code": "77386006", "display": "Pregnancy"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "recordedDate": "2027-02-10",
    }


def write_export(directory: Path, extra: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[dict[str, Any]]] = {"Patient": [], "Observation": [], "Condition": []}
    for pid, (hospital, birth, hb, days, pregnant) in PATIENTS.items():
        files["Patient"].append(patient(pid, hospital, birth))
        if hb is not None:
            files["Observation"].append(hemoglobin(pid, hb, days))
        if pregnant:
            files["Condition"].append(pregnancy(pid))
    for kind, resources in (extra or {}).items():
        files.setdefault(kind, []).extend(resources)
    for kind, resources in files.items():
        lines = b"".join(orjson.dumps(r) + b"\n" for r in resources)
        (directory / f"{kind}.ndjson").write_bytes(lines)
    return directory


@dataclasses.dataclass
class SiteTrial:
    database: Database
    settings: config.Settings
    export: Path
    clock: FixedClock

    @contextlib.contextmanager
    def workspace(self, user: str) -> Iterator[Workspace]:
        with Workspace.open(self.settings, clock=self.clock, user=user) as workspace:
            yield workspace

    def sync(self) -> sync.SyncResult:
        return sync.sync(
            self.settings, sync.SyncRequest(study=STUDY, source_dir=self.export), clock=self.clock
        )

    @property
    def source(self) -> str:
        return str(self.export.resolve())

    def count(self, table: str, where: str = "1 = 1") -> int:
        from sqlalchemy import text

        with self.database.engine.connect() as connection:
            return int(
                connection.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()
            )


def make_site_trial(database: Database, tmp_path: Path) -> SiteTrial:
    settings = config.Settings(data_dir=tmp_path / "data", database_url=database.url)
    clock = FixedClock(NOW)
    protocol.register(settings, PROTOCOL, clock=clock)
    trial = SiteTrial(database, settings, write_export(tmp_path / "hospital"), clock)
    with trial.workspace("admin") as workspace:
        users.add(workspace, "admin", "The administrator")
        users.grant(workspace, "admin", STUDY, "admin")
        for name, roles in USERS.items():
            users.add(workspace, name, name.replace("-", " ").title())
            for role, site in roles:
                users.grant(workspace, name, STUDY, role, site)
    trial.sync()
    return trial

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
from sqlalchemy import text

from edc import config
from edc.actions import protocol, sync, users
from edc.actions.workspace import Workspace
from edc.clock import FixedClock
from edc.compiler import CompiledStudy
from edc.forms.response import build_response
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
        "valueQuantity": {
            "value": value,
            "unit": "g/dL",
            "system": "http://unitsofmeasure.org",
            "code": "g/dL",
        },
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
    compiled: CompiledStudy
    study: str = STUDY

    @contextlib.contextmanager
    def workspace(self, user: str) -> Iterator[Workspace]:
        with Workspace.open(self.settings, clock=self.clock, user=user) as workspace:
            yield workspace

    def sync(self) -> sync.SyncResult:
        return sync.sync(
            self.settings,
            sync.SyncRequest(study=self.study, source_dir=self.export),
            clock=self.clock,
        )

    def add(self, kind: str, *resources: dict[str, Any]) -> None:
        """Append resources to the hospital export (the next sync reads them)."""
        with (self.export / f"{kind}.ndjson").open("ab") as export:
            for resource in resources:
                export.write(orjson.dumps(resource) + b"\n")

    def frailty_form(self, patient_id: str, level: str | None, day: dt.date = SCREENING) -> None:
        """The screening form with the stratification factor (None: left unanswered)."""
        (questionnaire,) = [
            q for url, q in self.compiled.questionnaires().items() if "frailty" in url
        ]
        answers = {} if level is None else {"frailty": level}
        response = build_response(
            questionnaire,
            answers,
            subject=f"Patient/{patient_id}",
            authored=f"{day.isoformat()}T10:00:00+01:00",
            response_id=f"{patient_id}-frailty",
            status="completed" if level else "in-progress",
        )
        response["meta"] = {"versionId": "1", "lastUpdated": f"{day.isoformat()}T10:00:00+01:00"}
        self.add("QuestionnaireResponse", response)

    @property
    def source(self) -> str:
        return str(self.export.resolve())

    def count(self, table: str, where: str = "1 = 1") -> int:
        (row,) = self.rows(f"SELECT count(*) FROM {table} WHERE {where}")
        return int(row[0])

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with self.database.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]


def make_site_trial(
    database: Database, tmp_path: Path, *, changes: dict[str, str] | None = None
) -> SiteTrial:
    """The study registered (``changes``: text replacements in the protocol), data synced.

    :param changes: e.g. a different randomization method, or open-label blinding.
    """
    settings = config.Settings(data_dir=tmp_path / "data", database_url=database.url)
    clock = FixedClock(NOW)
    path = PROTOCOL
    if changes:
        text = PROTOCOL.read_text()
        for old, new in changes.items():
            if old not in text:
                raise ValueError(f"{old!r} is not in the protocol")
            text = text.replace(old, new)
        path = tmp_path / "protocol.yaml"
        path.write_text(text)
    registered = protocol.register(settings, path, clock=clock)
    trial = SiteTrial(
        database, settings, write_export(tmp_path / "hospital"), clock, registered.checked.compiled
    )
    with trial.workspace("admin") as workspace:
        users.add(workspace, "admin", "The administrator")
        users.grant(workspace, "admin", STUDY, "admin")
        for name, roles in USERS.items():
            users.add(workspace, name, name.replace("-", " ").title())
            for role, site in roles:
                users.grant(workspace, name, STUDY, role, site)
    trial.sync()
    return trial


MINIMIZATION = {
    "  method: permuted-block\n  block_sizes: [4, 8]\n": (
        "  method: minimization\n  minimization: {probability: 0.8}\n"
    )
}
OPEN_LABEL = {"  blinding: double-blind\n": "  blinding: open-label\n"}

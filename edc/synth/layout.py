"""The generated directory: Bulk Data NDJSON files, ``manifest.json`` and ``truth/`` sidecars.

::

    manifest.json                Bulk-style manifest (output[] with type, url, count, sha256;
                                 "extension" holds the generator parameters and study facts)
    Organization.ndjson          the sites' hospitals
    Patient.ndjson ...           one file per resource type, one resource per line
    truth/patients.ndjson        per patient: site, screening date, criteria failed, enrolled
    truth/allocations.ndjson     per subject: arm, stratum, block, position (single-blind studies
                                 send no arm to the EHR: this is where tests find it)
    truth/visits.ndjson          per subject and visit: target, window, date, status
    truth/defects.ndjson         injected data-quality defects (file, line, resource, item)

Every file lists patients in the same order (patient-major): ``read_patients`` merges the
type files patient by patient with one pending line per file, never the whole directory.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

from edc import errors

MANIFEST = "manifest.json"
TRUTH = "truth"
TRUTH_FILES = ("patients", "allocations", "visits", "defects")
GENERATOR = "edc.synth"
# Write order of the resource files; other types follow alphabetically.
TYPE_ORDER = (
    "Organization",
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "Consent",
    "ResearchSubject",
    "Encounter",
    "QuestionnaireResponse",
    "Procedure",
    "AdverseEvent",
)
_OWNER_FIELDS = ("subject", "patient", "individual")


def type_file(resource_type: str) -> str:
    return f"{resource_type}.ndjson"


def sort_types(types: Mapping[str, Any]) -> list[str]:
    known = [t for t in TYPE_ORDER if t in types]
    return known + sorted(t for t in types if t not in TYPE_ORDER)


def owner(resource: Mapping[str, Any]) -> str | None:
    """The id of the Patient a resource belongs to (None: shared, e.g. an Organization)."""
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    for field in _OWNER_FIELDS:
        value = resource.get(field)
        if isinstance(value, Mapping):
            reference = value.get("reference")
            if isinstance(reference, str) and reference.startswith("Patient/"):
                return reference.removeprefix("Patient/")
    return None


def load_key(resource: Mapping[str, Any]) -> tuple[str, str] | None:
    """The identifier a resource is conditionally created on (its first identifier)."""
    identifier = resource.get("identifier")
    if isinstance(identifier, list):
        identifier = identifier[0] if identifier else None
    if isinstance(identifier, Mapping):
        system, value = identifier.get("system"), identifier.get("value")
        if isinstance(system, str) and isinstance(value, str):
            return system, value
    return None


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a generated directory.

    :raises errors.BadInputError: when it is missing, unreadable, or not ours.
    """
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise errors.BadInputError(
            f"{directory} is not a generated directory: no {MANIFEST}",
            "point at the --out directory of `edc generate`",
        ) from None
    except (OSError, ValueError) as exc:
        raise errors.BadInputError(f"cannot read {path}: {exc}") from None
    extension = manifest.get("extension") if isinstance(manifest, dict) else None
    if not isinstance(extension, dict) or extension.get("generator") != GENERATOR:
        raise errors.BadInputError(f"{path} was not written by `edc generate`")
    result: dict[str, Any] = manifest
    return result


@dataclasses.dataclass(frozen=True)
class BadLine:
    """A line that is not a JSON object (kept for the report, never loaded)."""

    file: str
    line: int
    reason: str


@dataclasses.dataclass
class PatientRecord:
    """One patient's resources across all files, plus the unreadable lines met on the way."""

    patient_id: str
    resources: list[dict[str, Any]]


class _Cursor:
    """One file with one pending parsed line."""

    def __init__(self, path: Path, bad: list[BadLine]) -> None:
        self.name = path.name
        self._stream: IO[bytes] = path.open("rb")
        self._bad = bad
        self.line = 0
        self.pending: dict[str, Any] | None = None
        self.advance()

    def advance(self) -> None:
        self.pending = None
        for raw in self._stream:
            self.line += 1
            if not raw.strip():
                continue
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                self._bad.append(BadLine(self.name, self.line, f"not JSON ({exc})"))
                continue
            if isinstance(parsed, dict):
                self.pending = parsed
                return
            self._bad.append(BadLine(self.name, self.line, "not a JSON object"))

    def close(self) -> None:
        self._stream.close()


def read_patients(
    directory: Path, manifest: Mapping[str, Any], bad: list[BadLine]
) -> Iterator[PatientRecord]:
    """Every patient with all of their resources, in file order (one line per file in memory).

    Lines that are not JSON go to ``bad``; lines left over at the end (a resource whose
    patient is not in Patient.ndjson, or out of patient order) are reported there too.
    """
    names = [
        item["url"]
        for item in manifest.get("output", [])
        if item.get("type") not in ("Organization", "Patient")
    ]
    patients = _Cursor(directory / type_file("Patient"), bad)
    cursors = [_Cursor(directory / name, bad) for name in names]
    try:
        while patients.pending is not None:
            patient = patients.pending
            pid = str(patient.get("id"))
            resources = [patient]
            for cursor in cursors:
                while cursor.pending is not None and owner(cursor.pending) == pid:
                    resources.append(cursor.pending)
                    cursor.advance()
            yield PatientRecord(pid, resources)
            patients.advance()
        for cursor in cursors:
            while cursor.pending is not None:
                left = f"{cursor.pending.get('resourceType')}/{cursor.pending.get('id')}"
                bad.append(BadLine(cursor.name, cursor.line, f"{left}: no patient in file order"))
                cursor.advance()
    finally:
        for cursor in (patients, *cursors):
            cursor.close()


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Parsed JSON objects of an NDJSON file (for small files: Organization, truth)."""
    with path.open("rb") as stream:
        for raw in stream:
            if raw.strip():
                yield orjson.loads(raw)

"""One received resource: parsed once, its identity read, and checked to be storable R4.

Input that cannot be stored as a resource (not JSON, not an object, no resourceType or id,
an unreadable versionId or lastUpdated) becomes a ``Rejected`` that keeps the text exactly as
received. Everything else is a ``Parsed``, stored raw whatever else is wrong with it; problems
found later are recorded against the stored row.

R4 structure is checked with fhirkit (strict R4 4.0.1, about 10 us for a typical resource).
QuestionnaireResponses are the exception: fhirkit needs about 100 us for one, ten times the
budget of the ingest hot path, so their top-level elements are checked here and their items
against the compiled Questionnaire (``edc.sync.qcheck``), which covers far more than structure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import fhirkit
import orjson

# R4 id: [A-Za-z0-9\-\.]{1,64}
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# A resource type name: letters only (and it must fit the String(64) columns that hold it).
_RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{0,63}$")
# JSON's escape of U+0000: a resource whose text has it may hold a NUL in a string.
_NUL_ESCAPE = "\\u0000"
QR_STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})


@dataclasses.dataclass(frozen=True, slots=True)
class Incoming:
    """A resource as delivered, where it came from (``file:line`` or page URL), and the type it
    should be (from the file name or the search), for counting input that cannot be read."""

    raw: bytes
    location: str
    type_hint: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Parsed:
    """A storable resource: parsed JSON, the exact text, and its identity."""

    resource: dict[str, Any]
    text: str
    sha256: str
    resource_type: str
    logical_id: str
    version_id: str | None
    last_updated: dt.datetime | None
    location: str
    patient_id: str | None

    @property
    def version_key(self) -> str:
        """meta.versionId, or the text's hash when the server gives no version."""
        return self.version_id if self.version_id is not None else f"sha256:{self.sha256}"

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.logical_id}"


@dataclasses.dataclass(frozen=True, slots=True)
class Rejected:
    """Input that is not a storable resource (kept as text, with the reason)."""

    text: str
    sha256: str
    location: str
    kind: str
    message: str
    field_path: str | None = None
    resource_type: str | None = None


def parse(incoming: Incoming) -> Parsed | Rejected:
    """Parse one delivered resource."""
    raw = incoming.raw
    sha256 = hashlib.sha256(raw).hexdigest()
    # Raw NUL bytes are never valid JSON (so never a Parsed), and PostgreSQL text cannot hold
    # them: the kept text shows each as JSON's escape (the SHA-256 is of the bytes received).
    text = raw.decode("utf-8", errors="replace").replace("\x00", _NUL_ESCAPE)
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejected(
            text, sha256, incoming.location, "not_json", f"not JSON: {exc}",
            resource_type=incoming.type_hint,
        )  # fmt: skip
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return Rejected(
            text, sha256, incoming.location, "not_a_resource", "no resourceType",
            resource_type=incoming.type_hint,
        )  # fmt: skip
    if not _RESOURCE_TYPE.match(resource["resourceType"]):
        return Rejected(
            text, sha256, incoming.location, "not_a_resource",
            f"resourceType {resource['resourceType']!r} is not a FHIR resource type name",
            resource_type=incoming.type_hint,
        )  # fmt: skip
    logical_id = resource.get("id")
    if not isinstance(logical_id, str) or not _ID.match(logical_id):
        return Rejected(
            text, sha256, incoming.location, "invalid_resource",
            f"id {logical_id!r} is not a FHIR id", f"{resource['resourceType']}.id",
            resource["resourceType"],
        )  # fmt: skip
    meta = resource.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    version_id = meta.get("versionId")
    last_updated = instant(meta.get("lastUpdated"))
    if (
        not isinstance(version_id, str | None)
        or (version_id is not None and not _ID.match(version_id))
        or ("lastUpdated" in meta and last_updated is None)
    ):
        return Rejected(
            text, sha256, incoming.location, "invalid_resource",
            "meta.versionId must be a FHIR id and meta.lastUpdated an instant",
            f"{resource['resourceType']}.meta", resource["resourceType"],
        )  # fmt: skip
    return Parsed(
        resource, text, sha256, resource["resourceType"], logical_id, version_id, last_updated,
        incoming.location, owner(resource),
    )  # fmt: skip


# Where resources name the patient they are about, in the order tried.
_OWNER_FIELDS = ("subject", "patient", "individual", "beneficiary")


def owner(resource: Mapping[str, Any]) -> str | None:
    """The id of the Patient a resource belongs to (its own id for a Patient), or None."""
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    for field in _OWNER_FIELDS:
        patient_id = reference_id(resource.get(field), "Patient")
        if patient_id is not None:
            return patient_id
    return None


def r4_problems(
    parsed: Parsed, questionnaires: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """``(field path, message)`` for what makes the resource invalid R4 (errors only).

    :param questionnaires: canonical URLs (no version) of the study's Questionnaires: responses
        to them are checked by ``response_header_problems`` and against their Questionnaire
        instead of by fhirkit.
    """
    if _NUL_ESCAPE in parsed.text:
        where = nul_path(parsed.resource, parsed.resource_type)
        if where is not None:
            # R4 strings hold no control characters but tab and line breaks; NUL in particular
            # cannot be stored in PostgreSQL text, so nothing is derived from such a resource.
            return [(where, "contains a NUL character (\\u0000), which FHIR strings cannot hold")]
    if parsed.resource_type == "QuestionnaireResponse":
        canonical = parsed.resource.get("questionnaire")
        if isinstance(canonical, str) and canonical.split("|", 1)[0] in questionnaires:
            return response_header_problems(parsed.resource)
    try:
        issues = fhirkit.validate(parsed.text)
    except fhirkit.ParseError as exc:  # cannot happen after orjson parsed it; kept for safety
        return [(parsed.resource_type, f"not JSON: {exc}")]
    return [(issue.path, issue.message) for issue in issues if issue.severity in ("error", "fatal")]


def nul_path(value: Any, path: str) -> str | None:
    """The path of the first string (value or key) in ``value`` holding U+0000, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, inner in value.items():
            if "\x00" in key:
                return path
            found = nul_path(inner, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found = nul_path(inner, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def response_header_problems(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The R4 elements of a QuestionnaireResponse outside ``item`` that sync relies on."""
    problems = []
    status = resource.get("status")
    if not isinstance(status, str) or status not in QR_STATUSES:  # a list or map is unhashable
        problems.append(("QuestionnaireResponse.status", f"{resource.get('status')!r} is not "
                         "an R4 QuestionnaireResponse status"))  # fmt: skip
    if not isinstance(resource.get("questionnaire"), str):
        problems.append(("QuestionnaireResponse.questionnaire", "missing or not a canonical"))
    if reference_id(resource.get("subject"), "Patient") is None:
        problems.append(("QuestionnaireResponse.subject", "must reference a Patient"))
    authored = resource.get("authored")
    if authored is not None and date_time(authored) is None:
        problems.append(("QuestionnaireResponse.authored", f"{authored!r} is not a dateTime"))
    return problems


def reference_id(value: Any, resource_type: str) -> str | None:
    """The id in ``{"reference": "[base/]Type/id[/_history/v]"}`` when it names that type."""
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        return None
    parts = reference.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2] == resource_type and _ID.match(parts[-1]):
        return parts[-1]
    return None


def instant(value: Any) -> dt.datetime | None:
    """An aware datetime from FHIR instant text, or None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def date_time(value: Any) -> dt.datetime | None:
    """A FHIR dateTime as an aware instant (a date alone is midnight UTC), or None."""
    if not isinstance(value, str):
        return None
    if "T" in value:
        return instant(value)
    day = date(value)
    return dt.datetime.combine(day, dt.time(), dt.UTC) if day is not None else None


def date(value: Any) -> dt.date | None:
    """The calendar day of a FHIR date or dateTime (in its own offset), or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None

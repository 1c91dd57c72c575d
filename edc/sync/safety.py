"""AdverseEvent -> adverse_event (mapping guide §6: AE Clinical Research R4 backport, or core).

* term: ``event.coding`` with MedDRA (or our CTCAE CodeSystem) whose code is a CTCAE term of
  the study's version;
* grade: the ``ae-grade`` extension (NCIt C41338..C41337, C48275 = grade 5);
* serious: ``seriousness`` (``serious`` / ``non-serious``);
* relatedness: the backport's ``suspect-entity`` causality, or core ``suspectEntity``
  causality assessment (R4 causality codes or NCIt), onto the CTCAE attribution scale;
* onset ``date``, resolution ``resolve-date`` (the day, and the instant when a time is given),
  outcome (R4 code, or NCIt mapped to it; none given means ``unknown``), reported
  ``recordedDate``; ``event.text`` as the verbatim ("Other, specify") description;
* consistency: the grade must be one CTCAE defines for the term; grade 5 goes with outcome
  fatal and the seriousness criterion "results in death" (backport), and the reverse.

An event belongs to the study when it names one of the study's ResearchStudies, or names none
and its patient is a subject. Anything missing or unknown is a problem: the event stays raw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import select

from edc.sync.incoming import date, date_time, reference_id
from edc.sync.scope import StudyScope
from edc.sync.store import Stored
from edc.sync.work import UNKNOWN_SUBJECT, Work, latest_versions, newer, update_reason
from edc.warehouse import audit
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.safety import AdverseEventRow
from edc.warehouse.tables.subjects import SubjectRow

BACKPORT = "http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
R4_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
GRADES = {"C41338": 1, "C41339": 2, "C41340": 3, "C41337": 4, "C48275": 5}
# NCIt relatedness (backport value set, plus C53259 Probably Related) and R4 causality-assess
# codes onto the CTCAE attribution scale. "Related"/"Certain" is the top of both: definite.
ATTRIBUTION = {
    "C53256": "unrelated",
    "C53257": "unlikely",
    "C53258": "possible",
    "C53259": "probable",
    "C53260": "definite",
    "Unlikely": "unlikely",
    "Possible": "possible",
    "Probably-Likely": "probable",
    "Certain": "definite",
}
OUTCOMES = {
    "C49498": "resolved",
    "C49496": "recovering",
    "C49494": "ongoing",
    "C49495": "resolvedWithSequelae",
    "C48275": "fatal",
}
R4_OUTCOMES = frozenset({*OUTCOMES.values(), "unknown"})


def normalize_adverse_events(work: Work, items: Sequence[Stored]) -> None:
    """Record the study's adverse events among ``items``."""
    scope = work.scope
    latest = latest_versions(items)
    work.load_subjects(s.parsed.patient_id for s in latest if s.parsed.patient_id)
    existing = _existing(work, latest)
    reported = work.already_reported(s.raw_id for s in latest if s.state == "unchanged")
    for stored in latest:
        if stored.raw_id in existing or stored.raw_id in reported:
            continue
        resource = stored.parsed.resource
        studies = [reference_id(ref, "ResearchStudy") for ref in resource.get("study") or ()]
        ours = any(ref in scope.research_studies for ref in studies)
        patient_id = stored.parsed.patient_id
        subject_id = work.subject_of(patient_id) if patient_id else None
        if subject_id is None:
            if ours:
                message = f"Patient/{patient_id} is not an enrolled subject of {scope.code} here"
                work.problem(stored, UNKNOWN_SUBJECT, message, "AdverseEvent.subject")
            continue
        if studies and not ours:
            continue  # the subject's event in another study
        fields = _fields(work, stored)
        if fields is None:
            continue
        fields.update(subject_id=subject_id, raw_resource_id=stored.raw_id)
        earlier = [
            existing_id for raw_id, _ in stored.previous if (existing_id := existing.get(raw_id))
        ]
        work.guarded(stored, partial(_apply, work, stored, earlier, fields))


def _fields(work: Work, stored: Stored) -> dict[str, Any] | None:
    fields, wrong = event_fields(work.scope, stored.parsed.resource)
    for path, message in wrong:
        work.problem(stored, "invalid_adverse_event", message, path)
    return fields


def event_fields(
    scope: StudyScope, resource: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The adverse_event columns an AdverseEvent gives (without subject and raw resource), or
    None with what is wrong (FHIRPath, message); pure, so ``edc.sync.derived`` re-derives the
    same way."""
    wrong: list[tuple[str, str]] = []
    term = _term(scope, resource.get("event"))
    if term is None:
        wrong.append(("AdverseEvent.event", "no MedDRA code of a CTCAE term of the study"))
    grade = _grade(resource.get("extension"))
    if grade is None:
        wrong.append(("AdverseEvent.extension", "no CTCAE grade (ae-grade extension)"))
    elif term is not None and grade not in scope.ctcae_grades.get(term[0], {grade}):
        defined = ", ".join(map(str, sorted(scope.ctcae_grades[term[0]])))
        message = f"grade {grade} is not defined for {term[1]} (grades: {defined})"
        wrong.append(("AdverseEvent.extension", message))
    serious = _codes(resource.get("seriousness"))
    if not {"serious", "non-serious"} & serious:
        wrong.append(("AdverseEvent.seriousness", "missing or not serious/non-serious"))
    attribution = _attribution(resource)
    if attribution is None:
        wrong.append(("AdverseEvent.suspectEntity", "no relatedness (causality assessment)"))
    onset = date(resource.get("date"))
    if onset is None:
        wrong.append(("AdverseEvent.date", "no onset date"))
    resolved = _resolved(resource.get("extension"))
    if resolved is not None and onset is not None and resolved < onset:
        wrong.append(("AdverseEvent.extension", f"resolved {resolved} before onset {onset}"))
    outcome = _outcome(resource.get("outcome"))
    death = _results_in_death(resource.get("extension"))
    if grade is not None and (grade == 5) != (outcome == "fatal"):
        wrong.append(
            (
                "AdverseEvent.outcome",
                f"grade {grade} with outcome {outcome}: grade 5 "
                "(death) and outcome fatal go together",
            )
        )
    if grade is not None and (grade == 5) != death:
        wrong.append(
            (
                "AdverseEvent.extension",
                f"grade {grade}: grade 5 (death) and the "
                "seriousness criterion results in death go together",
            )
        )
    if death and "serious" not in serious:
        wrong.append(("AdverseEvent.seriousness", "results in death, but not serious"))
    if wrong or term is None:
        return None, wrong
    return {
        "ctcae_term": term[1],
        "meddra_llt_code": term[0],
        "grade": grade,
        "serious": "serious" in serious,
        "attribution": attribution,
        "verbatim": verbatim(resource.get("event")),
        "onset_date": onset,
        "onset_at": instant(resource.get("date")),
        "resolution_date": resolved,
        "resolved_at": instant(resolve_value(resource.get("extension"))),
        "outcome": outcome,
        "reported_at": date_time(resource.get("recordedDate")),
    }, wrong


def _apply(work: Work, stored: Stored, earlier: list[int], fields: dict[str, Any]) -> None:
    session = work.session
    if not earlier:
        session.add(AdverseEventRow(**fields))
        return
    row = session.get_one(AdverseEventRow, earlier[0])
    shown = session.get(RawResourceRow, row.raw_resource_id) if row.raw_resource_id else None
    if (
        shown is not None
        and not stored.links_to
        and not newer(stored.parsed.version_id, shown.version_id)
    ):
        return  # an older version delivered late: the newer one stays
    with audit.reason(session, update_reason(stored)):
        for name, value in fields.items():
            if getattr(row, name) != value:
                setattr(row, name, value)


def _existing(work: Work, items: Sequence[Stored]) -> dict[int, int]:
    """raw_resource_id -> adverse_event id, for every stored version of these events."""
    wanted = sorted({s.raw_id for s in items} | {r for s in items for r, _ in s.previous})
    found: dict[int, int] = {}
    for start in range(0, len(wanted), 2_000):
        rows = work.session.execute(
            select(AdverseEventRow.raw_resource_id, AdverseEventRow.id)
            .join(SubjectRow, SubjectRow.id == AdverseEventRow.subject_id)
            .where(
                SubjectRow.study_id == work.scope.study_id,
                AdverseEventRow.raw_resource_id.in_(wanted[start : start + 2_000]),
            )
        )
        found.update({int(raw): int(event) for raw, event in rows if raw is not None})
    return found


def _term(scope: StudyScope, event: Any) -> tuple[str, str] | None:
    codings = event.get("coding", ()) if isinstance(event, dict) else ()
    for coding in codings:
        if isinstance(coding, dict) and coding.get("system") in scope.ctcae_systems:
            code = str(coding.get("code"))
            if code in scope.ctcae:
                return code, scope.ctcae[code]
    return None


def _codes(concept: Any) -> set[str]:
    codings = concept.get("coding", ()) if isinstance(concept, dict) else ()
    return {str(c.get("code")) for c in codings if isinstance(c, dict)}


def _extensions(extensions: Any, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in extensions or ()
        if isinstance(e, dict) and str(e.get("url", "")).endswith(f"/{name}")
    ]


def _grade(extensions: Any) -> int | None:
    for extension in _extensions(extensions, "ae-grade"):
        for code in _codes(extension.get("valueCodeableConcept")):
            if code in GRADES:
                return GRADES[code]
    return None


def resolve_value(extensions: Any) -> Any:
    for extension in _extensions(extensions, "resolve-date"):
        return extension.get("valueDateTime") or extension.get("valueDate")
    return None


def _resolved(extensions: Any) -> dt.date | None:
    return date(resolve_value(extensions))


def instant(value: Any) -> dt.datetime | None:
    """The instant of a FHIR dateTime that has a time (None for a date alone: day precision)."""
    return date_time(value) if isinstance(value, str) and "T" in value else None


def verbatim(event: Any) -> str | None:
    text = event.get("text") if isinstance(event, dict) else None
    return text.strip() or None if isinstance(text, str) else None


def _results_in_death(extensions: Any) -> bool:
    """Whether a backport seriousness-criteria extension says "results in death" (NCIt C48275)."""
    for criterion in _extensions(extensions, "seriousness-criteria"):
        parts = {
            str(p.get("url")): p for p in criterion.get("extension", ()) if isinstance(p, dict)
        }
        code = _codes(parts.get("criterionCode", {}).get("valueCodeableConcept"))
        if "C48275" in code and parts.get("criterionPresent", {}).get("valueBoolean", True):
            return True
    return False


def _attribution(resource: dict[str, Any]) -> str | None:
    found: list[str] = []
    for entity in _extensions(resource.get("extension"), "suspect-entity"):
        for causality in _extensions(entity.get("extension"), "causality") or [
            e for e in entity.get("extension", ()) if e.get("url") == "causality"
        ]:
            for part in causality.get("extension", ()):
                if part.get("url") == "entityRelatedness":
                    found += _codes(part.get("valueCodeableConcept"))
    for entity in resource.get("suspectEntity") or ():
        for causality in entity.get("causality", ()) if isinstance(entity, dict) else ():
            found += _codes(causality.get("assessment"))
    for code in found:
        if code in ATTRIBUTION:
            return ATTRIBUTION[code]
    return None


def _outcome(concept: Any) -> str:
    codings = concept.get("coding", ()) if isinstance(concept, dict) else ()
    for coding in codings:
        if coding.get("system") == R4_OUTCOME and coding.get("code") in R4_OUTCOMES:
            return str(coding["code"])
    for coding in codings:
        if coding.get("code") in OUTCOMES:
            return OUTCOMES[str(coding["code"])]
    return "unknown"

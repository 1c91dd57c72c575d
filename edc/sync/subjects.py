"""ResearchSubject -> subject, patient link, allocation; Consent -> consent; Encounter -> visit.

Mapping guide §7.1 and §7.3: a ResearchSubject of the study names its site through the
site-level ResearchStudy, its Subject ID in ``identifier`` (our ``sid/subject/<study>`` system
first) and the hospital Patient in ``individual``; the Patient id is kept in ``patient_link``
only. ``assignedArm`` becomes an allocation without list position (randomized outside edc);
a later change of arm is reported, never applied. A research Consent of an enrolled patient
becomes a consent row (form version from ``policy.uri``). An Encounter that instantiates a visit
PlanDefinition of the study becomes the actual visit (unscheduled visits are numbered UNS,
UNS.2, ...), and the forms already stored that name it are given that visit. Volumes are
small: these go through the ORM and its audit hooks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any

import orjson
from sqlalchemy import func, select

from edc import errors
from edc.sync import echo
from edc.sync.incoming import date, date_time, reference_id
from edc.sync.store import Stored
from edc.sync.work import UNKNOWN_SUBJECT, Work, latest_versions, update_reason
from edc.warehouse import audit, codes
from edc.warehouse.base import table_of
from edc.warehouse.tables.crf import FormResponseRow, VisitRow
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.subjects import AllocationRow, ConsentRow, PatientLinkRow, SubjectRow

_VISIT = table_of(VisitRow)
_CONSENT = table_of(ConsentRow)
_CONSENT_COLUMNS = ("subject_id", "form_version", "signed_at", "fhir_reference")
_VISIT_COLUMNS = ("subject_id", "visit_id", "visit_date", "encounter_reference")

INSTANTIATES = "http://hl7.org/fhir/StructureDefinition/workflow-instantiatesCanonical"
RESEARCH_SCOPE = ("http://terminology.hl7.org/CodeSystem/consentscope", "research")
NOT_A_VISIT = frozenset({"planned", "cancelled", "entered-in-error"})


def normalize_research_subjects(work: Work, items: Sequence[Stored]) -> list[str]:
    """Enroll or update the study's subjects; returns the patients enrolled in this batch."""
    enrolled = []
    for stored in latest_versions(echo.without_our_own(work, items)):
        resource = stored.parsed.resource
        study_ref = reference_id(resource.get("study"), "ResearchStudy")
        if study_ref is None or study_ref not in work.scope.research_studies:
            continue  # another study's subject
        fields = _subject_fields(work, stored, work.scope.research_studies[study_ref])
        if fields is None:
            continue
        if work.guarded(stored, partial(_apply_subject, work, stored, fields)):
            if fields["new_link"]:
                enrolled.append(fields["patient_id"])
    return enrolled


def _subject_fields(work: Work, stored: Stored, site_code: str | None) -> dict[str, Any] | None:
    resource, scope = stored.parsed.resource, work.scope
    patient_id = reference_id(resource.get("individual"), "Patient")
    code = _subject_code(resource.get("identifier"), scope.subject_systems)
    status = resource.get("status")
    arm = resource.get("assignedArm")
    wrong = []
    if patient_id is None:
        wrong.append(("ResearchSubject.individual", "must reference a Patient"))
    if code is None:
        wrong.append(("ResearchSubject.identifier", "no Subject ID"))
    if status not in codes.SUBJECT_STATUSES:
        wrong.append(("ResearchSubject.status", f"{status!r} is not an R4 status"))
    if site_code is None or site_code not in scope.sites:
        wrong.append(("ResearchSubject.study", "must name the site-level ResearchStudy"))
    if arm is not None and arm not in scope.arms:
        wrong.append(("ResearchSubject.assignedArm", f"{arm!r} is not an arm of the study"))
    for path, message in wrong:
        work.problem(stored, "invalid_subject", message, path)
    if wrong or site_code is None or patient_id is None:
        return None
    linked = work.subject_of(patient_id)
    period = resource.get("period")
    start = period.get("start") if isinstance(period, dict) else None
    return {
        "patient_id": patient_id,
        "code": code,
        "status": status,
        "site_id": scope.sites[site_code],
        "arm": arm,
        "randomized_at": date_time(start) or stored.parsed.last_updated or work.clock.now(),
        "new_link": linked is None,
    }


def _subject_code(identifiers: Any, systems: frozenset[str]) -> str | None:
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    values = [
        i for i in identifiers or () if isinstance(i, dict) and isinstance(i.get("value"), str)
    ]
    ours = [str(i["value"]) for i in values if i.get("system") in systems]
    found = ours or [str(i["value"]) for i in values]
    return found[0] if found else None


def _apply_subject(work: Work, stored: Stored, fields: dict[str, Any]) -> None:
    session, study_id = work.session, work.scope.study_id
    reason = update_reason(stored)
    subject = session.scalars(
        select(SubjectRow).where(
            SubjectRow.study_id == study_id, SubjectRow.subject_code == fields["code"]
        )
    ).one_or_none()
    if subject is None:
        subject = SubjectRow(
            study_id=study_id,
            site_id=fields["site_id"],
            subject_code=fields["code"],
            status=fields["status"],
        )
        session.add(subject)
        session.flush()
    elif subject.status != fields["status"]:
        with audit.reason(session, reason):
            subject.status = fields["status"]
    link = session.scalars(
        select(PatientLinkRow).where(
            PatientLinkRow.study_id == study_id,
            PatientLinkRow.source == work.source,
            PatientLinkRow.patient_id == fields["patient_id"],
        )
    ).one_or_none()
    if link is None:
        session.add(
            PatientLinkRow(
                study_id=study_id,
                source=work.source,
                patient_id=fields["patient_id"],
                subject_id=subject.id,
            )
        )
    elif link.subject_id != subject.id:
        with audit.reason(session, f"enrolled as subject {fields['code']}"):
            link.subject_id = subject.id
    session.flush()
    work.linked(fields["patient_id"], subject.id)
    if fields["arm"] is not None:
        _allocate(work, stored, subject, fields)


def _allocate(work: Work, stored: Stored, subject: SubjectRow, fields: dict[str, Any]) -> None:
    session = work.session
    allocation = session.scalars(
        select(AllocationRow).where(AllocationRow.subject_id == subject.id)
    ).one_or_none()
    if allocation is None:
        session.add(
            AllocationRow(
                study_id=work.scope.study_id,
                subject_id=subject.id,
                arm=fields["arm"],
                randomized_at=fields["randomized_at"],
            )
        )
    elif allocation.arm != fields["arm"]:
        work.problem(
            stored,
            "arm_changed",
            f"assignedArm changed at source from {allocation.arm!r} to {fields['arm']!r}; "
            "the allocation was kept",
            "ResearchSubject.assignedArm",
            rejected=False,
        )


def normalize_consents(work: Work, items: Sequence[Stored]) -> None:
    """Record research consents of enrolled subjects (others stay raw)."""
    fresh = echo.without_our_own(work, items)
    candidates = [s for s in latest_versions(fresh) if _is_research(s.parsed.resource)]
    work.load_subjects(s.parsed.patient_id for s in candidates if s.parsed.patient_id)
    wanted: list[tuple[Stored, int, Any, str]] = []
    for stored in candidates:
        resource = stored.parsed.resource
        subject_id = work.subject_of(stored.parsed.patient_id) if stored.parsed.patient_id else None
        if subject_id is None or resource.get("status") not in ("active", "inactive"):
            continue  # not (yet) a subject of this study, or never signed
        signed = date_time(resource.get("dateTime"))
        version = _form_version(resource)
        if signed is None or version is None:
            if signed is None:
                work.problem(stored, "invalid_consent", "no signature time", "Consent.dateTime")
            if version is None:
                work.problem(stored, "invalid_consent", "no consent form version (policy.uri)",
                             "Consent.policy")  # fmt: skip
            continue
        wanted.append((stored, subject_id, signed, version))
    if wanted:
        _apply_consents(work, wanted)


def _apply_consents(work: Work, wanted: Sequence[tuple[Stored, int, Any, str]]) -> None:
    """The batch's consents: known ones read in one query, new ones inserted at once (with their
    audit rows); changed ones, and all of them when the database refuses the batch insert, one
    by one in a savepoint (``_apply_consent``)."""
    session = work.session
    session.flush()  # subjects enrolled by this batch: consents refer to them
    subjects = sorted({subject_id for _, subject_id, _, _ in wanted})
    known: set[tuple[int, str]] = set()
    for start in range(0, len(subjects), 2_000):
        found = session.execute(
            select(ConsentRow.subject_id, ConsentRow.fhir_reference).where(
                ConsentRow.subject_id.in_(subjects[start : start + 2_000])
            )
        )
        known |= {(int(sid), str(ref)) for sid, ref in found if sid is not None}
    new: list[tuple[Stored, int, Any, str]] = []
    for item in wanted:
        stored, subject_id = item[0], item[1]
        key = (subject_id, stored.parsed.reference)
        if key in known:
            work.guarded(stored, partial(_apply_consent, work, *item))
        else:
            known.add(key)
            new.append(item)
    if not new:
        return
    rows = [(subject_id, version, signed, stored.parsed.reference)
            for stored, subject_id, signed, version in new]  # fmt: skip
    try:
        with session.begin_nested():
            work.writer.insert(_CONSENT, _CONSENT_COLUMNS, rows, what="consents")
    except errors.BadInputError:
        for item in new:
            work.guarded(item[0], partial(_apply_consent, work, *item))


def _apply_consent(work: Work, stored: Stored, subject_id: int, signed: Any, version: str) -> None:
    session = work.session
    reference = stored.reference
    row = session.scalars(
        select(ConsentRow).where(
            ConsentRow.subject_id == subject_id, ConsentRow.fhir_reference == reference
        )
    ).one_or_none()
    if row is None:
        session.add(
            ConsentRow(
                subject_id=subject_id,
                form_version=version,
                signed_at=signed,
                fhir_reference=reference,
            )
        )
    elif (row.form_version, row.signed_at) != (version, signed):
        with audit.reason(session, update_reason(stored)):
            row.form_version, row.signed_at = version, signed


def _is_research(resource: dict[str, Any]) -> bool:
    scope = resource.get("scope")
    codings = scope.get("coding", ()) if isinstance(scope, dict) else ()
    return any((c.get("system"), c.get("code")) == RESEARCH_SCOPE for c in codings)


def _form_version(resource: dict[str, Any]) -> str | None:
    for policy in resource.get("policy") or ():
        uri = policy.get("uri") if isinstance(policy, dict) else None
        if isinstance(uri, str) and uri.strip("/"):
            return uri.rstrip("/").rsplit("/", 1)[-1][:64]
    return None


def normalize_encounters(work: Work, items: Sequence[Stored]) -> None:
    """Record the actual visits: Encounters that instantiate a visit of the study."""
    visits = []
    for stored in latest_versions(items):
        url = _instantiates(stored.parsed.resource)
        if url is not None and url in work.scope.visits:
            visits.append((stored, *work.scope.visits[url]))
    work.load_subjects(s.parsed.patient_id for s, _, _ in visits if s.parsed.patient_id)
    wanted: list[_Visit] = []
    for stored, visit_id, unscheduled in visits:
        resource = stored.parsed.resource
        patient_id = stored.parsed.patient_id
        subject_id = work.subject_of(patient_id) if patient_id else None
        if subject_id is None:
            message = f"Patient/{patient_id} is not an enrolled subject of {work.scope.code} here"
            work.problem(stored, UNKNOWN_SUBJECT, message, "Encounter.subject")
            continue
        if resource.get("status") in NOT_A_VISIT:
            continue
        period = resource.get("period")
        day = date(period.get("start")) if isinstance(period, dict) else None
        if day is None:
            work.problem(stored, "invalid_visit", "no start date", "Encounter.period.start")
            continue
        wanted.append(_Visit(stored, subject_id, visit_id, unscheduled, day))
    if wanted:
        _apply_visits(work, wanted)


@dataclasses.dataclass(frozen=True, slots=True)
class _Visit:
    """An Encounter of an enrolled subject that is a visit of the study."""

    stored: Stored
    subject_id: int
    visit_id: str
    unscheduled: bool
    day: Any


def _apply_visits(work: Work, wanted: Sequence[_Visit]) -> None:
    """Record a batch's visits: the subjects' visits read in one query, numbered in memory,
    the new ones inserted at once (with their audit rows), and the responses that were waiting
    for them linked by one more query. When the database refuses the batch insert, each visit
    is applied on its own in a savepoint (``_apply_visit``), so the refused one becomes a
    problem and the others go in."""
    session = work.session
    session.flush()  # subjects enrolled by this batch: visits refer to them
    subjects = sorted({v.subject_id for v in wanted})
    known: dict[int, dict[str, tuple[str, Any]]] = {s: {} for s in subjects}  # ref -> (id, day)
    for start in range(0, len(subjects), 2_000):
        rows = session.execute(
            select(VisitRow.subject_id, VisitRow.encounter_reference, VisitRow.visit_id,
                   VisitRow.visit_date)
            .where(VisitRow.subject_id.in_(subjects[start : start + 2_000]))
        )  # fmt: skip
        for subject_id, reference, visit_id, day in rows:
            known[int(subject_id)][str(reference)] = (str(visit_id), day)
    new_rows: list[tuple[Any, ...]] = []
    new: list[_Visit] = []
    for visit in wanted:
        reference = visit.stored.reference
        visits = known[visit.subject_id]
        if reference in visits:
            if visits[reference][1] != visit.day:  # moved at the source: audited update
                work.guarded(visit.stored, partial(_apply_visit, work, visit))
                visits[reference] = (visits[reference][0], visit.day)
            continue
        taken = sum(
            1 for vid, _ in visits.values()
            if vid == visit.visit_id or vid.startswith(f"{visit.visit_id}.")
        )  # fmt: skip
        if taken and not visit.unscheduled:
            message = f"a second Encounter for visit {visit.visit_id}"
            work.problem(visit.stored, "duplicate_visit", message, "Encounter.extension")
            continue
        numbered = visit.visit_id if not taken else f"{visit.visit_id}.{taken + 1}"
        visits[reference] = (numbered, visit.day)
        new_rows.append((visit.subject_id, numbered, visit.day, reference))
        new.append(visit)
    if not new_rows:
        return
    try:
        with session.begin_nested():
            work.writer.insert(_VISIT, _VISIT_COLUMNS, new_rows, what="visits")
    except errors.BadInputError:
        for visit in new:
            work.guarded(visit.stored, partial(_apply_visit, work, visit))
        return
    _link_waiting_responses(work, {(row[0], row[3]): row[1] for row in new_rows})


def _instantiates(resource: dict[str, Any]) -> str | None:
    for extension in resource.get("extension") or ():
        if isinstance(extension, dict) and extension.get("url") == INSTANTIATES:
            value = extension.get("valueCanonical")
            if isinstance(value, str):
                return value.split("|", 1)[0]
    return None


def _apply_visit(work: Work, visit: _Visit) -> None:
    """One visit on its own (the fallback of ``_apply_visits``, and date changes)."""
    session = work.session
    stored, subject_id, visit_id, day = visit.stored, visit.subject_id, visit.visit_id, visit.day
    reference = stored.reference
    row = session.scalars(
        select(VisitRow).where(
            VisitRow.subject_id == subject_id, VisitRow.encounter_reference == reference
        )
    ).one_or_none()
    if row is not None:
        if row.visit_date != day:
            with audit.reason(session, update_reason(stored)):
                row.visit_date = day
        return
    taken = session.scalar(
        select(func.count()).where(
            VisitRow.subject_id == subject_id,
            (VisitRow.visit_id == visit_id) | VisitRow.visit_id.like(f"{visit_id}.%"),
        )
    )
    if taken and not visit.unscheduled:
        work.problem(stored, "duplicate_visit", f"a second Encounter for visit {visit_id}",
                     "Encounter.extension")  # fmt: skip
        return
    numbered = visit_id if not taken else f"{visit_id}.{int(taken) + 1}"
    session.add(
        VisitRow(
            subject_id=subject_id, visit_id=numbered, visit_date=day, encounter_reference=reference
        )
    )
    _link_waiting_responses(work, {(subject_id, reference): numbered})


def _link_waiting_responses(work: Work, visits: dict[tuple[int, str], str]) -> None:
    """Give new visits to the responses that name their Encounter but came before them.

    Responses are normalized with the visits known at the time; one whose Encounter arrives in
    a later batch (or run) would otherwise stay without its visit. ``visits``: (subject id,
    "Encounter/<id>") -> visit id; one query for all of them.
    """
    session = work.session
    subjects = sorted({subject_id for subject_id, _ in visits})
    for start in range(0, len(subjects), 2_000):
        waiting = session.execute(
            select(FormResponseRow, RawResourceRow.json_text)
            .join(RawResourceRow, RawResourceRow.id == FormResponseRow.raw_resource_id)
            .where(
                FormResponseRow.subject_id.in_(subjects[start : start + 2_000]),
                FormResponseRow.visit_id.is_(None),
            )
        ).all()
        for response, json_text in waiting:
            named = reference_id(orjson.loads(json_text).get("encounter"), "Encounter")
            reference = f"Encounter/{named}"
            visit_id = visits.get((response.subject_id, reference)) if named else None
            if visit_id is not None:
                with audit.reason(
                    session, f"{reference} (visit {visit_id}) arrived after the form"
                ):
                    response.visit_id = visit_id

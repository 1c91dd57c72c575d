"""The tabulation domains of `edc export` read from the eligibility decision and the EHR.

IE, LB, CM and PR (``edc.export.clinical`` makes the rows): each enrolled subject's screening
record (the criteria and the evidence they read), and the subject's Observations,
MedicationRequests and Procedures as received (``raw_resource``, by the patient link). Only
subjects count: patients who never enrolled stay out of every export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from edc.actions.workspace import Study
from edc.export import clinical
from edc.export.tables import Dataset
from edc.library import load_library
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.screening import ScreeningRecordRow, ScreeningResultRow
from edc.warehouse.tables.subjects import PatientLinkRow


def ehr_domains(
    session: Session,
    study: Study,
    usubjid: Callable[[int], str],
    references: Mapping[str, dt.date | None],
    tabulation: Sequence[Dataset],
) -> list[Dataset]:
    """IE, LB, CM and PR: each subject's eligibility decision and EHR resources."""
    links = session.execute(
        select(PatientLinkRow.subject_id, PatientLinkRow.source, PatientLinkRow.patient_id)
        .where(PatientLinkRow.study_id == study.id, PatientLinkRow.subject_id.is_not(None))
        .order_by(PatientLinkRow.subject_id)
    ).all()
    subject_of = {(link.source, link.patient_id): usubjid(link.subject_id) for link in links}
    outcomes: list[clinical.CriterionOutcome] = []
    evidence: dict[str, set[str]] = {}
    records = session.execute(
        select(
            ScreeningRecordRow.source,
            ScreeningRecordRow.patient_id,
            ScreeningRecordRow.as_of,
            ScreeningResultRow.criterion_id,
            ScreeningResultRow.exclusion,
            ScreeningResultRow.result,
            ScreeningResultRow.evidence,
        )
        .join(ScreeningResultRow, ScreeningResultRow.screening_record_id == ScreeningRecordRow.id)
        .where(ScreeningRecordRow.study_id == study.id)
    ).all()
    for r in records:
        subject = subject_of.get((r.source, r.patient_id))
        if subject is None:
            continue  # a patient who never enrolled: not trial data
        outcomes.append(
            clinical.CriterionOutcome(subject, r.criterion_id, r.exclusion, r.result, r.as_of)
        )
        for item in r.evidence or []:
            evidence.setdefault(subject, set()).add(str(item.get("reference", "")))
    resources = _resources(session, subject_of)
    observations = []
    for subject, references_seen in sorted(evidence.items()):
        for reference in sorted(references_seen):
            parts = reference.split("/")
            if len(parts) < 2 or parts[0] != "Observation":
                continue
            version = parts[3] if len(parts) == 4 and parts[2] == "_history" else None
            found = resources.get((subject, "Observation", parts[1], version)) or resources.get(
                (subject, "Observation", parts[1], None)
            )
            if found is not None:
                observations.append((subject, found))
    newest = sorted(
        (key[0], key[1], key[2], resource)
        for key, resource in resources.items()
        if key[3] is None
    )  # fmt: skip
    requests = [(s, r) for s, kind, _, r in newest if kind == "MedicationRequest" and _used(r)]
    procedures = [(s, r) for s, kind, _, r in newest if kind == "Procedure" and _used(r)]
    by_name = {d.name: d for d in tabulation}
    return [
        clinical.ie(study.code, study.protocol, outcomes, references),
        clinical.lb(study.code, observations, references),
        clinical.cm(study.code, requests, load_library().mme_factors, references),
        clinical.pr(
            study.code, procedures, _procedure_forms(study, by_name["qs"], by_name["sv"]),
            references,
        ),
    ]  # fmt: skip


def _resources(
    session: Session, subject_of: Mapping[tuple[str, str], str]
) -> dict[tuple[str, str, str, str | None], dict[str, Any]]:
    """The subjects' Observations, MedicationRequests and Procedures as received: keyed by
    (USUBJID, type, id, version), and by (USUBJID, type, id, None) for the newest version."""
    found: dict[tuple[str, str, str, str | None], dict[str, Any]] = {}
    rank: dict[tuple[str, str, str], tuple[str, str, int]] = {}
    for source, patient in sorted(subject_of):
        rows = session.execute(
            select(
                RawResourceRow.id,
                RawResourceRow.resource_type,
                RawResourceRow.logical_id,
                RawResourceRow.version_id,
                RawResourceRow.last_updated,
                RawResourceRow.json_text,
            ).where(
                RawResourceRow.source == source,
                RawResourceRow.patient_id == patient,
                RawResourceRow.direction == "received",
                RawResourceRow.resource_type.in_(("Observation", "MedicationRequest", "Procedure")),
            )
        ).all()
        subject = subject_of[source, patient]
        for row in rows:
            resource = orjson.loads(row.json_text)
            found[subject, row.resource_type, row.logical_id, row.version_id] = resource
            order = (
                row.last_updated.isoformat() if row.last_updated else "",
                (row.version_id or "").zfill(12),
                row.id,
            )
            key = (subject, row.resource_type, row.logical_id)
            if key not in rank or order > rank[key]:
                rank[key] = order
                found[(*key, None)] = resource
    return found


def _used(resource: Mapping[str, Any]) -> bool:
    return resource.get("status") not in ("entered-in-error", "not-done", "cancelled")


def _procedure_forms(study: Study, qs: Dataset, sv: Dataset) -> list[clinical.FormProcedure]:
    """One per response to a form of the procedure instrument (QS rows), dated by its visit."""
    forms = {
        f"{study.code.lower()}-{form.id}": form.title or form.id
        for form in study.protocol.forms
        if form.instrument == clinical.PROCEDURE_INSTRUMENT
    }
    dates = {(row[2], row[3]): row[4] for row in sv.rows}
    levels: dict[tuple[str, str, str], list[str]] = {}
    for row in qs.rows:  # USUBJID 2, QSCAT 3, QSTEST 5, QSORRES 7, VISIT 9
        if row[3] in forms:
            found = levels.setdefault((row[2], row[3], row[9]), [])
            if row[5] == "levels-treated":
                found.append(row[7])
    return [
        clinical.FormProcedure(
            subject, forms[category], visit,
            dt.date.fromisoformat(dates[subject, visit]) if dates.get((subject, visit)) else None,
            ", ".join(found),
        )
        for (subject, category, visit), found in sorted(levels.items())
    ]  # fmt: skip

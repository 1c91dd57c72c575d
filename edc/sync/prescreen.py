"""EHR data of patients who are not subjects: kept apart, at their site, for pre-screening only.

A sync receives a hospital's EHR resources (Patient, Observation, Condition, Procedure,
medications) for every referred patient. Those of patients who are not (yet) subjects of the
study go to ``screening_resource`` (per study and site, not audited, purged by the retention
rule), never to ``raw_resource`` next to the trial data; their site comes from the Patient
(``edc.trial.sites``). Once a patient is a subject - enrolled in edc, or arriving as a
ResearchSubject from the site - their EHR data is trial source data and is stored raw as
before (what was kept for screening moves over at enrollment).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import orjson
from sqlalchemy import select

from edc.sync.incoming import Parsed
from edc.sync.work import Work
from edc.trial.sites import site_of_patient
from edc.warehouse import screening
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.study import SiteRow

# Clinical data a hospital holds about any patient (as opposed to trial resources).
EHR_TYPES = frozenset(
    {"Patient", "Observation", "Condition", "Procedure", "MedicationRequest",
     "MedicationAdministration", "AllergyIntolerance", "DiagnosticReport"}
)  # fmt: skip


def split(work: Work, items: Sequence[Parsed]) -> tuple[list[Parsed], list[Parsed]]:
    """(resources to store raw, EHR resources of patients who are not subjects)."""
    ehr = [i for i in items if i.resource_type in EHR_TYPES and i.patient_id]
    work.load_subjects(i.patient_id for i in ehr if i.patient_id)
    screening_only = {
        id(item) for item in ehr if item.patient_id and work.subject_of(item.patient_id) is None
    }
    raw = [item for item in items if id(item) not in screening_only]
    return raw, [item for item in items if id(item) in screening_only]


def store(work: Work, items: Sequence[Parsed]) -> collections.Counter[tuple[str, str]]:
    """Keep ``items`` for screening; returns counts by (resource type, new/updated/unchanged)."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    if not items:
        return counts
    scope = work.scope
    sites = sorted(scope.sites.items())  # (code, id)
    names = _site_names(work)
    organizations = _organizations(work)
    site_of: dict[str, int | None] = screening.stored_sites(
        work.writer.connection,
        study_id=scope.study_id,
        source=work.source,
        patient_ids=[i.patient_id for i in items if i.patient_id],
    )
    for item in items:
        if item.resource_type == "Patient" and item.patient_id:
            code = site_of_patient(
                item.resource, [(c, names.get(c, c)) for c, _ in sites], organizations
            )
            site_of[item.patient_id] = scope.sites.get(code) if code else None
    resources = [
        screening.EhrResource(
            i.resource_type,
            i.logical_id,
            i.version_id,
            i.last_updated,
            i.patient_id or "",
            i.text,
            i.sha256,
        )
        for i in items
    ]
    states = screening.store_resources(
        work.writer,
        study_id=scope.study_id,
        source=work.source,
        items=resources,
        site_of=site_of,
        received_at=work.clock.now(),
    )
    for item, state in zip(items, states, strict=True):
        counts[(item.resource_type, state)] += 1
    return counts


def _site_names(work: Work) -> dict[str, str]:
    rows = work.session.execute(
        select(SiteRow.code, SiteRow.name).where(SiteRow.study_id == work.scope.study_id)
    )
    return {str(code): str(name) for code, name in rows}


def _organizations(work: Work) -> dict[str, str]:
    """Organization id -> name, from the Organization resources this source sent."""
    rows = work.session.execute(
        select(RawResourceRow.logical_id, RawResourceRow.json_text).where(
            RawResourceRow.source == work.source, RawResourceRow.resource_type == "Organization"
        )
    )
    found = {}
    for logical_id, text in rows:
        name = orjson.loads(text).get("name")
        if isinstance(name, str) and logical_id:
            found[str(logical_id)] = name
    return found

"""The site records that a visit took place (its date): an R4 Encounter that instantiates the
visit's PlanDefinition, through the same ingest as an Encounter synced from the EHR, and queued
for the hospital's FHIR server (the forms of the visit refer to it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from edc import errors
from edc.actions import entry, subjects
from edc.actions.access import ENTER_DATA, Access
from edc.actions.definitions import StudyDefinition
from edc.clock import Clock
from edc.compiler.naming import Naming
from edc.sync.subjects import INSTANTIATES
from edc.warehouse import casebook, db

AMBULATORY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}


def record_visit(
    engine: Engine,
    *,
    access: Access,
    definition: StudyDefinition,
    code: str,
    visit_id: str,
    day: dt.date,
    clock: Clock,
) -> None:
    """Record that subject ``code`` had visit ``visit_id`` on ``day``.

    :raises errors.NotFoundError: no such subject or visit for this user.
    :raises errors.NotPermittedError: the user's role may not enter data at its site.
    :raises errors.BadInputError: a date in the future, or a scheduled visit already recorded.
    """
    visit = next((v for v in definition.protocol.schedule.visits if v.id == visit_id), None)
    if visit is None:
        raise errors.NotFoundError(f"no visit {visit_id!r} in {definition.code}")
    if day > clock.now().date():
        raise errors.BadInputError(f"visit date {day} is in the future")
    makers = db.make_makers(engine)
    with db.transaction(makers.reader) as session:
        subject = subjects.get_subject(session=session, access=access, code=code)
        role = access.require(ENTER_DATA, subject.site_id)
        link = casebook.find_patient_link(session=session, subject_id=subject.id)
        done = {v.visit_id: v for v in casebook.list_visits(session=session, subject_id=subject.id)}
    if link is None:
        raise errors.BadInputError(f"subject {code} has no hospital patient record")
    if visit_id in done and not visit.unscheduled:
        raise errors.BadInputError(
            f"visit {visit_id} is recorded already ({done[visit_id].visit_date})"
        )
    study = definition.protocol.study
    naming = Naming(study.canonical_base, study.id, study.version)
    plan = f"{naming.canonical('PlanDefinition', 'visit', visit.id)}|{study.version}"
    resource = {
        "resourceType": "Encounter",
        "id": entry.new_resource_id(),
        "meta": {"versionId": "1"},
        "extension": [{"url": INSTANTIATES, "valueCanonical": plan}],
        "status": "finished",
        "class": AMBULATORY,
        "subject": {"reference": f"Patient/{link.patient_id}"},
        "period": {"start": day.isoformat()},
    }
    entry.ingest_entered(
        engine,
        study_code=access.study_code,
        source=link.source,
        resource=resource,
        person=entry.Person(access.username, role),
        clock=clock,
        queue_for_site=entry.SiteServer(access.study_id, subject.site_id, study.canonical_base),
    )

"""R4 resources of a subject's trial conduct: Consent, ResearchSubject, Encounter, Procedure.

Shapes follow the mapping guide: Consent 7.3 (scope research, research category + LOINC
59284-0, patient, dateTime, organization, policy, provision permit for HRESCH); ResearchSubject
7.1 (identifier = Subject ID, study = the site-level ResearchStudy, ``assignedArm`` only when
the study is open-label - blinded arms never reach an EHR); Encounter 3.4 (one per performed
visit, linked to the visit PlanDefinition by ``workflow-instantiatesCanonical`` and to the site
study by ``workflow-researchStudy``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from edc.synth import clinical, ids
from edc.synth.tumours import LOCAL
from edc.trial.writeback import research_consent_codes, research_purpose

WORKFLOW = "http://hl7.org/fhir/StructureDefinition"
RESEARCH_STUDY_EXT = f"{WORKFLOW}/workflow-researchStudy"
INSTANTIATES_EXT = f"{WORKFLOW}/workflow-instantiatesCanonical"


@dataclasses.dataclass(frozen=True)
class SubjectRefs:
    """Ids and references shared by a subject's resources."""

    run: ids.RunIds
    study_id: str
    study_version: str
    subject_id: str
    patient_id: str
    organization_id: str
    site_study_id: str
    tz: dt.timezone

    @property
    def patient(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.patient_id}"}

    @property
    def study(self) -> dict[str, str]:
        return {"reference": f"ResearchStudy/{self.site_study_id}"}

    def rid(self, *parts: str) -> str:
        return ids.resource_id(self.patient_id, *parts)

    def at(self, day: dt.date, minute: int) -> str:
        return ids.at(day, minute, self.tz)


def consent(refs: SubjectRefs, day: dt.date, withdrawn_on: dt.date | None) -> dict[str, Any]:
    signed = refs.at(day, 570)
    period: dict[str, str] = {"start": day.isoformat()}
    if withdrawn_on is not None:
        period["end"] = withdrawn_on.isoformat()
    return {
        "resourceType": "Consent",
        "id": refs.rid("consent"),
        "meta": ids.meta(refs.at(withdrawn_on, 600) if withdrawn_on else signed),
        "identifier": [
            {
                "system": refs.run.system("consent"),
                "value": f"{refs.study_id}.{refs.subject_id}.ICF-v{refs.study_version}",
            }
        ],
        "status": "inactive" if withdrawn_on else "active",
        **research_consent_codes(),
        "patient": refs.patient,
        "dateTime": signed,
        "performer": [refs.patient],
        "organization": [{"reference": f"Organization/{refs.organization_id}"}],
        "policy": [
            {
                "uri": f"{refs.run.base}/DocumentReference/"
                f"{ids.slug(refs.study_id)}-icf-{refs.study_version}"
            }
        ],
        "provision": {
            "type": "permit",
            "period": period,
            "purpose": [research_purpose()],
        },
    }


def research_subject(
    refs: SubjectRefs,
    *,
    consent_day: dt.date,
    end: dt.date,
    withdrawn: bool,
    arm: str | None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ResearchSubject",
        "id": refs.rid("subject"),
        "meta": ids.meta(refs.at(end, 1020)),
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "RI",
                            "display": "Resource identifier",
                        }
                    ],
                    "text": "Subject ID",
                },
                "system": refs.run.system(f"subject/{refs.study_id}"),
                "value": refs.subject_id,
            }
        ],
        # The record as it stands at the end of follow-up (mapping guide 7.1 status mapping).
        "status": "withdrawn" if withdrawn else "off-study",
        "period": {"start": consent_day.isoformat(), "end": end.isoformat()},
        "study": refs.study,
        "individual": refs.patient,
    }
    if arm is not None:
        resource["assignedArm"] = arm
        resource["actualArm"] = arm
    resource["consent"] = {"reference": f"Consent/{refs.rid('consent')}"}
    return resource


def encounter(
    refs: SubjectRefs,
    *,
    key: str,
    title: str,
    plan: str,
    day: dt.date,
    minute: int,
    minutes: int,
    inpatient: bool,
) -> dict[str, Any]:
    start = refs.at(day, minute)
    end_at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), refs.tz)
    end = (end_at + dt.timedelta(minutes=minutes)).isoformat()
    rid = refs.rid("enc", key)
    return {
        "resourceType": "Encounter",
        "id": rid,
        "meta": ids.meta(end),
        "extension": [
            {"url": INSTANTIATES_EXT, "valueCanonical": plan},
            {"url": RESEARCH_STUDY_EXT, "valueReference": refs.study},
        ],
        "identifier": [refs.run.synthetic(rid)],
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP" if inpatient else "AMB",
            "display": "inpatient encounter" if inpatient else "ambulatory",
        },
        "type": [{"text": title}],
        "subject": refs.patient,
        "period": {"start": start, "end": end},
        "serviceProvider": {"reference": f"Organization/{refs.organization_id}"},
    }


def procedure(
    refs: SubjectRefs,
    *,
    text: str,
    encounter_id: str,
    day: dt.date,
    minute: int,
    minutes: int,
    levels: Sequence[int],
) -> dict[str, Any]:
    start = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), refs.tz)
    end = (start + dt.timedelta(minutes=minutes)).isoformat()
    rid = refs.rid("procedure")
    return {
        "resourceType": "Procedure",
        "id": rid,
        "meta": ids.meta(end),
        "extension": [{"url": RESEARCH_STUDY_EXT, "valueReference": refs.study}],
        "identifier": [refs.run.synthetic(rid)],
        "status": "completed",
        "code": {
            "coding": [
                {
                    "system": LOCAL,
                    "code": "index-procedure",
                    "display": "Index procedure of a spinal metastasis trial",
                }
            ],
            "text": text,
        },
        "subject": refs.patient,
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "performedPeriod": {"start": start.isoformat(), "end": end},
        "bodySite": [
            {"coding": [{"system": LOCAL, "code": clinical.vertebra(level)}]} for level in levels
        ],
    }


def with_study(response: dict[str, Any], refs: SubjectRefs, stamped: str) -> dict[str, Any]:
    """A built QuestionnaireResponse with ``meta`` and the ``workflow-researchStudy`` link."""
    head = {"resourceType": response.pop("resourceType"), "id": response.pop("id")}
    head["meta"] = ids.meta(stamped)
    head["extension"] = [{"url": RESEARCH_STUDY_EXT, "valueReference": refs.study}]
    head.update(response)
    return head

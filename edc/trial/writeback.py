"""The R4 resources edc writes to a site's FHIR server for what the site did (pure: dicts out).

Shapes follow the mapping guide: Consent 7.3 (scope research, research category + LOINC
59284-0, patient, dateTime, policy naming the consent form version, provision permit for
HRESCH) and ResearchSubject 7.1 (identifier = the subject number in the study's namespace,
status, period.start = consent date, the site-level ResearchStudy, the Patient). References to
resources edc wrote itself, whose server ids it may not know yet, are logical references by
identifier. ``assignedArm`` is written only when the study is open-label (7.2): site staff read
the EHR, and blinded arms never reach it. Every resource carries the identifier its write is
conditional on, so delivering it twice creates it once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


@dataclasses.dataclass(frozen=True)
class StudyRefs:
    """How one study and site are named on the site's FHIR server."""

    canonical_base: str
    study_code: str
    site_code: str
    site_study_id: str  # logical id of the site-level ResearchStudy

    def system(self, kind: str) -> str:
        return f"{self.canonical_base}/sid/{kind}"

    @property
    def subject_system(self) -> str:
        return self.system(f"subject/{self.study_code}")


def research_consent_codes() -> dict[str, Any]:
    """``scope`` and ``category`` of a research Consent (mapping guide 7.3); a fresh copy."""
    return {
        "scope": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentcategorycodes",
                        "code": "research",
                    }
                ]
            },
            {
                "coding": [
                    {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
                ]
            },
        ],
    }


def research_purpose() -> dict[str, str]:
    """The provision purpose of a research Consent (HRESCH, healthcare research)."""
    return {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
        "code": "HRESCH",
        "display": "healthcare research",
    }


def consent_identifier(refs: StudyRefs, patient_id: str, form_version: str) -> tuple[str, str]:
    return refs.system(
        "consent"
    ), f"{refs.study_code}.{refs.site_code}.{patient_id}.ICF-v{form_version}"


def consent(
    refs: StudyRefs, *, patient_id: str, signed_at: dt.datetime, form_version: str
) -> dict[str, Any]:
    system, value = consent_identifier(refs, patient_id, form_version)
    return {
        "resourceType": "Consent",
        "identifier": [{"system": system, "value": value}],
        "status": "active",
        **research_consent_codes(),
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": signed_at.isoformat(),
        "performer": [{"reference": f"Patient/{patient_id}"}],
        # The consent form, as a version of the study's ICF document (its last path segment is
        # the form version, which is what a sync of this Consent reads back).
        "policy": [
            {
                "uri": f"{refs.canonical_base}/DocumentReference/"
                f"{refs.study_code.lower()}-icf/_history/{form_version}"
            }
        ],
        "provision": {
            "type": "permit",
            "period": {"start": signed_at.date().isoformat()},
            "purpose": [research_purpose()],
        },
    }


def research_subject(
    refs: StudyRefs,
    *,
    subject_code: str,
    patient_id: str,
    status: str,
    consent_on: dt.date,
    consent_key: tuple[str, str] | None,
    arm: str | None,
) -> dict[str, Any]:
    """:param arm: the assigned arm, only when it may be written (open-label)."""
    resource: dict[str, Any] = {
        "resourceType": "ResearchSubject",
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
                "system": refs.subject_system,
                "value": subject_code,
            }
        ],
        "status": status,
        "period": {"start": consent_on.isoformat()},
        "study": {"reference": f"ResearchStudy/{refs.site_study_id}"},
        "individual": {"reference": f"Patient/{patient_id}"},
    }
    if arm is not None:
        resource["assignedArm"] = arm
    if consent_key is not None:
        resource["consent"] = {
            "type": "Consent",
            "identifier": {"system": consent_key[0], "value": consent_key[1]},
        }
    return resource

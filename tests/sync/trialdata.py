"""Small, deterministic trial data for the sync tests: what a site's EHR would hold for a study.

For each subject: Patient, ResearchSubject (site-level study, Subject ID, arm), Consent, two
visit Encounters (instantiating the visit PlanDefinitions), a pain and an ODI response at each
visit (built with the real ``edc.forms.ResponseTemplate``), a platelet Observation, and an
adverse event for every third subject. Ids carry a tag so tests sharing a server never collide.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from edc.compiler import CompiledStudy
from edc.forms import ResponseTemplate

BASE = "https://edc.example.org/fhir"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
INSTANTIATES = "http://hl7.org/fhir/StructureDefinition/workflow-instantiatesCanonical"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
BACKPORT = "http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition"
START = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@dataclasses.dataclass(frozen=True)
class Trial:
    """Resources by type, in the order an EHR would have written them."""

    resources: dict[str, list[dict[str, Any]]]

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.resources.values())

    def all(self) -> Iterator[dict[str, Any]]:
        for resources in self.resources.values():
            yield from resources

    def write(self, directory: Path, *, versioned: bool = True) -> Path:
        """NDJSON files in the Bulk layout (``<Type>.ndjson``)."""
        directory.mkdir(parents=True, exist_ok=True)
        for resource_type, resources in self.resources.items():
            lines = [orjson.dumps(_with_meta(r) if versioned else r) for r in resources]
            (directory / f"{resource_type}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
        return directory


def _with_meta(resource: dict[str, Any]) -> dict[str, Any]:
    if "meta" in resource:
        return resource
    return {**resource, "meta": {"versionId": "1", "lastUpdated": "2026-03-01T00:00:00.000Z"}}


def build(compiled: CompiledStudy, subjects: int, tag: str = "t", study: str = "MINI-01") -> Trial:
    """``subjects`` enrolled subjects of the compiled (minimal) study, alternating sites/arms."""
    slug = study.lower()
    version = next(r for r in compiled.resources if r["resourceType"] == "ResearchStudy")["id"]
    version = version.rsplit("-", 1)[-1]
    questionnaires = compiled.questionnaires()
    pain = ResponseTemplate(questionnaires[f"{BASE}/Questionnaire/{slug}-pain|{version}"])
    odi_q = questionnaires[f"{BASE}/Questionnaire/{slug}-odi|{version}"]
    odi = ResponseTemplate(odi_q)
    plans = f"{BASE}/PlanDefinition/{slug}"
    out: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "Patient", "ResearchSubject", "Consent", "Encounter", "QuestionnaireResponse",
            "AdverseEvent", "Observation",
        )
    }  # fmt: skip
    for n in range(subjects):
        pid, site = f"{tag}-p{n}", "01" if n % 2 == 0 else "02"
        day = START + dt.timedelta(days=n % 20)
        patient = {"reference": f"Patient/{pid}"}
        out["Patient"].append(
            {"resourceType": "Patient", "id": pid, "gender": "female" if n % 3 else "male",
             "birthDate": f"{1950 + n % 30}-0{1 + n % 9}-1{n % 9}"}
        )  # fmt: skip
        out["ResearchSubject"].append(
            {
                "resourceType": "ResearchSubject",
                "id": f"{tag}-rs{n}",
                "identifier": [
                    {"system": f"{BASE}/sid/subject/{study}", "value": f"{site}-{tag}-{n:04d}"}
                ],
                "status": "on-study-intervention",
                "period": {"start": day.date().isoformat()},
                "study": {"reference": f"ResearchStudy/{slug}-site-{site}-{version}"},
                "individual": patient,
                "assignedArm": "ARM-A" if n % 2 == 0 else "ARM-B",
            }
        )
        out["Consent"].append(
            {
                "resourceType": "Consent",
                "id": f"{tag}-c{n}",
                "status": "active",
                "scope": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                            "code": "research",
                        }
                    ]
                },
                "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                "patient": patient,
                "dateTime": day.isoformat(),
                "policy": [{"uri": f"{BASE}/DocumentReference/{slug}-icf-{version}"}],
            }
        )
        for visit, offset in (("bl", 0), ("w1", 7)):
            when = day + dt.timedelta(days=offset)
            eid = f"{tag}-e{n}-{visit}"
            out["Encounter"].append(
                {
                    "resourceType": "Encounter",
                    "id": eid,
                    "extension": [
                        {
                            "url": INSTANTIATES,
                            "valueCanonical": f"{plans}-visit-{visit}|{version}",
                        }
                    ],
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "subject": patient,
                    "period": {"start": when.isoformat()},
                }
            )
            common = {
                "subject": f"Patient/{pid}",
                "authored": when,
                "encounter": f"Encounter/{eid}",
            }
            out["QuestionnaireResponse"].append(
                pain.build({"nrs": (n + offset) % 11}, response_id=f"{tag}-qp{n}-{visit}", **common)
            )
            answers: dict[str, Any] = {
                item["linkId"]: item["answerOption"][(n + i) % 6]["valueCoding"]["code"]
                for i, item in enumerate(odi_q["item"])
                if item["type"] == "choice"
            }
            answers["odi-complete"] = True
            out["QuestionnaireResponse"].append(
                odi.build(answers, response_id=f"{tag}-qo{n}-{visit}", **common)
            )
        out["Observation"].append(
            {"resourceType": "Observation", "id": f"{tag}-o{n}", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
             "subject": patient, "effectiveDateTime": day.isoformat(),
             "valueQuantity": {"value": 150 + n, "unit": "10*9/L",
                               "system": "http://unitsofmeasure.org", "code": "10*9/L"}}
        )  # fmt: skip
        if n % 3 == 0:
            out["AdverseEvent"].append(
                adverse_event(tag, n, pid, f"{slug}-site-{site}-{version}", day)
            )
    return Trial(out)


def adverse_event(tag: str, n: int, pid: str, study_id: str, day: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "AdverseEvent",
        "id": f"{tag}-ae{n}",
        "extension": [
            {"url": f"{BACKPORT}/ae-grade",
             "valueCodeableConcept": {"coding": [{"system": NCIT, "code": "C41339"}]}},
            {"url": f"{BACKPORT}/resolve-date",
             "valueDateTime": (day + dt.timedelta(days=12)).date().isoformat()},
        ],
        "actuality": "actual",
        "event": {"coding": [{"system": "https://www.meddra.org", "code": "10028813",
                              "display": "Nausea"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "date": (day + dt.timedelta(days=3)).date().isoformat(),
        "recordedDate": (day + dt.timedelta(days=4)).isoformat(),
        "seriousness": {"coding": [{"system": f"{TERMINOLOGY}/adverse-event-seriousness",
                                    "code": "non-serious"}]},
        "outcome": {"coding": [{"system": f"{TERMINOLOGY}/adverse-event-outcome",
                                "code": "resolved"}]},
        "suspectEntity": [{"instance": {"reference": f"Procedure/{tag}-proc{n}"},
                           "causality": [{"assessment": {"coding": [{"system": NCIT,
                                                                     "code": "C53258"}]}}]}],
        "study": [{"reference": f"ResearchStudy/{study_id}"}],
    }  # fmt: skip


def load(fhir: object, resources: list[dict[str, Any]]) -> None:
    """PUT the resources (with their own ids) onto a server in one transaction."""
    from edc.fhir import FhirClient

    assert isinstance(fhir, FhirClient)
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in resources
    ]
    fhir.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})

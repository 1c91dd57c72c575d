"""What the hospital's EHR holds about a referred patient before the trial, as R4 resources.

Shapes follow fhir_mappings/terminology/ehr-codes.yaml, which the protocols' FHIRPath criteria
read: one ``spine-lesion`` Observation per involved vertebra, ``escc-grade``, ``frankel-grade``
and ``expected-survival`` with our local codes; ECOG (LOINC 89247-1) and KPS (89243-0) as
``valueInteger``; VAS (38214-3), platelets (777-3) and INR (6301-6) as ``valueQuantity``; the
primary tumour and the spinal metastasis as Conditions; opioids as active MedicationRequests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from edc.protocol.model import Site
from edc.synth import clinical, ids, opioids
from edc.synth.criterion_facts import LabFact
from edc.synth.latent import PatientState
from edc.synth.tumours import LOCAL, PRIMARIES, SNOMED

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def hospital(site: Site, run: ids.RunIds) -> dict[str, Any]:
    """The site's hospital (shared by every run: keyed on its name, not on the run)."""
    key = ids.slug(site.name)
    address: dict[str, Any] = {"country": site.country}
    if site.city:
        address["city"] = site.city
    return {
        "resourceType": "Organization",
        "id": ids.resource_id("hosp", key),
        "meta": ids.meta("2020-01-01T00:00:00Z"),
        "identifier": [{"system": run.system("synthetic-hospital"), "value": key}],
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": site.name,
        "address": [address],
    }


@dataclasses.dataclass(frozen=True)
class EhrContext:
    """What rendering one patient's record needs besides the state."""

    run: ids.RunIds
    patient_id: str
    site: Site
    organization_id: str
    tz: dt.timezone
    # Laboratory results the protocol's criteria read beyond the model's own (criterion_facts).
    labs: tuple[LabFact, ...] = ()


def record(state: PatientState, ctx: EhrContext) -> list[dict[str, Any]]:
    """The patient's resources, Patient first."""
    builder = _Builder(state, ctx)
    return builder.build()


class _Builder:
    def __init__(self, state: PatientState, ctx: EhrContext) -> None:
        self.state = state
        self.ctx = ctx
        self.subject = {"reference": f"Patient/{ctx.patient_id}"}

    def when(self, days_before: int, minute: int = 600) -> str:
        return ids.at(self.state.day(days_before), minute, self.ctx.tz)

    def base(self, resource_type: str, suffix: str, stamped: str) -> dict[str, Any]:
        rid = ids.resource_id(self.ctx.patient_id, suffix)
        return {
            "resourceType": resource_type,
            "id": rid,
            "meta": ids.meta(stamped),
            "identifier": [self.ctx.run.synthetic(rid)],
        }

    def build(self) -> list[dict[str, Any]]:
        s, days = self.state, self.state.days_before
        resources = [self.patient(), *self.conditions()]
        imaging = self.when(days.imaging, 660)
        for position, lesion in enumerate(s.lesions):
            resources.append(self.lesion(position, lesion.level, imaging))
        resources += [
            self.coded("escc", "escc-grade", "imaging", s.escc, imaging),
            self.coded("frankel", "frankel-grade", "exam", s.frankel, self.when(days.imaging)),
            self.coded("visceral", "visceral-metastases", "imaging", s.visceral, imaging),
            self.count("extraspinal", "extraspinal-bone-metastases", s.extraspinal, imaging),
            self.scale("ecog", "89247-1", "ECOG Performance Status score", s.ecog),
            self.scale("kps", "89243-0", "Karnofsky Performance Status score", s.kps),
            self.quantity(
                ("vas", "38214-3", "Pain severity [Score] Visual analog score"),
                "survey",
                float(s.pain),
                "{score}",
                self.when(days.pain, 570),
            ),
            self.quantity(
                ("platelets", "777-3", "Platelets [#/volume] in Blood by Automated count"),
                "laboratory",
                s.platelets,
                "10*9/L",
                self.when(days.labs, 480),
            ),
            self.quantity(
                ("inr", "6301-6", "INR in Platelet poor plasma by Coagulation assay"),
                "laboratory",
                float(s.inr),
                "{INR}",
                self.when(days.labs, 480),
            ),
            self.survival(),
        ]
        for lab in self.ctx.labs:
            resources.append(
                self.quantity(
                    (f"lab-{lab.code}", lab.code, lab.display),
                    "laboratory",
                    lab.value(self.ctx.run.namespace, s.number),
                    lab.unit,
                    self.when(days.labs, 480),
                )
            )
        resources += [self.medication(i, dose) for i, dose in enumerate(s.regimen)]
        return resources

    def patient(self) -> dict[str, Any]:
        s, ctx = self.state, self.ctx
        resource = {
            "resourceType": "Patient",
            "id": ctx.patient_id,
            "meta": ids.meta(self.when(s.days_before.diagnosis, 540)),
            "identifier": [ctx.run.mrn(ctx.site.id, s.number)],
            "active": True,
            "name": [{"use": "anonymous", "text": f"Synthetic patient {s.number}"}],
            "gender": "female" if s.female else "male",
            "birthDate": s.birth_date.isoformat(),
            # The display names the hospital, so a reader without its Organization resource
            # (the demo's per-site summary) can still tell the site.
            "managingOrganization": {
                "reference": f"Organization/{ctx.organization_id}",
                "display": ctx.site.name,
            },
        }
        return resource

    def conditions(self) -> list[dict[str, Any]]:
        s = self.state
        row = PRIMARIES[s.primary]
        primary = self.base("Condition", "primary", self.when(s.days_before.diagnosis))
        metastasis = self.base(
            "Condition", "spinal-metastasis", self.when(s.days_before.metastasis)
        )
        for condition, coding, days in (
            (
                primary,
                {"system": row.system, "code": row.code, "display": row.display},
                s.days_before.diagnosis,
            ),
            (
                metastasis,
                {
                    "system": SNOMED,
                    "code": "94602001",
                    "display": "Secondary malignant neoplasm of vertebral column",
                },
                s.days_before.metastasis,
            ),
        ):
            condition.update(
                clinicalStatus=_concept(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical", "active"
                ),
                verificationStatus=_concept(
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"
                ),
                category=[_concept(CONDITION_CATEGORY, "problem-list-item")],
                code={"coding": [coding]},
                subject=self.subject,
                onsetDateTime=self.when(days),
                recordedDate=self.when(days),
            )
        return [primary, metastasis]

    def observation(
        self, suffix: str, category: str, coding: dict[str, str], stamped: str
    ) -> dict[str, Any]:
        resource = self.base("Observation", suffix, stamped)
        resource.update(
            status="final",
            category=[_concept(OBSERVATION_CATEGORY, category)],
            code={"coding": [coding]},
            subject=self.subject,
            effectiveDateTime=stamped,
        )
        return resource

    def lesion(self, position: int, level: int, stamped: str) -> dict[str, Any]:
        lesion = self.state.lesions[position]
        name = clinical.vertebra(level)
        resource = self.observation(f"lesion-{name}", "imaging", _local("spine-lesion"), stamped)
        resource["bodySite"] = {"coding": [_local(name)]}
        resource["component"] = [
            {"code": {"coding": [_local("vertebra-index")]}, "valueInteger": level},
            {
                "code": {"coding": [_local("lesion-type")]},
                "valueCodeableConcept": {"coding": [_local(lesion.kind)]},
            },
            {
                "code": {"coding": [_local("pathological-fracture")]},
                "valueBoolean": lesion.fracture,
            },
        ]
        return resource

    def coded(
        self, suffix: str, code: str, category: str, value: str, stamped: str
    ) -> dict[str, Any]:
        resource = self.observation(suffix, category, _local(code), stamped)
        resource["valueCodeableConcept"] = {"coding": [_local(value)]}
        return resource

    def count(self, suffix: str, code: str, value: int, stamped: str) -> dict[str, Any]:
        resource = self.observation(suffix, "imaging", _local(code), stamped)
        resource["valueInteger"] = value
        return resource

    def scale(self, suffix: str, code: str, display: str, value: int) -> dict[str, Any]:
        stamped = self.when(self.state.days_before.performance, 630)
        coding = {"system": LOINC, "code": code, "display": display}
        resource = self.observation(suffix, "survey", coding, stamped)
        resource["valueInteger"] = value
        return resource

    def quantity(
        self, code: tuple[str, str, str], category: str, value: float, unit: str, stamped: str
    ) -> dict[str, Any]:
        suffix, loinc, display = code
        coding = {"system": LOINC, "code": loinc, "display": display}
        resource = self.observation(suffix, category, coding, stamped)
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
        return resource

    def survival(self) -> dict[str, Any]:
        stamped = self.when(self.state.days_before.survival, 690)
        resource = self.observation("survival", "exam", _local("expected-survival"), stamped)
        resource["valueQuantity"] = {
            "value": self.state.survival_weeks,
            "unit": "wk",
            "system": UCUM,
            "code": "wk",
        }
        return resource

    def medication(self, position: int, dose: opioids.Dose) -> dict[str, Any]:
        stamped = self.when(self.state.days_before.opioid, 720)
        resource = self.base("MedicationRequest", f"opioid-{position + 1}", stamped)
        codings = [{"system": LOCAL, "code": dose.opioid, "display": opioids.DISPLAY[dose.opioid]}]
        if dose.opioid in opioids.RXNORM:
            codings.insert(
                0,
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": opioids.RXNORM[dose.opioid],
                },
            )
        if dose.opioid == opioids.FENTANYL:
            # Patch strength in ug/h, one patch every 72 h: the MEDD amount is the strength.
            amount, timing, text = (
                float(dose.amount),
                {"frequency": 1, "period": 72, "periodUnit": "h"},
                "every 72 hours",
            )
        else:
            # Daily dose split in two (BID): daily = doseQuantity x frequency / period.
            amount, timing, text = (
                float(dose.amount / 2),
                {"frequency": 2, "period": 1, "periodUnit": "d"},
                "twice a day",
            )
        unit = "ug/h" if dose.opioid == opioids.FENTANYL else "mg"
        resource.update(
            status="active",
            intent="order",
            medicationCodeableConcept={"coding": codings, "text": opioids.DISPLAY[dose.opioid]},
            subject=self.subject,
            authoredOn=stamped,
            dosageInstruction=[
                {
                    "text": f"{_number(amount)} {unit} {text}",
                    "timing": {"repeat": timing},
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": _number(amount),
                                "unit": unit,
                                "system": UCUM,
                                "code": unit,
                            }
                        }
                    ],
                }
            ],
        )
        return resource


def _local(code: str) -> dict[str, str]:
    return {"system": LOCAL, "code": code}


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value

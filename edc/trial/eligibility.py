"""Pre-screening: evaluate a protocol's computable criteria against a patient's EHR record.

Automated evaluation only pre-screens (mapping guide 4.2): an investigator confirms eligibility
on the checklist form. Each criterion's expression runs against the patient's record — a
collection Bundle of the Patient and their resources — with ``%patient`` and
``%screeningDate``. For an inclusion, true means met; for an exclusion, true means the
exclusion applies. An empty result, or no expression, means unknown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from edc import fhirpath
from edc.protocol.model import Criterion, Eligibility

Result = Literal["met", "not_met", "unknown"]
Overall = Literal["eligible", "ineligible", "unknown"]


@dataclasses.dataclass(frozen=True)
class CriterionResult:
    criterion_id: str
    exclusion: bool
    result: Result
    reason: str

    @property
    def passes(self) -> bool | None:
        """True when this criterion does not stand in the way of enrollment (None: unknown)."""
        if self.result == "unknown":
            return None
        return (self.result == "met") != self.exclusion


@dataclasses.dataclass(frozen=True)
class Screening:
    results: tuple[CriterionResult, ...]

    @property
    def overall(self) -> Overall:
        verdicts = [result.passes for result in self.results]
        if False in verdicts:
            return "ineligible"
        return "unknown" if None in verdicts else "eligible"

    def failed(self) -> list[str]:
        return [r.criterion_id for r in self.results if r.passes is False]


def patient_record(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The Bundle criteria are evaluated against (the Patient first, then everything else)."""
    ordered = sorted(resources, key=lambda r: r.get("resourceType") != "Patient")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": dict(resource)} for resource in ordered],
    }


def screen(
    eligibility: Eligibility,
    record: Mapping[str, Any],
    screening_date: dt.date,
    *,
    only_ehr: bool = False,
) -> Screening:
    """Evaluate every criterion (``only_ehr``: skip those the investigator judges).

    An expression that fails to evaluate gives ``unknown`` with the engine's message, never an
    exception: a screening log must list every patient.
    """
    entries = record.get("entry", [])
    patient: Mapping[str, Any] = next(
        (e["resource"] for e in entries if e["resource"]["resourceType"] == "Patient"), {}
    )
    variables = {"patient": patient, "screeningDate": screening_date.isoformat()}
    results = []
    for criteria, exclusion in ((eligibility.inclusion, False), (eligibility.exclusion, True)):
        for criterion in criteria:
            if only_ehr and criterion.assessment != "ehr":
                continue
            results.append(_evaluate(criterion, exclusion, record, variables))
    return Screening(tuple(results))


def _evaluate(
    criterion: Criterion, exclusion: bool, record: Mapping[str, Any], variables: dict[str, Any]
) -> CriterionResult:
    if criterion.expression is None:
        return CriterionResult(criterion.id, exclusion, "unknown", "needs investigator review")
    try:
        value = fhirpath.evaluate(record, criterion.expression, variables)
    except fhirpath.FhirPathError as exc:
        return CriterionResult(criterion.id, exclusion, "unknown", str(exc))
    if value == [True]:
        return CriterionResult(criterion.id, exclusion, "met", "expression is true")
    if value == [False]:
        return CriterionResult(criterion.id, exclusion, "not_met", "expression is false")
    if not value:
        return CriterionResult(criterion.id, exclusion, "unknown", "no data in the record")
    return CriterionResult(criterion.id, exclusion, "unknown", f"not a boolean: {value!r}")

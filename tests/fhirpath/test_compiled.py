"""Compiled expressions: the rewrites change nothing, dates compare as dates, evidence is read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import fhirpathpy
import pytest

from edc import fhirpath
from edc.fhirpath.compiled import ExpressionSet
from edc.fhirpath.plan import to_date
from edc.synth.population import Population
from edc.trial.eligibility import patient_record
from tests.synth.conftest import Study

DAY = "2027-02-01"


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return patient_record(
        [{"resourceType": "Patient", "id": "p", "birthDate": "1960-05-05"}, *resources]
    )


def observation(oid: str, code: str, value: float, when: str, unit: str = "mg") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "meta": {"versionId": "3"},
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": code, "display": f"lab {code}"}]
        },
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit},
    }


def variables(record: dict[str, Any]) -> dict[str, Any]:
    return {"patient": record["entry"][0]["resource"], "screeningDate": DAY}


@pytest.mark.parametrize("name", ["mwa", "prd"])
def test_planned_evaluation_equals_plain_evaluation(
    name: str, request: pytest.FixtureRequest
) -> None:
    """On 100 generated patients, every criterion gives what fhirpathpy gives for the text as
    written (with the same date semantics): the rewrites are exact."""
    study: Study = request.getfixturevalue(name)
    population = Population(study.protocol, study.profile, seed=3, sites=3, patients=100)
    expressions = ExpressionSet()
    texts = [
        c.expression
        for c in (*study.protocol.eligibility.inclusion, *study.protocol.eligibility.exclusion)
        if c.expression
    ]
    compiled = [expressions.compile(text) for text in texts]
    options = {"userInvocationTable": {"toDate": {"fn": to_date, "arity": {0: []}}}}
    plain = [fhirpathpy.compile(t, model=fhirpath.R4_MODEL, options=options) for t in texts]
    compared = 0
    for patient in population.patients():
        record = patient_record(population.record(patient))
        env = {
            "patient": record["entry"][0]["resource"],
            "screeningDate": patient.state.screening_date.isoformat(),
        }
        for text, expression, as_written in zip(texts, compiled, plain, strict=True):
            assert expression.evaluate(record, env) == as_written(record, env), text
            compared += 1
    assert compared == 100 * len(texts)


def test_coded_filters_become_selections_worked_out_once_per_record() -> None:
    expressions = ExpressionSet()
    planner = expressions.planner
    coded = "code.coding.exists(system = 'http://loinc.org' and code = '777-3')"
    text = (
        f"entry.resource.ofType(Observation).where({coded} and effective.toDate() >= "
        "%screeningDate.toDate() - 30 days).value.value"
    )
    assert planner.rewrite(text) == (
        "%_edcSel0.where(effective.toDate() >= %screeningDate.toDate() - 30 days).value.value"
    )
    # The same filter in another expression (here inside iif, still the record's scope) is
    # the same selection.
    assert planner.rewrite(
        f"iif(entry.resource.ofType(Observation).where({coded}).exists(), 1, 0)"
    ) == ("iif(%_edcSel0.exists(), 1, 0)")
    # Deeper than the record's scope, a filter on the item's own elements is memoized in place.
    nested = f"entry.select(resource.ofType(Observation).where({coded} and status = 'final'))"
    assert planner.rewrite(nested) == (
        "entry.select(resource.ofType(Observation).where(_edcMemo(0)).where(_edcMemo(1)))"
    )
    # $index depends on the collection filtered: untouched. A %variable: not memoizable.
    indexed = "entry.resource.ofType(Observation).where(status = 'final' and $index < 2)"
    assert planner.rewrite(indexed) == indexed
    variable = "entry.resource.ofType(Observation).where(subject.reference = %who)"
    assert planner.rewrite(variable) == variable
    record = bundle(
        observation("a", "777-3", 100, "2027-01-20T08:00:00Z"),
        observation("b", "718-7", 12, "2027-01-20T08:00:00Z"),
        observation("c", "777-3", 60, "2026-06-01T08:00:00Z"),
    )
    prepared = planner.prepare(record)
    assert [r["id"] for r in prepared["_edcSel0"]] == ["a", "c"]  # entry order kept
    assert expressions.compile(text).evaluate(record, variables(record)) == [100]


@pytest.mark.parametrize(("days", "expected"), [(13, [True]), (14, [True]), (15, [])])
def test_a_fact_on_the_window_boundary_day_counts(days: int, expected: list[bool]) -> None:
    # Taken late in the evening, in the hospital's offset: the recorded date is what counts.
    day = (dt.date.fromisoformat(DAY) - dt.timedelta(days=days)).isoformat()
    record = bundle(observation("o1", "38214-3", 6, f"{day}T22:45:00+08:00"))
    text = (
        "entry.resource.ofType(Observation).where(effective.toDate() >= "
        "%screeningDate.toDate() - 14 days).value.value > 4"
    )
    assert ExpressionSet().compile(text).evaluate(record, variables(record)) == expected


def test_evidence_names_the_resources_values_and_dates_that_decided() -> None:
    record = bundle(
        observation("hb-old", "718-7", 8.1, "2026-11-01T09:00:00Z", "g/dL"),
        observation("hb-new", "718-7", 12.5, "2027-01-25T09:00:00Z", "g/dL"),
        observation("na", "2951-2", 140, "2027-01-25T09:00:00Z", "mmol/L"),
        {"resourceType": "MedicationRequest", "id": "m1", "status": "active",
         "medicationCodeableConcept": {"text": "Morphine"}, "authoredOn": "2027-01-03"},
    )  # fmt: skip
    expressions = ExpressionSet()
    recent = expressions.compile(
        "entry.resource.ofType(Observation).where(code.coding.exists(code = '718-7') and "
        "effective.toDate() >= %screeningDate.toDate() - 30 days).value.value.exists($this >= 9)"
    )
    (item,) = recent.evidence(record, variables(record))
    assert str(item) == "Observation/hb-new/_history/3 lab 718-7 12.5 g/dL on 2027-01-25"
    counted = expressions.compile(
        "entry.resource.ofType(MedicationRequest).where(status = 'active').count() > 0"
    )
    (medication,) = counted.evidence(record, variables(record))
    assert (medication.reference, medication.what, medication.date) == (
        "MedicationRequest/m1",
        "Morphine",
        "2027-01-03",
    )
    age = expressions.compile("%patient.birthDate <= %screeningDate.toDate() - 18 years")
    (patient,) = age.evidence(record, variables(record))
    assert (patient.reference, patient.value) == ("Patient/p", "1960-05-05")
    # Data the filters leave out is not evidence: nothing matched, nothing named.
    missing = expressions.compile(
        "entry.resource.ofType(Observation).where(code.coding.exists(code = '777-3')).exists()"
    )
    assert missing.evidence(record, variables(record)) == []


def test_an_expression_the_engine_cannot_evaluate_raises_our_error() -> None:
    broken = ExpressionSet().compile("entry.resource.ofType(Observation).value.value.toDate()")
    record = bundle(
        observation("a", "1", 1, "2027-01-01T00:00:00Z"), observation("b", "1", 2, "2027-01-01")
    )
    with pytest.raises(fhirpath.FhirPathError, match="cannot evaluate"):
        broken.evaluate(record, variables(record))

"""Pre-screening evaluates the example studies' FHIRPath criteria against patient records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from edc import located_yaml
from edc.protocol import Protocol
from edc.trial.eligibility import patient_record, screen

STUDIES = Path(__file__).parents[2] / "fhir_mappings" / "studies"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL = "https://edc.example.org/fhir/CodeSystem/spine-oncology"
SCREENING = dt.date(2027, 2, 1)
VERTEBRAE = (
    ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    + [f"T{n}" for n in range(1, 13)]
    + [f"L{n}" for n in range(1, 6)]
    + ["S1"]
)


@pytest.fixture(scope="module")
def prd() -> Protocol:
    # Structural parse only: these tests are about the criteria, not the instrument library.
    document = located_yaml.parse_yaml((STUDIES / "spine-prd-01.yaml").read_text(), "prd")
    return Protocol.model_validate(document.data)


# The unit each lab is recorded in unless a test says otherwise (UCUM).
UNITS = {"777-3": "10*9/L", "6301-6": "{INR}", "38214-3": "{score}"}


def lab(code: str, value: float, days_before: int, unit: str | None = None) -> dict[str, Any]:
    ucum = unit or UNITS[code]
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": (SCREENING - dt.timedelta(days=days_before)).isoformat(),
        "valueQuantity": {"value": value, "unit": ucum, "system": UCUM, "code": ucum},
    }


def lesion(level: str, lesion_type: str = "osteolytic", fracture: bool = True) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOCAL, "code": "spine-lesion"}]},
        "component": [
            {
                "code": {"coding": [{"system": LOCAL, "code": "vertebra-index"}]},
                "valueInteger": VERTEBRAE.index(level) + 1,
            },
            {
                "code": {"coding": [{"system": LOCAL, "code": "lesion-type"}]},
                "valueCodeableConcept": {"coding": [{"system": LOCAL, "code": lesion_type}]},
            },
            {
                "code": {"coding": [{"system": LOCAL, "code": "pathological-fracture"}]},
                "valueBoolean": fracture,
            },
        ],
    }


def coded(code: str, value: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOCAL, "code": code}]},
        "valueCodeableConcept": {"coding": [{"system": LOCAL, "code": value}]},
    }


def eligible_patient() -> list[dict[str, Any]]:
    return [
        {"resourceType": "Patient", "id": "p1", "birthDate": "1958-04-02"},
        lab("777-3", 180, 5),
        lab("6301-6", 1.1, 5),
        lab("38214-3", 7.5, 3),
        lesion("L1"),
        coded("frankel-grade", "E"),
        coded("escc-grade", "1a"),
    ]


def results(protocol: Protocol, resources: list[dict[str, Any]]) -> dict[str, str]:
    screening = screen(protocol.eligibility, patient_record(resources), SCREENING, only_ehr=True)
    return {r.criterion_id: r.result for r in screening.results}


def test_eligible_patient_meets_every_ehr_criterion(prd: Protocol) -> None:
    assert results(prd, eligible_patient()) == {
        "IN01": "met",
        "IN02": "met",
        "IN03": "met",
        "IN04": "met",
        "IN06": "met",
        "IN07": "met",
        "EX02": "not_met",
        "EX03": "not_met",
    }
    screening = screen(
        prd.eligibility, patient_record(eligible_patient()), SCREENING, only_ehr=True
    )
    assert screening.overall == "eligible"


@pytest.mark.parametrize(
    ("change", "criterion"),
    [
        (lambda r: r[0].update(birthDate="2012-01-01"), "IN01"),
        (lambda r: r.extend([lesion("L2"), lesion("L3")]), "IN02"),
        (lambda r: r.__setitem__(4, lesion("T8")), "IN03"),
        (lambda r: r.__setitem__(4, lesion("L1", fracture=False)), "IN04"),
        (lambda r: r.__setitem__(5, coded("frankel-grade", "D")), "IN06"),
        (lambda r: r.__setitem__(3, lab("38214-3", 3.0, 3)), "IN07"),
        (lambda r: r.append(lab("777-3", 60, 2)), "EX02"),
        (lambda r: r.__setitem__(2, lab("6301-6", 1.8, 2)), "EX02"),
        (lambda r: r.__setitem__(6, coded("escc-grade", "2")), "EX03"),
    ],
)
def test_each_criterion_rejects_its_own_failure(prd: Protocol, change: Any, criterion: str) -> None:
    record = eligible_patient()
    change(record)
    screening = screen(prd.eligibility, patient_record(record), SCREENING, only_ehr=True)
    assert screening.failed() == [criterion]
    assert screening.overall == "ineligible"


@pytest.mark.parametrize(
    ("value", "unit", "result"),
    [
        (35, "mm", "not_met"),  # 3.5 cm: passed '>= 4' while the unit was ignored
        (45, "mm", "met"),
        (4.5, "cm", "met"),
        (3.5, "cm", "not_met"),
        (7.5, "%", "unknown"),  # a unit the criterion does not know: not a pass
    ],
)
def test_vas_is_read_in_its_unit(prd: Protocol, value: float, unit: str, result: str) -> None:
    record = eligible_patient()
    record[3] = lab("38214-3", value, 3, unit)
    assert results(prd, record)["IN07"] == result


def test_platelets_in_another_unit_are_unknown_not_a_pass(prd: Protocol) -> None:
    record = eligible_patient()
    record[1] = lab("777-3", 180_000, 5, "/uL")  # per microlitre: not a unit the criterion reads
    assert results(prd, record)["EX02"] == "unknown"
    record[1] = lab("777-3", 60, 5, "10*3/uL")  # the same number as 10*9/L
    assert results(prd, record)["EX02"] == "met"


def test_missing_data_is_unknown_not_a_pass(prd: Protocol) -> None:
    record = [
        r
        for r in eligible_patient()
        if r.get("code", {}).get("coding", [{}])[0].get("code") != "777-3"
    ]
    record = [r for r in record if "6301-6" not in str(r)]
    assert results(prd, record)["EX02"] == "unknown"
    stale = eligible_patient()
    stale[1] = lab("777-3", 30, 90)  # a low count, but outside the 30-day window
    stale[2] = lab("6301-6", 1.0, 90)
    assert results(prd, stale)["EX02"] == "unknown"
    screening = screen(prd.eligibility, patient_record(stale), SCREENING, only_ehr=True)
    assert screening.outcome == "undetermined"

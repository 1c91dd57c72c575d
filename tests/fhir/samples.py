"""Small R4 resources for the client tests, identified in a per-test namespace."""

from __future__ import annotations

from typing import Any


def system(unique: str) -> str:
    """The identifier system of one test's resources."""
    return f"urn:edc-test:{unique}"


def patient(unique: str, n: int = 0, **extra: Any) -> dict[str, Any]:
    """A Patient with identifier ``<system(unique)>|p<n>``."""
    return {
        "resourceType": "Patient",
        "identifier": [{"system": system(unique), "value": f"p{n}"}],
        **extra,
    }


def observation(unique: str, n: int, patient_id: str, value: int = 5) -> dict[str, Any]:
    """A pain-score Observation (LOINC 72514-3) for ``Patient/<patient_id>``."""
    return {
        "resourceType": "Observation",
        "identifier": [{"system": system(unique), "value": f"o{n}"}],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueInteger": value,
    }

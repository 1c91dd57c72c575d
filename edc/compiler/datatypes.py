"""Small FHIR R4 datatype builders (UCUM durations, codings, numbers) used across the compiler."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from edc.items.model import Coding

UCUM = "http://unitsofmeasure.org"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
EXT = "http://hl7.org/fhir/StructureDefinition"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition"


def number(value: Decimal | int | float) -> int | float:
    """A JSON number: whole values as integers, others as floats (exact for the decimals we
    author, which have few digits)."""
    decimal = Decimal(str(value))
    return int(decimal) if decimal == decimal.to_integral_value() else float(decimal)


def days(value: int) -> dict[str, Any]:
    """An R4 Duration in days; R4 requires a UCUM code when a value is present."""
    return {"value": value, "unit": "d", "system": UCUM, "code": "d"}


def coding(code: Coding) -> dict[str, Any]:
    result: dict[str, Any] = {"system": code.system, "code": code.code}
    if code.display:
        result["display"] = code.display
    return result


def concept(code: Coding, text: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"coding": [coding(code)]}
    if text:
        result["text"] = text
    return result


def ncit(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": NCIT, "code": code, "display": display}]}


def iso_date(value: dt.date) -> str:
    return value.isoformat()


def reference(resource: dict[str, Any], display: str | None = None) -> dict[str, Any]:
    """A relative reference ``Type/id`` to a resource we emit (ids are ours, so stable)."""
    result: dict[str, Any] = {"reference": f"{resource['resourceType']}/{resource['id']}"}
    if display:
        result["display"] = display
    return result

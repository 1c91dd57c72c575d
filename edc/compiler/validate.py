"""Every resource the compiler emits is checked before anyone sees it.

Two independent checks: the ``fhir.resources`` R4B model for its type (structure, cardinality,
datatypes) and ``fhirkit`` (strict R4 4.0.1, catching what R4B would let through), plus the
guard against R4B-only elements. A failure here is a bug in the compiler, not bad input.
"""

from __future__ import annotations

from typing import Any

from edc import errors
from edc.fhir import resources


class InvalidOutputError(errors.EdcError):
    """The compiler produced a resource that is not valid R4 (a bug: please report it)."""


def check_resources(items: list[dict[str, Any]], bundle: dict[str, Any]) -> None:
    """:raises InvalidOutputError: listing every invalid resource and why."""
    problems: list[str] = []
    for resource in items:
        label = f"{resource['resourceType']}/{resource.get('id')}"
        try:
            resources.assert_r4_safe(resource)
            resources.parse_resource(resource)
        except errors.BadInputError as exc:
            problems.append(f"{label}: {exc}")
        problems += [f"{label}: {issue}" for issue in resources.validate_r4(resource)]
    problems += [f"Bundle: {issue}" for issue in resources.validate_r4(bundle)]
    if problems:
        raise InvalidOutputError(
            "compiled resources are not valid FHIR R4:\n" + "\n".join(problems)
        )

"""Checks of FHIR R4 JSON that need no resource models: fhirkit's strict R4 validation and the
guard against R4B-only elements.

Kept apart from ``edc.fhir.resources`` (which imports the ``fhir.resources`` R4B models, about a
second of start-up) so that ``edc protocol check`` can validate what it compiles without paying
for the models; ``edc.fhir.resources`` re-exports everything here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fhirkit

from edc import errors

# Elements R4B added to resources we emit (PlanDefinition, PlanDefinition.action and
# ActivityDefinition gained subjectCanonical). An R4 server rejects or drops them. Keep the list
# here, in one place (mapping guide §1.2).
R4B_ONLY = frozenset({"subjectCanonical"})


class R4BOnlyElementError(errors.BadInputError):
    """A resource we are about to send carries an element that R4 does not have."""


def assert_r4_safe(resource: object, path: str = "$") -> None:
    """Refuse a resource (parsed JSON) that carries an element from :data:`R4B_ONLY`.

    :raises R4BOnlyElementError: naming the JSON path of the first such element.
    """
    if isinstance(resource, Mapping):
        for key, value in resource.items():
            if key in R4B_ONLY:
                raise R4BOnlyElementError(
                    f"R4B-only element at {path}.{key}", "R4 servers do not know it; remove it."
                )
            assert_r4_safe(value, f"{path}.{key}")
    elif isinstance(resource, list):
        for index, value in enumerate(resource):
            assert_r4_safe(value, f"{path}[{index}]")


def validate_r4(resource: bytes | str | Mapping[str, Any]) -> list[str]:
    """Every problem fhirkit (strict R4 4.0.1) finds, as ``"<severity> at <path>: <message>"``.

    fhirkit checks structure, cardinality, types and formats; it does not check required
    bindings or FHIRPath invariants (see reference/fhir-test-server.md §5.2).

    :param resource: JSON bytes or text, or parsed JSON.
    :returns: [] when valid. Input that is not JSON gives one issue, not an exception.
    """
    data: bytes | str | dict[str, Any] = (
        dict(resource) if isinstance(resource, Mapping) else resource
    )
    try:
        return [str(issue) for issue in fhirkit.validate(data)]
    except fhirkit.ParseError as exc:
        return [f"error at $: not JSON ({exc})"]

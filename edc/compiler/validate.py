"""Every resource the compiler emits is checked before anyone sees it.

Two independent checks: ``fhirkit`` (strict R4 4.0.1) with the guard against R4B-only
elements, always; and the ``fhir.resources`` R4B model for its type (structure, cardinality,
datatypes) when ``models`` is set. ``edc protocol check`` leaves the models out: importing them
costs about a second, which a data manager would pay after every edit, and fhirkit already
checks the same structure; compiling and registering (which hand the Bundle on) use both. A
failure here is a bug in the compiler, not bad input.
"""

from __future__ import annotations

from typing import Any

from edc import errors, r4_wire


class InvalidOutputError(errors.EdcError):
    """The compiler produced a resource that is not valid R4 (a bug: please report it)."""


def check_resources(
    items: list[dict[str, Any]], bundle: dict[str, Any], *, models: bool = True
) -> None:
    """:raises InvalidOutputError: listing every invalid resource and why."""
    problems: list[str] = []
    # fhirkit checks every entry's resource when it checks the Bundle; each resource is checked
    # on its own only to name the ones at fault (half of the time of a protocol check).
    bundle_issues = r4_wire.validate_r4(bundle)
    for resource in items:
        label = f"{resource['resourceType']}/{resource.get('id')}"
        try:
            r4_wire.assert_r4_safe(resource)
            if models:
                from edc.fhir import resources  # the R4B models: about a second to import

                resources.parse_resource(resource)
        except errors.BadInputError as exc:
            problems.append(f"{label}: {exc}")
        if bundle_issues:
            problems += [f"{label}: {issue}" for issue in r4_wire.validate_r4(resource)]
    problems += [f"Bundle: {issue}" for issue in bundle_issues]
    if problems:
        raise InvalidOutputError(
            "compiled resources are not valid FHIR R4:\n" + "\n".join(problems)
        )

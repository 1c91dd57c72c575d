"""FHIR resource models and checks: the only module that imports ``fhir.resources``.

On the wire we speak R4 (4.0.1). ``fhir.resources`` 8.x has no R4 package: its default models
are R5 (which reject valid R4 ResearchStudy, ResearchSubject, AdverseEvent, Consent and Group),
and R4B (4.3.0) has R4's element names for every resource we emit (mapping guide §1.2). So we
build and parse with the R4B models, refuse the few R4B-only elements, and check what we send
and receive with ``fhirkit`` (strict R4 4.0.1, reports every problem with its path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

import fhirkit
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.activitydefinition import ActivityDefinition
from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from fhir.resources.R4B.group import Group
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.plandefinition import PlanDefinition
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.researchstudy import ResearchStudy
from fhir.resources.R4B.researchsubject import ResearchSubject
from fhir.resources.R4B.valueset import ValueSet

from edc import errors

__all__ = [
    "R4B_ONLY",
    "ActivityDefinition",
    "AdverseEvent",
    "Bundle",
    "CapabilityStatement",
    "CodeSystem",
    "Consent",
    "FHIRResourceModel",
    "Group",
    "Observation",
    "OperationOutcome",
    "Patient",
    "PlanDefinition",
    "Questionnaire",
    "QuestionnaireResponse",
    "R4BOnlyElementError",
    "ResearchStudy",
    "ResearchSubject",
    "ResourceParseError",
    "ValueSet",
    "assert_r4_safe",
    "is_type_name",
    "parse_resource",
    "validate_r4",
]

# Elements R4B added to resources we emit (PlanDefinition, PlanDefinition.action and
# ActivityDefinition gained subjectCanonical). An R4 server rejects or drops them. Keep the list
# here, in one place (mapping guide §1.2).
R4B_ONLY = frozenset({"subjectCanonical"})


# R4 resource type names: an upper-case letter, then letters (the longest, 33 characters, is
# MedicinalProductAuthorization). Names that servers send us (Bulk manifests) are used in file
# names only when they fit this.
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{0,63}")


def is_type_name(name: object) -> bool:
    """Whether ``name`` looks like a FHIR resource type name (and is safe in a file name)."""
    return isinstance(name, str) and _TYPE_NAME.fullmatch(name) is not None


class ResourceParseError(errors.BadInputError):
    """A resource does not fit the R4B model for its type (R5 shape, R4-only type, bad value)."""


class R4BOnlyElementError(errors.BadInputError):
    """A resource we are about to send carries an element that R4 does not have."""


def parse_resource(resource: Mapping[str, Any]) -> FHIRResourceModel:
    """Validate parsed JSON with the R4B model for its ``resourceType`` and return the model.

    Keep the raw JSON as the record of truth; the model is a checked, typed copy.

    :raises ResourceParseError: when there is no R4B model for the type (including R4-only types
        such as MedicinalProduct) or the content does not fit it; the message names the problem.
    """
    rtype = resource.get("resourceType")
    where = f"{rtype}/{resource.get('id', '(no id)')}"
    if not isinstance(rtype, str):
        raise ResourceParseError("not a FHIR resource: no resourceType", where)
    try:
        model_class = get_fhir_model_class(rtype)
    except (KeyError, ValueError):
        raise ResourceParseError(
            f"{rtype} has no R4B model (R4-only or unknown type)", where
        ) from None
    try:
        return cast(FHIRResourceModel, model_class.model_validate(dict(resource)))
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise ResourceParseError(f"{where} does not fit the R4B {rtype} model", str(exc)) from None


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

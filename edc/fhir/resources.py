"""FHIR resource models and checks: the only module that imports ``fhir.resources``.

On the wire we speak R4 (4.0.1). ``fhir.resources`` 8.x has no R4 package: its default models
are R5 (which reject valid R4 ResearchStudy, ResearchSubject, AdverseEvent, Consent and Group),
and R4B (4.3.0) has R4's element names for every resource we emit (mapping guide §1.2). So we
build and parse with the R4B models, refuse the few R4B-only elements, and check what we send
and receive with ``fhirkit`` (strict R4 4.0.1, reports every problem with its path); those
model-free checks live in ``edc.r4_wire`` and are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

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
from edc.r4_wire import R4B_ONLY, R4BOnlyElementError, assert_r4_safe, validate_r4

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

# R4 resource type names: an upper-case letter, then letters (the longest, 33 characters, is
# MedicinalProductAuthorization). Names that servers send us (Bulk manifests) are used in file
# names only when they fit this.
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{0,63}")


def is_type_name(name: object) -> bool:
    """Whether ``name`` looks like a FHIR resource type name (and is safe in a file name)."""
    return isinstance(name, str) and _TYPE_NAME.fullmatch(name) is not None


class ResourceParseError(errors.BadInputError):
    """A resource does not fit the R4B model for its type (R5 shape, R4-only type, bad value)."""


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

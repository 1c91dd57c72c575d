"""Evaluating the protocol's edit checks on a subject's QuestionnaireResponses.

A check holds when its FHIRPath, with the form's response as root and ``%<form id>`` as the
subject's responses to the other forms, gives ``true``. Empty (an item not answered) is not a
failure: "missing" is the missing-form detector's concern, and a check that cannot be decided
must not raise a query nobody can answer. An expression the engine cannot evaluate fails
loudly (the protocol check let it through, so it is a bug to fix, not a data problem).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from edc import fhirpath
from edc.protocol.edit_checks import EditCheck


@dataclasses.dataclass(frozen=True)
class Failure:
    check_id: str
    subject_id: int
    response_id: int  # the form_response row (the version) that fails
    link_id: str | None
    message: str


def holds(
    check: EditCheck,
    response: Mapping[str, Any],
    others: Mapping[str, Sequence[Mapping[str, Any]]],
) -> bool:
    """Whether ``check`` holds for ``response``; ``others`` maps form id -> the subject's
    responses to that form (every form the check may name)."""
    variables: dict[str, Any] = {name: [dict(r) for r in rs] for name, rs in others.items()}
    variables["resource"] = dict(response)
    result = fhirpath.evaluate(response, check.expression, variables)
    return result != [False]

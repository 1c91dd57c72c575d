"""Eligibility criteria -> the eligibility Group, one definitional Group per criterion, and the
investigator's eligibility checklist form.

Pattern (mapping guide 4.1): ``ResearchStudy.enrollment`` -> a Group (``actual=false``) with one
``characteristic`` per criterion, coded NCIt C25532 (inclusion) or C25370 (exclusion) with the
criterion id as ``code.text`` and ``exclude`` set for exclusions, whose ``valueReference`` is
the per-criterion Group. That Group carries the verbatim text as narrative and, when the
criterion is computable, the FHIRPath in the ``characteristicExpression`` extension (R4 Group
has no expression element). Our own extension records whether the criterion is judged from
EHR data or confirmed by the investigator.
"""

from __future__ import annotations

import html
from typing import Any

from edc.compiler.context import CompileContext
from edc.compiler.datatypes import EXT, NCIT
from edc.items.model import Item
from edc.protocol.forms import ELIGIBILITY_FORM_ID, FormContent
from edc.protocol.model import Criterion

CHARACTERISTIC_EXPRESSION = f"{EXT}/characteristicExpression"
_KIND = {
    False: ("C25532", "Inclusion Criteria"),
    True: ("C25370", "Exclusion Criteria"),
}
EXPRESSION_CONTEXT = (
    "Evaluated against the patient's record (a Bundle of the Patient and their resources) "
    "with %patient and %screeningDate; empty means unknown."
)


def assessment_extension_url(ctx: CompileContext) -> str:
    return f"{ctx.naming.base}/StructureDefinition/criterion-assessment"


def eligibility_group_id(ctx: CompileContext) -> str:
    return ctx.naming.resource_id("eligibility")


def criteria(ctx: CompileContext) -> list[tuple[Criterion, bool]]:
    """Every criterion with whether it is an exclusion, in protocol order."""
    eligibility = ctx.protocol.eligibility
    return [(c, False) for c in eligibility.inclusion] + [(c, True) for c in eligibility.exclusion]


def criterion_groups(ctx: CompileContext) -> list[dict[str, Any]]:
    groups = []
    for criterion, _exclude in criteria(ctx):
        group: dict[str, Any] = {
            "resourceType": "Group",
            "id": ctx.naming.resource_id("criterion", criterion.id),
            "text": {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
                f"{html.escape(criterion.id)}: {html.escape(criterion.text)}</div>",
            },
            "extension": [
                {"url": assessment_extension_url(ctx), "valueCode": criterion.assessment}
            ],
        }
        if criterion.expression is not None:
            group["extension"].append(
                {
                    "url": CHARACTERISTIC_EXPRESSION,
                    "valueExpression": {
                        "description": EXPRESSION_CONTEXT,
                        "language": "text/fhirpath",
                        "expression": " ".join(criterion.expression.split()),
                    },
                }
            )
        group["identifier"] = [
            {
                "system": ctx.naming.identifier_system("eligibility-criterion"),
                "value": f"{ctx.protocol.study.id}-{ctx.version}-{criterion.id}",
            }
        ]
        group.update(
            {"type": "person", "actual": False, "name": f"{criterion.id} {criterion.text}"[:250]}
        )
        groups.append(group)
    return groups


def criterion_name(criterion: Criterion) -> str:
    return f"{criterion.id} {criterion.text}"


def _kind(exclude: bool) -> dict[str, str]:
    code, display = _KIND[exclude]
    return {"system": NCIT, "code": code, "display": display}


def eligibility_group(ctx: CompileContext) -> dict[str, Any]:
    return {
        "resourceType": "Group",
        "id": eligibility_group_id(ctx),
        "identifier": [
            {
                "system": ctx.naming.identifier_system("eligibility"),
                "value": f"{ctx.protocol.study.id}-{ctx.version}",
            }
        ],
        "type": "person",
        "actual": False,
        "name": f"{ctx.protocol.study.short_title} eligibility criteria v{ctx.version}",
        "characteristic": [
            {
                "code": {
                    "coding": [
                        {"system": NCIT, "code": _KIND[exclude][0], "display": _KIND[exclude][1]}
                    ],
                    "text": criterion.id,
                },
                "valueReference": {
                    "reference": f"Group/{ctx.naming.resource_id('criterion', criterion.id)}",
                    "display": criterion.text,
                },
                "exclude": exclude,
            }
            for criterion, exclude in criteria(ctx)
        ],
    }


def checklist_form(ctx: CompileContext) -> FormContent:
    """The investigator's confirmation of every criterion (a yes/no question each)."""
    items = tuple(
        Item(
            id=criterion.id,
            text=(
                f"{criterion.id} (exclusion): {criterion.text} Does this exclusion apply?"
                if exclude
                else f"{criterion.id} (inclusion): {criterion.text} Is this criterion met?"
            ),
            type="boolean",
            required=True,
        )
        for criterion, exclude in criteria(ctx)
    )
    return FormContent(
        form_id=ELIGIBILITY_FORM_ID,
        title="Eligibility checklist (investigator confirmation)",
        instrument=None,
        items=items,
        variables=(),
        scores=(),
    )

"""Visit schedule -> Vulcan Schedule of Activities (STU1, R4) PlanDefinitions.

One protocol-level PlanDefinition (StudyProtocolSoa) holds an action per event and per visit;
each visit action points (``definitionCanonical``, ``url|version``) at a visit-level
PlanDefinition (PlannedStudyVisitSoa) whose actions point at the Questionnaires due. Timing is
a ``relatedAction`` to the anchor: ``after-start`` with the target offset, or ``before-start``
for visits before their anchor, and the ``AcceptableOffsetRangeSoa`` extension holding the
window as absolute offsets from the same anchor, in the same direction (mapping guide 3.2, U3).
"""

from __future__ import annotations

from typing import Any

from edc.compiler.context import CompileContext
from edc.compiler.datatypes import days
from edc.protocol.arms import applies, form_arms
from edc.protocol.model import Event, Visit, Window

VULCAN = "http://hl7.org/fhir/uv/vulcan-schedule/StructureDefinition"
WINDOW_EXTENSION = f"{VULCAN}/AcceptableOffsetRangeSoa"
PLAN_TYPE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
            "code": "clinical-protocol",
        }
    ]
}


def soa_id(ctx: CompileContext) -> str:
    return ctx.naming.resource_id("soa")


def protocol_plan(ctx: CompileContext) -> dict[str, Any]:
    """The protocol-level schedule of activities."""
    naming, schedule = ctx.naming, ctx.protocol.schedule
    arm_ids = [arm.id for arm in ctx.protocol.arms]
    actions = [_timepoint_action(event, arm_ids) for event in schedule.events]
    for visit in schedule.visits:
        action = _timepoint_action(visit, arm_ids)
        action["definitionCanonical"] = (
            f"{naming.canonical('PlanDefinition', 'visit', visit.id)}|{ctx.version}"
        )
        if visit.unscheduled:
            action["cardinalityBehavior"] = "multiple"
            action["requiredBehavior"] = "could"
        actions.append(action)
    return {
        "resourceType": "PlanDefinition",
        "id": soa_id(ctx),
        "meta": {"profile": [f"{VULCAN}/StudyProtocolSoa"]},
        "url": naming.canonical("PlanDefinition", "soa"),
        "version": ctx.version,
        "name": naming.computable_name("SoA"),
        "title": f"{ctx.protocol.study.short_title} schedule of activities, v{ctx.version}",
        "type": PLAN_TYPE,
        "status": "active",
        **({"date": ctx.date} if ctx.date else {}),
        "publisher": ctx.protocol.study.sponsor.name,
        "action": actions,
    }


def visit_plans(ctx: CompileContext, form_titles: dict[str, str]) -> list[dict[str, Any]]:
    """One PlanDefinition per visit, listing the forms due there."""
    naming = ctx.naming
    only = form_arms(ctx.protocol)
    plans = []
    for visit in ctx.protocol.schedule.visits:
        plans.append(
            {
                "resourceType": "PlanDefinition",
                "id": naming.resource_id("visit", visit.id),
                "meta": {"profile": [f"{VULCAN}/PlannedStudyVisitSoa"]},
                "url": naming.canonical("PlanDefinition", "visit", visit.id),
                "version": ctx.version,
                "name": naming.computable_name("visit", visit.id),
                "title": visit.title,
                "type": PLAN_TYPE,
                "status": "active",
                **({"date": ctx.date} if ctx.date else {}),
                "publisher": ctx.protocol.study.sponsor.name,
                "action": [
                    {
                        "id": f"{visit.id}-{form_id}",
                        "title": form_titles[form_id],
                        "definitionCanonical": naming.versioned("Questionnaire", form_id),
                        "requiredBehavior": "must",
                        **_condition(only.get(form_id, ())),
                    }
                    for form_id in visit.forms
                ],
            }
        )
    return plans


def _timepoint_action(point: Event | Visit, arm_ids: list[str]) -> dict[str, Any]:
    """The point's action; in arms with their own anchor (``arm_anchors``), the timing is
    one sub-action per anchor, each applicable in its arms (exactly one applies)."""
    action: dict[str, Any] = {"id": point.id, "title": point.title, **_condition(point.arms)}
    if point.anchor is None:
        return action
    if not point.arm_anchors:
        action["relatedAction"] = [_related(point.anchor, point.offset_days, point.window)]
        return action
    in_arms = [arm for arm in arm_ids if applies(point.arms, arm)]
    by_anchor: dict[str, list[str]] = {}
    for arm in in_arms:
        by_anchor.setdefault(point.arm_anchors.get(arm, point.anchor), []).append(arm)
    action["groupingBehavior"] = "logical-group"
    action["selectionBehavior"] = "exactly-one"
    action["action"] = [
        {
            "id": f"{point.id}-from-{anchor}",
            "title": f"{point.title} (from {anchor}: {', '.join(arms)})",
            **_condition(tuple(arms)),
            "relatedAction": [_related(anchor, point.offset_days, point.window)],
        }
        for anchor, arms in by_anchor.items()
    ]
    return action


def _condition(arms: tuple[str, ...]) -> dict[str, Any]:
    """``condition`` making an action applicable in some arms only (nothing for every arm)."""
    if not arms:
        return {}
    listed = " | ".join(f"'{arm}'" for arm in arms)
    return {
        "condition": [
            {
                "kind": "applicability",
                "expression": {
                    "description": f"only in {', '.join(arms)}",
                    "language": "text/fhirpath",
                    "expression": f"%researchSubject.assignedArm in ({listed})",
                },
            }
        ]
    }


def _related(anchor: str, offset: int, window: Window | None) -> dict[str, Any]:
    """Offset and window from the anchor; negative offsets become ``before-start``."""
    before = offset < 0
    sign = -1 if before else 1
    low, high = (window.low, window.high) if window else (offset, offset)
    low, high = sorted((sign * low, sign * high))
    return {
        "extension": [
            {"url": WINDOW_EXTENSION, "valueRange": {"low": days(low), "high": days(high)}}
        ],
        "actionId": anchor,
        "relationship": "before-start" if before else "after-start",
        "offsetDuration": days(sign * offset),
    }

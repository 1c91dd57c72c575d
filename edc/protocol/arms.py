"""One arm's own schedule: arm-specific events, visits and forms, and per-arm anchors (pure).

A protocol may say that an event or visit happens in some arms only (``arms: [ARM-A]``: the
procedure day of the intervention arm), that a form is due only in some arms at any visit
listing it (``forms: [{id: procedure, arms: [ARM-A]}]``), and that an event or visit counts
from another anchor in some arms (``arm_anchors: {ARM-B: rt-start}``: "day 0" is the procedure
day in one arm and the first radiotherapy fraction in the other). ``for_arm`` resolves all of
it into the plain schedule that arm follows, so the visit plan, the deviation engine, the
expected forms and the generator work on it unchanged. Before randomization the arm is not
known: the checks keep every arm-specific point after it.
"""

from __future__ import annotations

from typing import TypeVar

from edc.protocol.model import Event, Protocol, Schedule, Visit

P = TypeVar("P", Event, Visit)


def is_arm_specific(protocol: Protocol) -> bool:
    """Whether any event, visit or form of the protocol depends on the arm."""
    schedule = protocol.schedule
    points: list[Event | Visit] = [*schedule.events, *schedule.visits]
    return any(p.arms or p.arm_anchors for p in points) or any(f.arms for f in protocol.forms)


def applies(arms: tuple[str, ...], arm: str) -> bool:
    return not arms or arm in arms


def form_arms(protocol: Protocol) -> dict[str, tuple[str, ...]]:
    """Form id -> the arms it is due in (only the arm-specific forms)."""
    return {form.id: form.arms for form in protocol.forms if form.arms}


def for_arm(protocol: Protocol, arm: str | None) -> Schedule:
    """The schedule a subject of ``arm`` follows (the protocol's own when nothing depends on
    the arm, or when the arm is not known yet)."""
    schedule = protocol.schedule
    if not arm or not is_arm_specific(protocol):
        return schedule
    only = form_arms(protocol)
    events = tuple(_resolved(event, arm) for event in schedule.events if applies(event.arms, arm))
    visits = tuple(
        _resolved(visit, arm).model_copy(
            update={"forms": tuple(f for f in visit.forms if applies(only.get(f, ()), arm))}
        )
        for visit in schedule.visits
        if applies(visit.arms, arm)
    )
    return Schedule.model_construct(events=events, visits=visits)


def _resolved(point: P, arm: str) -> P:
    anchor = point.arm_anchors.get(arm)
    if anchor is None or anchor == point.anchor:
        return point
    return point.model_copy(update={"anchor": anchor})


def visit_forms_by_arm(protocol: Protocol) -> dict[str | None, dict[str, tuple[str, ...]]]:
    """Arm (None: every arm, when nothing depends on it) -> visit id -> forms due there."""
    arms: list[str | None] = (
        [arm.id for arm in protocol.arms] if is_arm_specific(protocol) else [None]
    )
    return {arm: {visit.id: visit.forms for visit in for_arm(protocol, arm).visits} for arm in arms}

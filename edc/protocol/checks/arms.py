"""Checks of the arm-specific schedule and forms (``edc.protocol.arms``).

Every arm named must be one of the protocol's; a per-arm anchor must be an event or visit; in
each arm, every point's anchor must exist in that arm's schedule; whatever depends on the
arm must come after randomization (before it the arm is not known); and a blinded study has
no arm-specific schedule at all: the visit plan, casebook, subject page and dashboard show
every reader which visits and forms a subject has, so a visit, form or anchor of one arm
would tell blinded readers the allocation (nothing masks the schedule per role).
"""

from __future__ import annotations

from edc.located_yaml import Reporter
from edc.protocol import arms as protocol_arms
from edc.protocol import timeline
from edc.protocol.model import Event, Protocol, Visit


def check(protocol: Protocol, report: Reporter) -> None:
    arm_ids = [arm.id for arm in protocol.arms]
    schedule = protocol.schedule
    points: list[tuple[tuple[str, str, int], Event | Visit]] = [
        (("schedule", "events", index), event) for index, event in enumerate(schedule.events)
    ] + [(("schedule", "visits", index), visit) for index, visit in enumerate(schedule.visits)]
    ids = {point.id for _, point in points}
    for path, point in points:
        _known_arms(report, (*path, "arms"), point.arms, arm_ids)
        for arm, anchor in point.arm_anchors.items():
            where = (*path, "arm_anchors", arm)
            if arm not in arm_ids:
                report.add(where, _unknown(arm, arm_ids))
            elif anchor not in ids:
                report.add(where, f"unknown anchor {anchor!r} (not an event or visit)")
            elif not protocol_arms.applies(point.arms, arm):
                report.add(where, f"{point.id!r} is not in {arm} (arms: {', '.join(point.arms)})")
        if isinstance(point, Visit) and point.unscheduled and (point.arms or point.arm_anchors):
            report.add(path, "an unscheduled visit cannot be arm-specific")
    for index, form in enumerate(protocol.forms):
        _known_arms(report, ("forms", index, "arms"), form.arms, arm_ids)
    _check_blinded(protocol, report, points)
    if report.problems:
        return  # the per-arm checks below need known arms and anchors
    _check_per_arm(protocol, report, points)


def _check_blinded(
    protocol: Protocol,
    report: Reporter,
    points: list[tuple[tuple[str, str, int], Event | Visit]],
) -> None:
    blinding = protocol.randomization.blinding
    if blinding == "open-label":
        return
    why = (
        f"the study is {blinding}: an arm-specific {{what}} would reveal the allocation to "
        "blinded readers (visit plans, casebook, subject page, dashboard); give every arm the "
        "same schedule or make the study open-label"
    )
    for path, point in points:
        what = "visit" if isinstance(point, Visit) else "event"
        if point.arms:
            report.add((*path, "arms"), why.format(what=what))
        if point.arm_anchors:
            report.add((*path, "arm_anchors"), why.format(what=f"{what} anchor"))
    for index, form in enumerate(protocol.forms):
        if form.arms:
            report.add(("forms", index, "arms"), why.format(what="form"))


def _unknown(arm: str, arm_ids: list[str]) -> str:
    return f"unknown arm {arm!r} (arms: {', '.join(arm_ids)})"


def _known_arms(
    report: Reporter, path: tuple[str | int, ...], arms: tuple[str, ...], arm_ids: list[str]
) -> None:
    for index, arm in enumerate(arms):
        if arm not in arm_ids:
            report.add((*path, index), _unknown(arm, arm_ids))


def _check_per_arm(
    protocol: Protocol,
    report: Reporter,
    points: list[tuple[tuple[str, str, int], Event | Visit]],
) -> None:
    event = protocol.randomization.event
    only = protocol_arms.form_arms(protocol)
    reported: set[tuple[str, str]] = set()
    early: set[str] = set()
    for arm in protocol.arms:
        mine = protocol_arms.for_arm(protocol, arm.id)
        mine_points: list[Event | Visit] = [*mine.events, *mine.visits]
        here = {p.id for p in mine_points}
        for path, point in points:
            if point.id not in here:
                continue
            resolved = next(p for p in mine_points if p.id == point.id)
            if resolved.anchor is not None and resolved.anchor not in here:
                key = (point.id, resolved.anchor)
                if key not in reported:
                    reported.add(key)
                    report.add(
                        (*path, "anchor"),
                        f"{point.id!r} is anchored on {resolved.anchor!r}, which is not in "
                        f"{arm.id}: give it arm_anchors: {{{arm.id}: <anchor>}} or limit it "
                        "with arms: [...]",
                    )
                continue
            if (point.arms or point.arm_anchors or _has_arm_forms(point, only)) and (
                point.id not in early
            ):
                chain = timeline.anchors(mine, point.id)
                before = isinstance(resolved, Visit) and timeline.is_before(mine, resolved, event)
                if point.id == event or event not in chain or before:
                    early.add(point.id)
                    report.add(
                        path,
                        f"{point.id!r} depends on the arm but does not come after {event!r} "
                        "(the arm is not known before randomization)",
                    )


def _has_arm_forms(point: Event | Visit, only: dict[str, tuple[str, ...]]) -> bool:
    return isinstance(point, Visit) and any(form in only for form in point.forms)

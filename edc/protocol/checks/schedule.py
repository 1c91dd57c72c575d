"""Checks of the visit schedule: anchors, cycles, windows and the forms due at each visit."""

from __future__ import annotations

from edc.located_yaml import Reporter
from edc.protocol import forms as protocol_forms
from edc.protocol.model import Event, Protocol, Visit, Window


def check(protocol: Protocol, report: Reporter) -> None:
    schedule = protocol.schedule
    timepoints: list[tuple[tuple[str, int], Event | Visit]] = [
        (("events", index), event) for index, event in enumerate(schedule.events)
    ] + [(("visits", index), visit) for index, visit in enumerate(schedule.visits)]
    seen: set[str] = set()
    for (group, index), point in timepoints:
        if point.id in seen:
            report.add(
                ("schedule", group, index, "id"), f"duplicate event or visit id {point.id!r}"
            )
        seen.add(point.id)
    ids = {point.id for _, point in timepoints}

    if not any(event.anchor is None for event in schedule.events):
        report.add(("schedule", "events"), "one event must be the root of the timeline (no anchor)")
    for (group, index), point in timepoints:
        _check_timepoint(report, ("schedule", group, index), point, ids)
    _check_cycles(report, timepoints)
    _check_overlaps(report, schedule.visits)

    form_ids = {form.id for form in protocol.forms} | protocol_forms.builtin_form_ids(protocol)
    for index, visit in enumerate(schedule.visits):
        for form_index, form_id in enumerate(visit.forms):
            if form_id not in form_ids:
                report.add(
                    ("schedule", "visits", index, "forms", form_index), f"unknown form {form_id!r}"
                )


def _check_timepoint(
    report: Reporter, path: tuple[str, str, int], point: Event | Visit, ids: set[str]
) -> None:
    if isinstance(point, Visit) and point.unscheduled:
        if point.anchor or point.offset_days or point.window:
            report.add(path, "an unscheduled visit has no anchor, offset or window")
        return
    if point.anchor is None:
        if isinstance(point, Visit):
            report.add((*path, "anchor"), "a scheduled visit needs an anchor")
        elif point.offset_days or point.window:
            report.add(path, "the root event has no anchor, so it cannot have an offset or window")
        return
    if point.anchor == point.id:
        report.add((*path, "anchor"), f"{point.id!r} is anchored on itself")
    elif point.anchor not in ids:
        report.add((*path, "anchor"), f"unknown anchor {point.anchor!r} (not an event or visit)")
    if point.window and not point.window.low <= point.offset_days <= point.window.high:
        report.add(
            (*path, "window"),
            f"the target offset {point.offset_days} d lies outside the window "
            f"{point.window.low}..{point.window.high} d",
        )


def _check_cycles(
    report: Reporter, timepoints: list[tuple[tuple[str, int], Event | Visit]]
) -> None:
    anchors = {point.id: point.anchor for _, point in timepoints}
    paths = {point.id: ("schedule", group, index, "anchor") for (group, index), point in timepoints}
    reported: set[str] = set()
    for start in anchors:
        chain = [start]
        current = anchors.get(start)
        while current is not None and current in anchors and current not in chain:
            chain.append(current)
            current = anchors[current]
        if current is None or current not in chain:
            continue  # reached the root or an unknown anchor (reported on its own)
        cycle = chain[chain.index(current) :]
        if len(cycle) == 1 or not reported.isdisjoint(cycle):
            continue  # a self-anchor (reported on its own) or a cycle already reported
        reported.update(cycle)
        report.add(paths[cycle[0]], "anchors form a cycle: " + " -> ".join([*cycle, cycle[0]]))


def _span(visit: Visit) -> Window:
    return visit.window or Window(low=visit.offset_days, high=visit.offset_days)


def _check_overlaps(report: Reporter, visits: tuple[Visit, ...]) -> None:
    """Scheduled visits measured from the same anchor must not share a day: a visit date
    inside two windows could not be assigned to one visit."""
    for index, visit in enumerate(visits):
        for other in visits[:index]:
            if visit.unscheduled or other.unscheduled or visit.anchor != other.anchor:
                continue
            mine, theirs = _span(visit), _span(other)
            if mine.low <= theirs.high and theirs.low <= mine.high:
                report.add(
                    ("schedule", "visits", index, "window"),
                    f"window {mine.low}..{mine.high} d of {visit.id!r} overlaps "
                    f"{theirs.low}..{theirs.high} d of {other.id!r} (both from {visit.anchor!r})",
                )

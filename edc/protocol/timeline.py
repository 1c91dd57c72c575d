"""Where visits stand relative to the schedule's milestones (pure, over the protocol model).

The schedule is a tree of events and visits, each anchored on another (the root, usually
consent, has no anchor). A scheduled visit comes *before randomization* when randomization is
not one of its anchors (e.g. a screening visit anchored on consent), or when it is anchored on
randomization itself with a window (or offset) ending on that day at the latest (a baseline
visit at -3..0 days). Stratification factors are collected at such visits, and the synthetic
conduct generates them before edc randomizes.
"""

from __future__ import annotations

from edc.protocol.model import Schedule, Visit


def anchors(schedule: Schedule, point_id: str) -> list[str]:
    """The anchor chain of an event or visit, nearest first, up to the root (cycle-safe)."""
    by_id = {event.id: event.anchor for event in schedule.events}
    by_id.update({visit.id: visit.anchor for visit in schedule.visits})
    chain: list[str] = []
    anchor = by_id.get(point_id)
    while anchor is not None and anchor not in chain:
        chain.append(anchor)
        anchor = by_id.get(anchor)
    return chain


def root_event(schedule: Schedule) -> str:
    """The event the timeline starts from (the first event without an anchor)."""
    return next((e.id for e in schedule.events if e.anchor is None), schedule.events[0].id)


def is_before(schedule: Schedule, visit: Visit, event_id: str) -> bool:
    """Whether a scheduled visit takes place before ``event_id`` (or on its day, at the latest).

    Unscheduled visits have no fixed time and are never "before".
    """
    if visit.unscheduled:
        return False
    chain = anchors(schedule, visit.id) or [root_event(schedule)]
    if event_id not in chain:
        return True
    if visit.anchor != event_id:
        return False
    latest = visit.window.high if visit.window else visit.offset_days
    return latest <= 0


def visits_before(schedule: Schedule, event_id: str) -> list[Visit]:
    """The scheduled visits that take place before ``event_id``, in protocol order."""
    return [visit for visit in schedule.visits if is_before(schedule, visit, event_id)]

"""`edc visits`: the site's worklist of planned visits, and keeping visit plans up to date.

A subject's plan follows their arm's schedule (arm-specific visits and anchors) and is made at
randomization (``update_plans``) and moved when an anchor event
actually happens (the day of the visit anchored on it, or the index procedure in the EHR):
the worklist brings every plan up to date first, recording each move in the audit trail.
Each planned visit is matched to the visit that took place (same visit id) and reported as
done, overdue (its window closed without it), due, or upcoming; ``due_within`` keeps those whose
window opens within that many days, ``overdue`` only the overdue ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from edc import errors
from edc.actions.workspace import Study, Workspace
from edc.protocol import arms
from edc.trial import visits as rules
from edc.trial.permissions import Action
from edc.warehouse import visits as store


@dataclasses.dataclass(frozen=True)
class VisitsRequest:
    study: str
    site: str | None = None
    due_within: int | None = None  # days
    overdue: bool = False

    def check(self) -> VisitsRequest:
        if self.due_within is not None and self.due_within < 0:
            raise errors.BadInputError("--due-within must not be negative")
        if self.due_within is not None and self.overdue:
            raise errors.BadInputError("give --due-within or --overdue, not both")
        return self


@dataclasses.dataclass(frozen=True)
class VisitLine:
    site: str
    subject: str
    visit: str
    status: str
    target: dt.date
    window_low: dt.date
    window_high: dt.date
    anchor: str
    anchor_actual: bool
    done_on: dt.date | None
    in_window: bool | None  # for a visit that took place


@dataclasses.dataclass(frozen=True)
class VisitsResult:
    study: str
    today: dt.date
    moved: int
    visits: list[VisitLine]


def update_plans(session: Session, study: Study, subject_ids: Sequence[int], reason: str) -> int:
    """Bring the subjects' visit plans up to date; returns how many planned visits changed."""
    if not subject_ids:
        return 0
    actual = store.actual_visits(session, subject_ids=subject_ids)
    consents = store.consent_dates(session, subject_ids=subject_ids)
    randomized = store.randomization_dates(session, subject_ids=subject_ids)
    procedures = store.procedure_dates(session, subject_ids=subject_ids)
    arm_of = store.arms(session, subject_ids=subject_ids)
    changed = 0
    for subject_id in subject_ids:
        # A visit or anchor of one arm only is planned in that arm (edc.protocol.arms).
        schedule = arms.for_arm(study.protocol, arm_of.get(subject_id))
        known = rules.milestones(
            schedule,
            randomization_event=study.protocol.randomization.event,
            consent=consents.get(subject_id),
            randomization=randomized.get(subject_id),
            visits=actual.get(subject_id, {}),
            procedures=procedures.get(subject_id, ()),
        )
        plan = rules.plan(schedule, known)
        changed += store.save_plan(session, subject_id=subject_id, plan=plan, reason=reason)
    return changed


def worklist(workspace: Workspace, request: VisitsRequest) -> VisitsResult:
    """The planned visits of the randomized subjects at the site(s), up to date.

    :raises errors.BadInputError: unknown study or site, bad options, or a user who may not
        view visits there.
    """
    request.check()
    today = workspace.clock.now().date()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        sites = workspace.sites_for(session, study, Action.VIEW_VISITS, request.site)
        subjects = store.randomized_subjects(
            session, study_id=study.id, site_ids=[s.id for s in sites]
        )
        ids = [s.id for s in subjects]
        moved = update_plans(session, study, ids, "an anchor event took place")
        done = store.actual_visits(session, subject_ids=ids)
        code = {s.id: s.subject_code for s in subjects}
        site_of = {s.id: study.site_by_id(s.site_id).code for s in subjects}
        lines = []
        for row in store.planned(session, subject_ids=ids):
            visit = rules.PlannedVisit(
                row.visit_id, row.anchor_id or "", row.anchor_date or row.target_date,
                row.anchor_actual, row.target_date, row.window_low, row.window_high,
            )  # fmt: skip
            done_on = done.get(row.subject_id, {}).get(row.visit_id)
            status = rules.status(visit, done_on, today)
            if request.overdue and status != "overdue":
                continue
            if request.due_within is not None and (
                status not in ("due", "upcoming")
                or visit.window_low > today + dt.timedelta(days=request.due_within)
            ):
                continue
            lines.append(
                VisitLine(
                    site=site_of[row.subject_id],
                    subject=code[row.subject_id],
                    visit=row.visit_id,
                    status=status,
                    target=row.target_date,
                    window_low=row.window_low,
                    window_high=row.window_high,
                    anchor=row.anchor_id or "",
                    anchor_actual=row.anchor_actual,
                    done_on=done_on,
                    in_window=rules.in_window(visit, done_on) if done_on else None,
                )
            )
    lines.sort(key=lambda line: (line.target, line.site, line.subject, line.visit))
    return VisitsResult(study.code, today, moved, lines)

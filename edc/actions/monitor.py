"""`edc monitor`: run the deviation engine, list its findings, confirm or dismiss them.

``run`` brings the visit plans up to date (anchors that happened move them) and lets the
engine (``edc.trial.deviations``) reconcile the ``deviation`` table with what the data shows
now; ``after_sync`` does the same as the system after every sync. ``review`` is a person's
decision on one finding (confirmed or dismissed, with a reason), audited with who and why; the
engine later resolves it by itself when the data no longer shows the cause.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import clock as clocks
from edc import config, errors
from edc.actions import edit_checks, score_queries
from edc.actions import visits as visit_actions
from edc.actions.workspace import Study, Workspace
from edc.compiler.naming import Naming
from edc.protocol import arms
from edc.trial import detectors, deviations
from edc.trial.permissions import Action
from edc.warehouse import audit, codes
from edc.warehouse import visits as visit_store
from edc.warehouse.tables.monitoring import DeviationRow
from edc.warehouse.tables.study import SiteRow
from edc.warehouse.tables.subjects import SubjectRow

SYSTEM_ACTOR = "edc monitor"
REVIEWED = ("confirmed", "dismissed")


def rules_for(study: Study, today: dt.date) -> deviations.Rules:
    """The detectors' rules from the study's protocol."""
    protocol = study.protocol
    naming = Naming(protocol.study.canonical_base, protocol.study.id, study.version)
    url = {form.id: naming.canonical("Questionnaire", form.id) for form in protocol.forms}
    visit_forms = {
        visit.id: tuple(url[f] for f in visit.forms if f in url)
        for visit in protocol.schedule.visits
        if not visit.unscheduled
    }
    return deviations.Rules(
        today=today,
        serious_report_hours=protocol.adverse_events.serious_report_hours,
        outcome_days=protocol.monitoring.ae_outcome_days,
        severity=protocol.monitoring.severity(),
        visit_forms=visit_forms,
        form_ids={u: form_id for form_id, u in url.items()},
        form_arms={url[f]: only for f, only in arms.form_arms(protocol).items()},
    )


@dataclasses.dataclass(frozen=True)
class EngineRun:
    deviations: deviations.RunResult
    checks: edit_checks.CheckRun


def run_engine(session: Session, study: Study, now: dt.datetime) -> EngineRun:
    """Update the visit plans, detect and reconcile deviations, run the edit checks and ask
    the sites about received scores the answers do not give (the session is bound to an
    actor)."""
    subjects = visit_store.randomized_subjects(
        session, study_id=study.id, site_ids=[s.id for s in study.sites]
    )
    locked = detectors.locked_subjects(session, study.id)
    visit_actions.update_plans(
        session,
        study,
        [s.id for s in subjects if s.id not in locked],
        "an anchor event took place",
    )
    rules = rules_for(study, now.date())
    findings = deviations.detect(session, study.id, rules)
    found = deviations.reconcile(session, study.id, findings, rules, now)
    checks = edit_checks.run_checks(session, study, now) + score_queries.run(session, study, now)
    return EngineRun(found, checks)


@dataclasses.dataclass(frozen=True)
class KindCount:
    kind: str
    open: int


@dataclasses.dataclass(frozen=True)
class MonitorRunResult:
    study: str
    found: int
    opened: int
    updated: int
    resolved: int
    reopened: int
    open_by_kind: list[KindCount]
    # Edit checks: responses failing one, and the data queries opened, closed, reopened.
    checks_failing: int
    queries_opened: int
    queries_closed: int
    queries_reopened: int


def _result(session: Session, study: Study, engine: EngineRun) -> MonitorRunResult:
    run, checks = engine.deviations, engine.checks
    rows = session.scalars(
        select(DeviationRow.kind).where(
            DeviationRow.study_id == study.id, DeviationRow.status == "open"
        )
    )
    by_kind: dict[str, int] = {}
    for kind in rows:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return MonitorRunResult(
        study.code,
        run.found,
        run.opened,
        run.updated,
        run.resolved,
        run.reopened,
        [KindCount(k, n) for k, n in sorted(by_kind.items())],
        checks.failing,
        checks.opened,
        checks.closed,
        checks.reopened,
    )


def run(workspace: Workspace, study_code: str) -> MonitorRunResult:
    """Run the deviation engine on a study as the acting user.

    :raises errors.BadInputError: unknown study, or a user who may not run it.
    """
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        workspace.act(session, study, Action.RUN_MONITOR, None)
        found = run_engine(session, study, workspace.clock.now())
        return _result(session, study, found)


def after_sync(
    settings: config.Settings, study_code: str, clock: clocks.Clock | None = None
) -> MonitorRunResult:
    """Run the engine as the system, after a sync brought new data."""
    with Workspace.open(settings, clock=clock, user=SYSTEM_ACTOR) as workspace:
        with workspace.transaction() as session:
            study = workspace.study(session, study_code)
            audit.bind(session, actor=SYSTEM_ACTOR, role="system", clock=workspace.clock)
            found = run_engine(session, study, workspace.clock.now())
            return _result(session, study, found)


@dataclasses.dataclass(frozen=True)
class DeviationLine:
    id: int
    site: str
    subject: str | None
    kind: str
    severity: str
    status: str
    detected_at: dt.datetime
    description: str
    evidence: dict[str, Any] | None
    status_reason: str | None


@dataclasses.dataclass(frozen=True)
class DeviationList:
    study: str
    deviations: list[DeviationLine]


@dataclasses.dataclass(frozen=True)
class ListRequest:
    study: str
    site: str | None = None
    status: str | None = None
    kind: str | None = None

    def check(self) -> ListRequest:
        if self.status is not None and self.status not in codes.DEVIATION_STATUSES:
            raise errors.BadInputError(
                f"--status {self.status!r} is not one of {', '.join(codes.DEVIATION_STATUSES)}"
            )
        if self.kind is not None and self.kind not in codes.DEVIATION_KINDS:
            raise errors.BadInputError(
                f"--kind {self.kind!r} is not one of {', '.join(codes.DEVIATION_KINDS)}"
            )
        return self


def list_deviations(workspace: Workspace, request: ListRequest) -> DeviationList:
    """The study's deviations at the sites the user may see (all statuses unless asked).

    :raises errors.BadInputError: unknown study, site, status or kind; no right to view.
    """
    request.check()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        sites = workspace.sites_for(session, study, Action.VIEW_DATA, request.site)
        query = (
            select(DeviationRow, SiteRow.code, SubjectRow.subject_code)
            .join(SiteRow, SiteRow.id == DeviationRow.site_id)
            .outerjoin(SubjectRow, SubjectRow.id == DeviationRow.subject_id)
            .where(
                DeviationRow.study_id == study.id,
                DeviationRow.site_id.in_([s.id for s in sites]),
            )
            .order_by(DeviationRow.id)
        )
        if request.status is not None:
            query = query.where(DeviationRow.status == request.status)
        if request.kind is not None:
            query = query.where(DeviationRow.kind == request.kind)
        lines = [
            DeviationLine(
                row.id,
                site,
                subject,
                row.kind,
                row.severity,
                row.status,
                row.detected_at,
                row.description,
                row.evidence,
                row.status_reason,
            )
            for row, site, subject in session.execute(query)
        ]
    return DeviationList(study.code, lines)


@dataclasses.dataclass(frozen=True)
class ReviewRequest:
    study: str
    deviation_id: int
    status: str  # confirmed | dismissed
    reason: str


def review(workspace: Workspace, request: ReviewRequest) -> DeviationLine:
    """Confirm or dismiss one deviation, with a reason (audited with the person).

    :raises errors.BadInputError: unknown study or deviation, a blank reason, a status other
        than confirmed/dismissed, a resolved deviation, or a user who may not review there.
    """
    if request.status not in REVIEWED:
        raise errors.BadInputError(
            f"a deviation can be {' or '.join(REVIEWED)}, not {request.status!r}"
        )
    if not request.reason.strip():
        raise errors.BadInputError("--reason must not be blank")
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        row = session.get(DeviationRow, request.deviation_id)
        if row is None or row.study_id != study.id:
            raise errors.BadInputError(f"{study.code} has no deviation {request.deviation_id}")
        site = study.site_by_id(row.site_id)
        workspace.act(session, study, Action.REVIEW_DEVIATION, site.code)
        if row.subject_id in detectors.locked_subjects(session, study.id):
            raise errors.BadInputError(
                f"deviation {row.id}: its subject is frozen or locked (edc lock unlock first)"
            )
        if row.status == deviations.RESOLVED:
            raise errors.ConflictError(
                f"deviation {row.id} is resolved (the data no longer shows it): nothing to review"
            )
        if row.status == request.status:
            raise errors.ConflictError(f"deviation {row.id} is {row.status} already")
        with audit.reason(session, request.reason):
            row.status = request.status
            row.status_reason = request.reason
        session.flush()
        subject = session.get(SubjectRow, row.subject_id) if row.subject_id else None
        return DeviationLine(
            row.id,
            site.code,
            subject.subject_code if subject else None,
            row.kind,
            row.severity,
            row.status,
            row.detected_at,
            row.description,
            row.evidence,
            row.status_reason,
        )

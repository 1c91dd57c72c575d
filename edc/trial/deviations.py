"""The deviation engine: protocol deviations found from the protocol and the synced EHR dates.

Each detector is one SELECT over the normalized tables for a whole study (no loop over
subjects): it returns the findings it sees now. ``reconcile`` then makes the ``deviation`` table
agree with them: a new finding is inserted (status ``open``), one whose evidence changed is
updated, one that is gone is ``resolved`` (the data that caused it changed), and a resolved
one that comes back opens again. The fingerprint (kind, subject, what was compared) names a
finding, so running the engine again when nothing changed writes nothing. Confirmed and
dismissed findings keep the status a person gave them while the cause lasts.

Kinds and what they compare (days are UTC calendar days):

- ``visit_out_of_window``: a visit's date outside its planned window (``planned_visit``);
- ``missed_visit``: no visit, the window closed (before today, and before the subject's
  withdrawal or death when there was one);
- ``visit_before_consent`` / ``form_before_consent``: a visit's day, or a form's authored day,
  before the day of the subject's first consent;
- ``randomized_before_consent``: randomized before the first consent was signed;
  ``randomized_before_eligibility``: a subject edc enrolled, randomized with no eligibility
  sign-off or before it;
- ``missing_form``: a visit that took place lacks a form the schedule lists for it;
- ``form_after_withdrawal``: a visit form authored after the day of withdrawal or death;
- ``late_sae_report``: a serious adverse event recorded more than the protocol's reporting
  hours after the site became aware of it (``detected``, else the onset);
- ``ae_outcome_missing``: a grade >= 3 event still ``unknown`` (no outcome) N days after onset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from edc.trial import detectors, safety_detectors
from edc.trial.findings import Detector, Finding, Rules, RunResult
from edc.warehouse import audit
from edc.warehouse.tables.monitoring import DeviationRow

__all__ = ["Finding", "Rules", "RunResult", "detect", "reconcile"]

DETECTOR = "detector"
# What a finding that is gone becomes, and the statuses the engine may resolve.
RESOLVED = "resolved"
LIVE = ("open", "confirmed", "dismissed")


DETECTORS: tuple[Detector, ...] = (
    detectors.out_of_window,
    detectors.missed_visit,
    detectors.before_consent,
    detectors.randomization_order,
    detectors.missing_forms,
    detectors.after_end,
    safety_detectors.late_sae,
    safety_detectors.outcome_missing,
)


def detect(session: Session, study_id: int, rules: Rules) -> list[Finding]:
    """Every finding of every detector, by fingerprint (a finding seen twice counts once)."""
    found: dict[str, Finding] = {}
    for detector in DETECTORS:
        for finding in detector(session, study_id, rules):
            found.setdefault(finding.fingerprint, finding)
    return sorted(found.values(), key=lambda f: f.fingerprint)


def reconcile(
    session: Session, study_id: int, findings: Sequence[Finding], rules: Rules, now: dt.datetime
) -> RunResult:
    """Make the engine's rows in ``deviation`` agree with ``findings`` (audited)."""
    existing = {
        row.fingerprint: row
        for row in session.scalars(
            select(DeviationRow).where(
                DeviationRow.study_id == study_id, DeviationRow.origin == DETECTOR
            )
        )
    }
    opened = updated = resolved = reopened = 0
    locked = detectors.locked_subjects(session, study_id)
    seen = set()
    for finding in findings:
        seen.add(finding.fingerprint)
        if finding.subject_id in locked:
            continue  # frozen or locked: its deviations stay as they were at the lock
        row = existing.get(finding.fingerprint)
        if row is None:
            session.add(
                DeviationRow(
                    study_id=study_id,
                    site_id=finding.site_id,
                    subject_id=finding.subject_id,
                    kind=finding.kind,
                    severity=rules.severity.get(finding.kind, "minor"),
                    fingerprint=finding.fingerprint,
                    description=finding.description,
                    detected_at=now,
                    status="open",
                    origin=DETECTOR,
                    evidence=finding.evidence,
                )
            )
            opened += 1
            continue
        if row.status == RESOLVED:
            with audit.reason(session, "the cause is back in the data"):
                row.status = "open"
                row.resolved_at = None
                row.status_reason = None
            reopened += 1
        if row.evidence != finding.evidence or row.description != finding.description:
            with audit.reason(session, "the data the finding rests on changed"):
                row.evidence = finding.evidence
                row.description = finding.description
            updated += 1
    for fingerprint, row in existing.items():
        if fingerprint not in seen and row.status in LIVE and row.subject_id not in locked:
            with audit.reason(session, "later data removed the cause"):
                row.status = RESOLVED
                row.resolved_at = now
            resolved += 1
    session.flush()
    return RunResult(len(findings), opened, updated, resolved, reopened)

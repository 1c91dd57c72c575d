"""The safety deviation detectors: late serious adverse event reports, grade >= 3 events
without an outcome (see ``edc.trial.deviations``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc.trial import sql_time
from edc.trial.detectors import iso, subjects
from edc.trial.findings import Finding, Rules
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.safety import AdverseEventRow


def late_sae(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    dialect = session.get_bind().dialect.name
    s = subjects(study_id)
    ae = AdverseEventRow
    detected = sql_time.json_text(dialect, RawResourceRow.json_text, "detected")
    # Aware when detected (an instant with its offset); else from the start of the onset day.
    # The clock runs from awareness (``detected``); else from the onset instant when the
    # source gave one (``onset_at``), else from the start of the onset day (a date only).
    onset_start = func.coalesce(
        sql_time.instant_of_text(dialect, detected),
        ae.onset_at,
        sql_time.start_of_day(dialect, ae.onset_date),
    )
    delay = sql_time.hours_between(dialect, onset_start, ae.reported_at)
    rows = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            ae.id,
            ae.ctcae_term,
            ae.onset_date,
            ae.reported_at,
            detected,
            delay,
            RawResourceRow.logical_id,
        )
        .join(ae, ae.subject_id == s.c.id)
        .outerjoin(RawResourceRow, RawResourceRow.id == ae.raw_resource_id)
        .where(ae.serious.is_(True), ae.reported_at.is_not(None))
        .where(delay > rules.serious_report_hours)
    )
    for sid, site, code, ae_id, term, onset, reported, aware, hours, logical in rows:
        key = logical or f"ae-{ae_id}"
        yield Finding(
            "late_sae_report",
            sid,
            site,
            code,
            key,
            f"serious adverse event {term!r} reported {float(hours):.0f} h after awareness "
            f"(limit {rules.serious_report_hours} h)",
            {
                "refs": [f"AdverseEvent/{logical}"] if logical else [],
                "onset": iso(onset),
                "aware": aware,
                "reported": iso(reported),
                "limit_hours": rules.serious_report_hours,
            },
        )


def outcome_missing(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    s = subjects(study_id)
    ae = AdverseEventRow
    latest_onset = rules.today - dt.timedelta(days=rules.outcome_days)
    rows = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            ae.id,
            ae.ctcae_term,
            ae.grade,
            ae.onset_date,
            RawResourceRow.logical_id,
        )
        .join(ae, ae.subject_id == s.c.id)
        .outerjoin(RawResourceRow, RawResourceRow.id == ae.raw_resource_id)
        .where(ae.grade >= 3, ae.outcome == "unknown", ae.onset_date < latest_onset)
    )
    for sid, site, code, ae_id, term, grade, onset, logical in rows:
        yield Finding(
            "ae_outcome_missing",
            sid,
            site,
            code,
            logical or f"ae-{ae_id}",
            f"grade {grade} adverse event {term!r} (onset {onset}) has no outcome after "
            f"{rules.outcome_days} days",
            {
                "refs": [f"AdverseEvent/{logical}"] if logical else [],
                "onset": iso(onset),
                "grade": grade,
                "days": rules.outcome_days,
            },
        )

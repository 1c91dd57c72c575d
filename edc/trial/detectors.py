"""The deviation detectors: one SELECT each over a whole study (see ``edc.trial.deviations``).

Schedule, consent and form detectors; the safety ones are in ``edc.trial.safety_detectors``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, and_, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from edc.trial import sql_time
from edc.trial.findings import Finding, Rules
from edc.warehouse.tables.crf import FormResponseRow, PlannedVisitRow, VisitRow
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.lock import LockStateRow
from edc.warehouse.tables.subjects import AllocationRow, ConsentRow, PatientLinkRow, SubjectRow


def iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def subjects(study_id: int) -> Any:
    return (
        select(SubjectRow.id, SubjectRow.site_id, SubjectRow.subject_code)
        .where(SubjectRow.study_id == study_id)
        .subquery("s")
    )


def _first_consent(study_id: int) -> Any:
    """Subject -> the first consent's instant and reference (recorded in edc or synced)."""
    direct = (
        select(
            ConsentRow.subject_id.label("subject_id"),
            ConsentRow.signed_at.label("signed_at"),
            ConsentRow.fhir_reference.label("ref"),
        )
        .join(SubjectRow, SubjectRow.id == ConsentRow.subject_id)
        .where(SubjectRow.study_id == study_id)
    )
    via_link = (
        select(
            PatientLinkRow.subject_id.label("subject_id"),
            ConsentRow.signed_at.label("signed_at"),
            ConsentRow.fhir_reference.label("ref"),
        )
        .join(ConsentRow, ConsentRow.patient_link_id == PatientLinkRow.id)
        .where(PatientLinkRow.study_id == study_id, PatientLinkRow.subject_id.is_not(None))
    )
    every = union_all(direct, via_link).subquery("every_consent")
    return (
        select(
            every.c.subject_id,
            func.min(every.c.signed_at).label("signed_at"),
            func.min(every.c.ref).label("ref"),
        )
        .group_by(every.c.subject_id)
        .subquery("consent_first")
    )


def _ended(session: Session, study_id: int) -> Any:
    """Subject -> the day their participation ended early: withdrawal, else death.

    Withdrawal is ``ResearchSubject.period.end`` of a withdrawn ResearchSubject; death is
    ``Patient.deceasedDateTime``; both read from the raw resources of the subject's patient.
    """
    dialect = session.get_bind().dialect.name
    raw = RawResourceRow
    link = PatientLinkRow
    withdrawn = (
        select(
            link.subject_id.label("subject_id"),
            sql_time.date_of_text(
                dialect, sql_time.json_text(dialect, raw.json_text, "period", "end")
            ).label("day"),
        )
        .join(raw, and_(raw.source == link.source, raw.patient_id == link.patient_id))
        .where(
            link.study_id == study_id,
            link.subject_id.is_not(None),
            raw.resource_type == "ResearchSubject",
            raw.direction == "received",
            sql_time.json_text(dialect, raw.json_text, "status") == "withdrawn",
        )
    )
    died = (
        select(
            link.subject_id.label("subject_id"),
            sql_time.date_of_text(
                dialect, sql_time.json_text(dialect, raw.json_text, "deceasedDateTime")
            ).label("day"),
        )
        .join(raw, and_(raw.source == link.source, raw.patient_id == link.patient_id))
        .where(
            link.study_id == study_id,
            link.subject_id.is_not(None),
            raw.resource_type == "Patient",
            raw.direction == "received",
            sql_time.json_text(dialect, raw.json_text, "deceasedDateTime").is_not(None),
        )
    )
    every = union_all(withdrawn, died).subquery("every_end")
    return (
        select(every.c.subject_id, func.min(every.c.day).label("day"))
        .where(every.c.day.is_not(None))
        .group_by(every.c.subject_id)
        .subquery("ended")
    )


def _day(value: Any) -> dt.date:
    """A day from the database (a date, or ISO text from SQLite's date functions)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def out_of_window(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    s = subjects(study_id)
    rows = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            PlannedVisitRow.visit_id,
            PlannedVisitRow.target_date,
            PlannedVisitRow.window_low,
            PlannedVisitRow.window_high,
            VisitRow.visit_date,
            VisitRow.encounter_reference,
        )
        .join(PlannedVisitRow, PlannedVisitRow.subject_id == s.c.id)
        .join(
            VisitRow,
            and_(
                VisitRow.subject_id == PlannedVisitRow.subject_id,
                VisitRow.visit_id == PlannedVisitRow.visit_id,
            ),
        )
        .where(
            or_(
                VisitRow.visit_date < PlannedVisitRow.window_low,
                VisitRow.visit_date > PlannedVisitRow.window_high,
            )
        )
    )
    for sid, site, code, visit, target, low, high, day, ref in rows:
        side = "early" if day < low else "late"
        yield Finding(
            "visit_out_of_window",
            sid,
            site,
            code,
            visit,
            f"visit {visit} on {day} is {side}: window {low} to {high} (target {target})",
            {
                "refs": [ref] if ref else [],
                "visit": visit,
                "date": iso(day),
                "window": [iso(low), iso(high)],
                "target": iso(target),
                "side": side,
            },
        )


def missed_visit(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    s = subjects(study_id)
    ended = _ended(session, study_id)
    took_place = exists().where(
        VisitRow.subject_id == PlannedVisitRow.subject_id,
        VisitRow.visit_id == PlannedVisitRow.visit_id,
    )
    rows = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            PlannedVisitRow.visit_id,
            PlannedVisitRow.window_low,
            PlannedVisitRow.window_high,
            ended.c.day,
        )
        .join(PlannedVisitRow, PlannedVisitRow.subject_id == s.c.id)
        .outerjoin(ended, ended.c.subject_id == s.c.id)
        .where(PlannedVisitRow.window_high < rules.today, ~took_place)
    )
    for sid, site, code, visit, low, high, end in rows:
        if end is not None and _day(end) <= high:
            continue  # the window was still open when the subject's participation ended
        yield Finding(
            "missed_visit",
            sid,
            site,
            code,
            visit,
            f"visit {visit} missed: its window {low} to {high} closed without it",
            {
                "refs": [],
                "visit": visit,
                "window": [iso(low), iso(high)],
                "today": iso(rules.today),
            },
        )


def before_consent(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    dialect = session.get_bind().dialect.name
    s = subjects(study_id)
    consent = _first_consent(study_id)
    consent_day = sql_time.day_of(dialect, consent.c.signed_at)
    visits = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            VisitRow.visit_id,
            VisitRow.visit_date,
            VisitRow.encounter_reference,
            consent.c.signed_at,
            consent.c.ref,
        )
        .join(VisitRow, VisitRow.subject_id == s.c.id)
        .join(consent, consent.c.subject_id == s.c.id)
        .where(VisitRow.visit_date < consent_day)
    )
    for sid, site, code, visit, day, ref, signed, consent_ref in visits:
        yield Finding(
            "visit_before_consent",
            sid,
            site,
            code,
            visit,
            f"visit {visit} on {day} before consent on {signed.date()}",
            {
                "refs": [r for r in (ref, consent_ref) if r],
                "visit": visit,
                "date": iso(day),
                "consent": iso(signed),
            },
        )
    forms = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            FormResponseRow.id,
            FormResponseRow.questionnaire_url,
            FormResponseRow.authored,
            consent.c.signed_at,
            consent.c.ref,
            RawResourceRow.logical_id,
        )
        .join(FormResponseRow, FormResponseRow.subject_id == s.c.id)
        .join(consent, consent.c.subject_id == s.c.id)
        .outerjoin(RawResourceRow, RawResourceRow.id == FormResponseRow.raw_resource_id)
        .where(sql_time.day_of(dialect, FormResponseRow.authored) < consent_day)
    )
    for sid, site, code, _rid, url, authored, signed, consent_ref, logical in forms:
        form = rules.form_ids.get(url, url)
        ref = f"QuestionnaireResponse/{logical}" if logical else None
        yield Finding(
            "form_before_consent",
            sid,
            site,
            code,
            logical or str(_rid),
            f"form {form} authored {authored.date()} before consent on {signed.date()}",
            {
                "refs": [r for r in (ref, consent_ref) if r],
                "form": form,
                "authored": iso(authored),
                "consent": iso(signed),
            },
        )


def randomization_order(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    s = subjects(study_id)
    consent = _first_consent(study_id)
    early = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            AllocationRow.randomized_at,
            consent.c.signed_at,
            consent.c.ref,
        )
        .join(AllocationRow, AllocationRow.subject_id == s.c.id)
        .outerjoin(consent, consent.c.subject_id == s.c.id)
        .where(
            or_(consent.c.signed_at.is_(None), AllocationRow.randomized_at < consent.c.signed_at)
        )
    )
    for sid, site, code, randomized, signed, consent_ref in early:
        what = f"consent on {signed.isoformat()}" if signed else "any consent"
        yield Finding(
            "randomized_before_consent",
            sid,
            site,
            code,
            "randomization",
            f"randomized {randomized.isoformat()} before {what}",
            {
                "refs": [consent_ref] if consent_ref else [],
                "randomized": iso(randomized),
                "consent": iso(signed),
            },
        )
    unsigned = session.execute(
        select(
            SubjectRow.id,
            SubjectRow.site_id,
            SubjectRow.subject_code,
            AllocationRow.randomized_at,
            SubjectRow.enrolled_at,
            SubjectRow.eligibility_signed_by,
        )
        .join(AllocationRow, AllocationRow.subject_id == SubjectRow.id)
        .where(
            SubjectRow.study_id == study_id,
            SubjectRow.number_in_site.is_not(None),  # enrolled in edc: the sign-off is known
            or_(
                SubjectRow.eligibility_signed_by.is_(None),
                SubjectRow.enrolled_at.is_(None),
                AllocationRow.randomized_at < SubjectRow.enrolled_at,
            ),
        )
    )
    for sid, site, code, randomized, signed_at, signed_by in unsigned:
        when = f"its sign-off on {signed_at.isoformat()}" if signed_by and signed_at else "sign-off"
        yield Finding(
            "randomized_before_eligibility",
            sid,
            site,
            code,
            "randomization",
            f"randomized {randomized.isoformat()} before eligibility {when}",
            {
                "refs": [],
                "randomized": iso(randomized),
                "signed_off": iso(signed_at),
                "signed_by": signed_by,
            },
        )


def missing_forms(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    # A form of some arms only is expected in those arms (one row per arm; NULL: every arm).
    triples = [
        (visit, url, arm)
        for visit, urls in rules.visit_forms.items()
        for url in urls
        for arm in rules.form_arms.get(url) or (None,)
    ]
    if not triples:
        return
    expected = union_all(
        *(
            select(
                literal(visit).label("visit_id"),
                literal(url).label("url"),
                literal(arm, type_=String(64)).label("arm"),
            )
            for visit, url, arm in triples
        )
    ).subquery("expected")
    s = subjects(study_id)
    filled = exists().where(
        FormResponseRow.subject_id == VisitRow.subject_id,
        FormResponseRow.visit_id == VisitRow.visit_id,
        FormResponseRow.questionnaire_url == expected.c.url,
    )
    rows = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            VisitRow.visit_id,
            VisitRow.visit_date,
            VisitRow.encounter_reference,
            expected.c.url,
        )
        .join(VisitRow, VisitRow.subject_id == s.c.id)
        .join(expected, expected.c.visit_id == VisitRow.visit_id)
        .outerjoin(AllocationRow, AllocationRow.subject_id == s.c.id)
        .where(~filled, or_(expected.c.arm.is_(None), expected.c.arm == AllocationRow.arm))
    )
    for sid, site, code, visit, day, ref, url in rows:
        form = rules.form_ids.get(url, url)
        yield Finding(
            "missing_form",
            sid,
            site,
            code,
            f"{visit}:{form}",
            f"visit {visit} on {day} has no {form} form",
            {"refs": [ref] if ref else [], "visit": visit, "date": iso(day), "form": form},
        )


def after_end(session: Session, study_id: int, rules: Rules) -> Iterable[Finding]:
    dialect = session.get_bind().dialect.name
    s = subjects(study_id)
    ended = _ended(session, study_id)
    rows = session.execute(
        select(
            s.c.id,
            s.c.site_id,
            s.c.subject_code,
            FormResponseRow.id,
            FormResponseRow.questionnaire_url,
            FormResponseRow.authored,
            ended.c.day,
            RawResourceRow.logical_id,
        )
        .join(FormResponseRow, FormResponseRow.subject_id == s.c.id)
        .join(ended, ended.c.subject_id == s.c.id)
        .outerjoin(RawResourceRow, RawResourceRow.id == FormResponseRow.raw_resource_id)
        .where(
            FormResponseRow.visit_id.is_not(None),
            sql_time.day_of(dialect, FormResponseRow.authored) > ended.c.day,
        )
    )
    for sid, site, code, rid, url, authored, end, logical in rows:
        form = rules.form_ids.get(url, url)
        yield Finding(
            "form_after_withdrawal",
            sid,
            site,
            code,
            logical or str(rid),
            f"form {form} authored {authored.date()} after participation ended on {_day(end)}",
            {
                "refs": [f"QuestionnaireResponse/{logical}"] if logical else [],
                "form": form,
                "authored": iso(authored),
                "ended": iso(_day(end)),
            },
        )


def locked_subjects(session: Session, study_id: int) -> set[int]:
    """Subjects in a frozen or locked unit (the study, their site, or themselves).

    The lock triggers refuse any write to their rows; the engine leaves their findings as they
    were when the lock was signed, and actions refuse before writing.
    """
    frozen = (
        select(SubjectRow.id)
        .join(LockStateRow, LockStateRow.study_id == SubjectRow.study_id)
        .where(
            SubjectRow.study_id == study_id,
            LockStateRow.state.in_(("frozen", "locked")),
            or_(
                LockStateRow.subject_id == SubjectRow.id,
                and_(
                    LockStateRow.subject_id.is_(None),
                    or_(
                        LockStateRow.site_id.is_(None),
                        LockStateRow.site_id == SubjectRow.site_id,
                    ),
                ),
            ),
        )
    )
    return {int(i) for i in session.scalars(frozen)}

"""What the subject page and its API show: the visit plan, forms per visit, adverse events,
queries, and any record's audit history, all within the reader's ``Access``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import errors
from edc.actions.access import Access
from edc.actions.audit import HistoryEntry
from edc.actions.definitions import StudyDefinition
from edc.protocol import arms
from edc.warehouse import casebook
from edc.warehouse.tables import AdverseEventRow, FormResponseRow, ItemValueRow

BLINDED = "blinded"


@dataclasses.dataclass(frozen=True)
class FormLine:
    form_id: str
    title: str
    response_id: int | None
    status: str  # a QuestionnaireResponse status, or "missing"
    authored: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class VisitLine:
    visit_id: str
    title: str
    target: dt.date | None
    window: tuple[dt.date, dt.date] | None
    actual: dt.date | None
    state: str  # done, missed, due, upcoming, unplanned
    forms: list[FormLine]


@dataclasses.dataclass(frozen=True)
class AdverseEventLine:
    id: int
    term: str
    grade: int
    serious: bool
    onset: dt.date
    outcome: str
    reported_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Casebook:
    subject: casebook.SubjectHeader
    arm: str | None
    consented_at: dt.datetime | None
    visits: list[VisitLine]
    other_forms: list[FormLine]
    adverse_events: list[AdverseEventLine]
    queries: list[casebook.QueryLine]
    may_enter_data: bool


def get_subject(*, session: Session, access: Access, code: str) -> casebook.SubjectHeader:
    """:raises errors.NotFoundError: no such subject at the reader's sites."""
    found = casebook.find_subject(
        session=session, study_id=access.study_id, site_ids=access.site_ids, code=code
    )
    if found is None:
        raise errors.NotFoundError(f"no subject {code!r} in {access.study_code}")
    return found


def shown_arm(access: Access, arm: str | None) -> str | None:
    """The arm as this reader may see it."""
    return arm if arm is None or access.sees_arms else BLINDED


def subject_casebook(
    *, session: Session, access: Access, definition: StudyDefinition, code: str, today: dt.date
) -> Casebook:
    """Everything the subject page shows.

    :raises errors.NotFoundError: no such subject at the reader's sites.
    """
    subject = get_subject(session=session, access=access, code=code)
    responses = casebook.list_responses(session=session, subject_id=subject.id)
    url_to_form = {str(q["url"]): form_id for form_id, q in definition.questionnaires.items()}
    by_visit: dict[str | None, list[FormResponseRow]] = {}
    for response in responses:
        by_visit.setdefault(response.visit_id, []).append(response)
    planned = {
        p.visit_id: p for p in casebook.list_planned_visits(session=session, subject_id=subject.id)
    }
    actual = {v.visit_id: v for v in casebook.list_visits(session=session, subject_id=subject.id)}
    visits = []
    # The arm's own visits and forms; a blinded reader sees every arm's (the union).
    own = arms.for_arm(definition.protocol, subject.arm if access.sees_arms else None)
    for visit in own.visits:
        plan = planned.get(visit.id)
        happened = actual.get(visit.id)
        done = [r for r in by_visit.pop(visit.id, [])]
        if visit.unscheduled:
            for key in [k for k in by_visit if k and k.split(".")[0] == visit.id]:
                done += by_visit.pop(key)
        forms = _form_lines(definition, visit.forms, done, url_to_form)
        window = (plan.window_low, plan.window_high) if plan else None
        visits.append(
            VisitLine(
                visit.id,
                visit.title,
                plan.target_date if plan else None,
                window,
                happened.visit_date if happened else None,
                _state(visit.unscheduled, window, happened is not None, today),
                forms,
            )
        )
    leftover = [r for rs in by_visit.values() for r in rs]
    consents = casebook.list_consents(session=session, subject_id=subject.id)
    return Casebook(
        subject=subject,
        arm=shown_arm(access, subject.arm),
        consented_at=consents[0].signed_at if consents else None,
        visits=visits,
        other_forms=_form_lines(definition, (), leftover, url_to_form),
        adverse_events=[
            _ae_line(row)
            for row in casebook.list_adverse_events(session=session, subject_id=subject.id)
        ],
        queries=casebook.list_queries(session=session, subject_id=subject.id),
        may_enter_data=access.may("enter_data", subject.site_id),
    )


def _form_lines(
    definition: StudyDefinition,
    expected: tuple[str, ...],
    responses: list[FormResponseRow],
    url_to_form: dict[str, str],
) -> list[FormLine]:
    lines = []
    seen: set[str] = set()
    for response in responses:
        form_id = url_to_form.get(response.questionnaire_url, response.questionnaire_url)
        seen.add(form_id)
        lines.append(
            FormLine(
                form_id,
                definition.form_title(form_id),
                response.id,
                response.status,
                response.authored,
            )
        )
    for form_id in expected:
        if form_id not in seen:
            lines.append(FormLine(form_id, definition.form_title(form_id), None, "missing", None))
    return lines


def _state(
    unscheduled: bool, window: tuple[dt.date, dt.date] | None, happened: bool, today: dt.date
) -> str:
    if happened:
        return "done"
    if unscheduled:
        return "as needed"
    if window is None:
        return "not planned yet"
    low, high = window
    if today > high:
        return "missed"
    return "due" if today >= low else "upcoming"


def _ae_line(row: AdverseEventRow) -> AdverseEventLine:
    return AdverseEventLine(
        row.id, row.ctcae_term, row.grade, row.serious, row.onset_date, row.outcome, row.reported_at
    )


@dataclasses.dataclass(frozen=True)
class AnswerLine:
    item_value_id: int
    link_id: str
    text: str
    value: str


@dataclasses.dataclass(frozen=True)
class ResponseView:
    subject: casebook.SubjectHeader
    response: FormResponseRow
    form_id: str
    title: str
    answers: list[AnswerLine]


def response_view(
    *, session: Session, access: Access, definition: StudyDefinition, code: str, response_id: int
) -> ResponseView:
    """One stored form with its answers, each linked to its audit history.

    :raises errors.NotFoundError: no such subject at the reader's sites, or no such form of it.
    """
    subject = get_subject(session=session, access=access, code=code)
    response = casebook.find_response(
        session=session, subject_id=subject.id, response_id=response_id
    )
    if response is None:
        raise errors.NotFoundError(f"no form #{response_id} for subject {code}")
    form_id = next(
        (f for f, q in definition.questionnaires.items() if q["url"] == response.questionnaire_url),
        response.questionnaire_url,
    )
    texts = _item_texts(definition.questionnaires.get(form_id, {}).get("item", ()))
    answers = [
        AnswerLine(
            value.id, value.link_id, texts.get(value.link_id, value.link_id), display_value(value)
        )
        for value in casebook.list_item_values(session=session, response_id=response.id)
    ]
    return ResponseView(subject, response, form_id, definition.form_title(form_id), answers)


def _item_texts(items: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items if isinstance(items, list) else ():
        found[str(item.get("linkId"))] = str(item.get("text", item.get("linkId")))
        found.update(_item_texts(item.get("item", ())))
    return found


def display_value(value: ItemValueRow) -> str:
    """An item value as a person reads it."""
    if value.value_type == "coding":
        return value.value_text or value.value_code or ""
    for candidate in (
        value.value_number,
        value.value_date,
        value.value_datetime,
        value.value_bool,
        value.value_text,
        value.value_code,
    ):
        if candidate is not None:
            if isinstance(candidate, Decimal):
                candidate = format(candidate.normalize(), "f")
            text = str(candidate).lower() if isinstance(candidate, bool) else str(candidate)
            return f"{text} {value.unit}" if value.unit else text
    return ""


def record_history(
    *, session: Session, access: Access, code: str, table: str, record_id: int
) -> tuple[casebook.SubjectHeader, list[HistoryEntry]]:
    """The audit trail of one record of a subject, oldest first.

    A synced item value has no audit rows of its own (each received version of its response is
    audited once): its changes come from the stored versions (``edc.sync.derived``), labelled
    with each version's audit row, merged with the audit rows of changes made in edc.

    :raises errors.NotFoundError: no such subject at the reader's sites, or the record is not
        part of that subject's record.
    """
    subject = get_subject(session=session, access=access, code=code)
    if table == "allocation" and not access.sees_arms:
        raise errors.NotFoundError("no such record")
    if not casebook.record_belongs_to(
        session=session, table=table, record_id=record_id, subject_id=subject.id
    ):
        raise errors.NotFoundError(f"no {table} #{record_id} for subject {code}")
    rows = casebook.list_audit_events(session=session, table=table, record_id=record_id)
    names = [field.name for field in dataclasses.fields(HistoryEntry)]
    entries = [HistoryEntry(**{name: getattr(row, name) for name in names}) for row in rows]
    if table == "item_value":
        entries = sorted(
            entries + _synced_history(session, access.study_code, record_id), key=lambda e: e.seq
        )
    return subject, entries


def _synced_history(session: Session, study_code: str, item_value_id: int) -> list[HistoryEntry]:
    from edc.sync import derived  # the sync package is heavy; only this page needs it

    response_id = session.scalar(
        select(ItemValueRow.response_id).where(ItemValueRow.id == item_value_id)
    )
    if response_id is None:
        return []
    connection = session.connection()
    scope = derived.scope_for(connection, study_code)
    return [
        HistoryEntry(
            change.seq, change.at, change.actor, change.role, change.action, change.field,
            change.old_value, change.new_value, change.reason,
        )
        for change in derived.synced_changes(connection, scope, response_id)
        if change.item_value_id == item_value_id
    ]  # fmt: skip

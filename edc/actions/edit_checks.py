"""Run the protocol's edit checks and keep their data queries in step with the data.

After every sync and on ``edc monitor run`` (``edc.actions.monitor.run_engine``), each check is
evaluated on the newest version of every response to its form (``edc.trial.edit_checks``):

* a failing response with no query of that check gets one (origin ``edit_check``) on the exact
  data point: subject, response version, linkId, with the check's message;
* a query whose response now passes is closed: the corrected data arrived;
* a query the checks closed (its last message is ``CORRECTED``) whose response fails again is
  reopened. A query a person closed stays closed (the person decided), and a cancelled one
  stays cancelled. (A newer version of a response updates its ``form_response`` row in place,
  so the row cannot tell versions apart; the conversation can.)

The same data give the same queries: running again changes nothing. Every change is made by
the system actor through the audited session, and the query's Task is queued for the site.
Frozen or locked subjects are left as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from edc.actions import queries
from edc.actions.workspace import Study
from edc.compiler import adverse_events
from edc.compiler.naming import Naming
from edc.library import load_library
from edc.protocol import forms as protocol_forms
from edc.protocol.edit_checks import EditCheck, other_forms
from edc.trial import detectors
from edc.trial import edit_checks as rules
from edc.warehouse import audit
from edc.warehouse.tables.crf import FormResponseRow
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.monitoring import DataQueryMessageRow, DataQueryRow
from edc.warehouse.tables.subjects import SubjectRow

ORIGIN = "edit_check"
CORRECTED = "corrected data arrived"
_STILL_ASKED = ("open", "answered")


@dataclasses.dataclass(frozen=True)
class CheckRun:
    failing: int = 0
    opened: int = 0
    closed: int = 0
    reopened: int = 0

    def __add__(self, other: CheckRun) -> CheckRun:
        return CheckRun(
            self.failing + other.failing,
            self.opened + other.opened,
            self.closed + other.closed,
            self.reopened + other.reopened,
        )


@dataclasses.dataclass(frozen=True)
class _Response:
    id: int
    subject_id: int
    site_id: int
    form: str
    key: str  # the response across its versions: the logical id (else the row id)
    resource: dict[str, Any]


def run_checks(session: Session, study: Study, now: dt.datetime) -> CheckRun:
    """Evaluate every edit check and reconcile the ``edit_check`` queries (see the module)."""
    checks = [*study.protocol.edit_checks, *_builtin_checks(study)]
    if not checks:
        return CheckRun()
    urls = _form_urls(study)
    forms_of = {url: form for form, url in urls.items()}
    versions, latest = _responses(session, study, forms_of)
    locked = detectors.locked_subjects(session, study.id)
    by_subject: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for response in latest:
        by_subject.setdefault(response.subject_id, {}).setdefault(response.form, [])
        by_subject[response.subject_id][response.form].append(response.resource)
    failing: dict[tuple[str, int, str], tuple[_Response, str | None, str]] = {}
    passing: dict[tuple[str, int, str], _Response] = {}
    form_ids = set(urls)
    for check in checks:
        named = other_forms(check, form_ids)
        for response in latest:
            if response.form != check.form or response.subject_id in locked:
                continue
            mine = by_subject[response.subject_id]
            others = {form: mine.get(form, []) for form in named}
            key = (check.id, response.subject_id, response.key)
            if rules.holds(check, response.resource, others):
                passing[key] = response
            else:
                failing[key] = (response, check.target_item(), check.message)
    existing = session.scalars(
        select(DataQueryRow)
        .where(DataQueryRow.study_id == study.id, DataQueryRow.origin == ORIGIN)
        .order_by(DataQueryRow.id)
    ).all()
    known: dict[tuple[str, int, str], DataQueryRow] = {}
    for query in existing:
        if query.check_id is not None and query.response_id in versions:
            known[(query.check_id, query.subject_id, versions[query.response_id])] = query
    last_words = last_messages(session, [query.id for query in existing])
    opened = closed = reopened = 0
    for key, (response, link_id, message) in failing.items():
        asked = known.get(key)
        if asked is None:
            _open(session, study, response, key[0], link_id, message, now)
            opened += 1
        elif asked.status == "closed" and last_words.get(asked.id) == CORRECTED:
            again = f"fails again: {message}"
            move_query(session, study, asked, "open", now, again, response_id=response.id)
            reopened += 1
    for key, response in passing.items():
        asked = known.get(key)
        if asked is not None and asked.status in _STILL_ASKED:
            move_query(session, study, asked, "closed", now, CORRECTED, response_id=response.id)
            closed += 1
    return CheckRun(len(failing), opened, closed, reopened)


def _builtin_checks(study: Study) -> list[EditCheck]:
    """The AE form's own rules (a CTCAE grade the term defines; grade 5 with death): an AE
    response filled in another renderer may break them."""
    settings = study.protocol.adverse_events
    return list(_grade_checks(settings.ctcae_version, settings.form_id))


@functools.cache
def _grade_checks(ctcae_version: str, form_id: str) -> tuple[EditCheck, ...]:
    ctcae = load_library().find_ctcae(ctcae_version)
    return () if ctcae is None else tuple(adverse_events.grade_checks(ctcae, form_id))


def _form_urls(study: Study) -> dict[str, str]:
    """Form id -> Questionnaire URL, the built-in forms (eligibility, adverse events) too: a
    check may read them (``%ae``)."""
    protocol = study.protocol
    naming = Naming(protocol.study.canonical_base, protocol.study.id, study.version)
    form_ids = [form.id for form in protocol.forms]
    form_ids += sorted(protocol_forms.builtin_form_ids(protocol))
    return {form_id: naming.canonical("Questionnaire", form_id) for form_id in form_ids}


def last_messages(session: Session, query_ids: list[int]) -> dict[int, str]:
    """Each query's newest message."""
    last: dict[int, str] = {}
    if not query_ids:
        return last
    rows = session.execute(
        select(DataQueryMessageRow.data_query_id, DataQueryMessageRow.body)
        .where(DataQueryMessageRow.data_query_id.in_(query_ids))
        .order_by(DataQueryMessageRow.id)
    )
    for query_id, body in rows:
        last[query_id] = body
    return last


def _responses(
    session: Session, study: Study, forms_of: dict[str, str]
) -> tuple[dict[int, str], list[_Response]]:
    """Every response version id -> its key, and the newest version of each response."""
    rows = session.execute(
        select(
            FormResponseRow.id,
            FormResponseRow.subject_id,
            SubjectRow.site_id,
            FormResponseRow.questionnaire_url,
            RawResourceRow.logical_id,
            RawResourceRow.json_text,
        )
        .join(SubjectRow, SubjectRow.id == FormResponseRow.subject_id)
        .join(RawResourceRow, RawResourceRow.id == FormResponseRow.raw_resource_id)
        .where(
            SubjectRow.study_id == study.id,
            FormResponseRow.questionnaire_url.in_(list(forms_of)),
        )
        .order_by(FormResponseRow.id)
    ).all()
    versions: dict[int, str] = {}
    newest: dict[tuple[int, str], Any] = {}
    for row in rows:
        key = row.logical_id or f"row-{row.id}"
        versions[row.id] = key
        newest[(row.subject_id, key)] = row  # ordered by id: the last one wins
    latest = [
        _Response(
            row.id,
            row.subject_id,
            row.site_id,
            forms_of[row.questionnaire_url],
            versions[row.id],
            orjson.loads(row.json_text),
        )
        for row in newest.values()
    ]
    return versions, latest


def _open(
    session: Session,
    study: Study,
    response: _Response,
    check_id: str,
    link_id: str | None,
    message: str,
    now: dt.datetime,
) -> None:
    row = DataQueryRow(
        study_id=study.id,
        site_id=response.site_id,
        subject_id=response.subject_id,
        response_id=response.id,
        link_id=link_id,
        origin=ORIGIN,
        check_id=check_id,
        status="open",
        opened_at=now,
        closed_at=None,
    )
    open_query(session, study, row, now, f"{message} (edit check {check_id})")


def open_query(
    session: Session, study: Study, row: DataQueryRow, now: dt.datetime, text: str
) -> None:
    """Store a check's new query with its first message and queue its Task."""
    session.add(row)
    session.flush()
    _message(session, row, now, text)
    queries.enqueue_task(session, study, row, now)


def move_query(
    session: Session,
    study: Study,
    row: DataQueryRow,
    status: str,
    now: dt.datetime,
    text: str,
    **repoint: int,
) -> None:
    """Move a check's query to ``status``, pointing it at the data it now concerns
    (``repoint``: column -> id), with a message (audited) and its Task."""
    with audit.reason(session, f"edit check {row.check_id}: {text}"):
        row.status = status
        row.closed_at = now if status == "closed" else None
        for column, value in repoint.items():
            setattr(row, column, value)
    session.flush()
    _message(session, row, now, text)
    queries.enqueue_task(session, study, row, now)


def _message(session: Session, row: DataQueryRow, now: dt.datetime, text: str) -> None:
    # Written by whoever runs the checks: the system after a sync, or the person who ran
    # ``edc monitor run`` (the same actor the audit trail names).
    who = audit.current(session)
    session.add(
        DataQueryMessageRow(
            data_query_id=row.id, author=who.actor, role=who.role, sent_at=now, body=text
        )
    )
    session.flush()

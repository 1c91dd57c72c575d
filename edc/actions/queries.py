"""`edc query open|answer|close|reopen|list`: the data query workflow between monitor and site.

A monitor (or data manager) opens a query on a subject, one of their forms (the newest version
of it, at a visit when given), one item (linkId) of that form or one of their protocol
deviations, with a message; the site team
answers; the monitor closes or reopens. Every move adds a message and is audited with the person
and role (``edc.trial.permissions``: a monitor cannot answer as the site, a site cannot close).
Each state goes to the site's FHIR server as a ``Task`` (``edc.trial.queries``) through the
outbox; ``edc push`` delivers it. Bad input (unknown subject, form, linkId or query, a move the
query's state does not allow) is refused before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc import errors
from edc.actions.consent import study_refs
from edc.actions.workspace import Actor, Study, Workspace
from edc.compiler.naming import Naming
from edc.trial import detectors
from edc.trial import queries as rules
from edc.trial.permissions import Action
from edc.warehouse import audit, codes, outbox
from edc.warehouse.tables.crf import FormResponseRow, ItemValueRow
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.monitoring import DataQueryMessageRow, DataQueryRow, DeviationRow
from edc.warehouse.tables.subjects import PatientLinkRow, SubjectRow


@dataclasses.dataclass(frozen=True)
class OpenRequest:
    study: str
    subject: str | None  # may be left out when the query is about a deviation
    message: str
    form: str | None = None
    visit: str | None = None
    item: str | None = None
    deviation: int | None = None


@dataclasses.dataclass(frozen=True)
class MoveRequest:
    study: str
    query_id: int
    verb: str  # answer | close | reopen | cancel
    message: str | None = None


@dataclasses.dataclass(frozen=True)
class QueryLine:
    id: int
    site: str
    subject: str
    form: str | None
    visit: str | None
    item: str | None
    deviation: int | None
    origin: str
    status: str
    opened_at: dt.datetime
    age_days: int
    messages: int
    last_message: str


@dataclasses.dataclass(frozen=True)
class SiteCount:
    site: str
    open: int
    answered: int
    closed: int
    oldest_open_days: int | None


@dataclasses.dataclass(frozen=True)
class QueryList:
    study: str
    queries: list[QueryLine]
    sites: list[SiteCount]


def form_urls(study: Study) -> dict[str, str]:
    protocol = study.protocol
    naming = Naming(protocol.study.canonical_base, protocol.study.id, study.version)
    return {form.id: naming.canonical("Questionnaire", form.id) for form in protocol.forms}


def subject_row(session: Session, study: Study, code: str) -> SubjectRow:
    row = session.scalars(
        select(SubjectRow).where(SubjectRow.study_id == study.id, SubjectRow.subject_code == code)
    ).first()
    if row is None:
        raise errors.BadInputError(f"{study.code} has no subject {code!r} (--subject)")
    refuse_if_locked(session, study, row.id, code)
    return row


def refuse_if_locked(session: Session, study: Study, subject_id: int, code: str) -> None:
    """:raises errors.BadInputError: the subject is frozen or locked (nothing may change)."""
    if subject_id in detectors.locked_subjects(session, study.id):
        raise errors.BadInputError(
            f"subject {code} is frozen or locked: edc lock unlock (with a reason) to change it"
        )


def response_row(
    session: Session, study: Study, subject: SubjectRow, form: str, visit: str | None
) -> FormResponseRow:
    urls = form_urls(study)
    if form not in urls:
        raise errors.BadInputError(
            f"{study.code} has no form {form!r} (--form)", f"forms: {', '.join(sorted(urls))}"
        )
    query = select(FormResponseRow).where(
        FormResponseRow.subject_id == subject.id, FormResponseRow.questionnaire_url == urls[form]
    )
    if visit is not None:
        query = query.where(FormResponseRow.visit_id == visit)
    row = session.scalars(query.order_by(FormResponseRow.id.desc())).first()
    if row is None:
        at = f" at visit {visit}" if visit else ""
        raise errors.BadInputError(f"subject {subject.subject_code} has no {form} form{at}")
    return row


def check_item(session: Session, response: FormResponseRow, form: str, item: str) -> None:
    known = session.scalars(
        select(ItemValueRow.link_id).where(
            ItemValueRow.response_id == response.id, ItemValueRow.link_id == item
        )
    ).first()
    if known is None:
        raise errors.BadInputError(
            f"form {form} (response {response.id}) has no answered item {item!r} (--item)"
        )


def _message(
    session: Session, query: DataQueryRow, actor: Actor, now: dt.datetime, text: str
) -> None:
    session.add(
        DataQueryMessageRow(
            data_query_id=query.id,
            author=actor.username,
            role=actor.grant.role,
            sent_at=now,
            body=text,
        )
    )
    session.flush()


def enqueue_task(session: Session, study: Study, query: DataQueryRow, now: dt.datetime) -> None:
    """Queue the query's Task (its current state and messages) for the site's server."""
    subject = session.get(SubjectRow, query.subject_id)
    link = session.scalars(
        select(PatientLinkRow).where(PatientLinkRow.subject_id == query.subject_id)
    ).first()
    if subject is None or link is None:
        return  # a subject that never came from a hospital patient: no EHR to write to
    response_ref = None
    form = None
    if query.response_id is not None:
        response = session.get(FormResponseRow, query.response_id)
        if response is not None:
            form = {u: f for f, u in form_urls(study).items()}.get(response.questionnaire_url)
            if response.raw_resource_id is not None:
                raw = session.get(RawResourceRow, response.raw_resource_id)
                response_ref = raw.logical_id if raw is not None else None
    messages = session.execute(
        select(DataQueryMessageRow.author, DataQueryMessageRow.sent_at, DataQueryMessageRow.body)
        .where(DataQueryMessageRow.data_query_id == query.id)
        .order_by(DataQueryMessageRow.id)
    ).all()
    site = study.site_by_id(query.site_id)
    refs = study_refs(study, site.code)
    facts = rules.TaskFacts(
        query_id=query.id,
        status=query.status,
        subject_code=subject.subject_code,
        patient_id=link.patient_id,
        response_id=response_ref,
        form=form,
        link_id=query.link_id,
        opened_at=query.opened_at,
        changed_at=now,
        messages=tuple((a, w, b) for a, w, b in messages),
    )
    outbox.enqueue(
        session,
        study_id=study.id,
        site_id=query.site_id,
        resource=rules.task(refs, facts),
        key=rules.task_identifier(refs, query.id),
        operation="upsert",
        now=now,
    )


def open_query(workspace: Workspace, request: OpenRequest) -> QueryLine:
    """Open a query (monitor or data manager) and queue its Task.

    :raises errors.BadInputError: unknown study, subject, form, visit, item or deviation; a
        deviation of another subject; a blank message; --item without --form; neither
        --subject nor --deviation; a user who may not open queries at the subject's site.
    """
    if not request.message.strip():
        raise errors.BadInputError("--message must not be blank")
    if (request.item or request.visit) and not request.form:
        raise errors.BadInputError("--item and --visit need --form")
    if request.subject is None and request.deviation is None:
        raise errors.BadInputError("say whom the query is about: --subject or --deviation")
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        deviation = None
        if request.deviation is not None:
            deviation = deviation_row(session, study, request.deviation, request.subject)
        code = request.subject or _subject_code(session, deviation)
        subject = subject_row(session, study, code)
        site = study.site_by_id(subject.site_id)
        response = None
        if request.form is not None:
            response = response_row(session, study, subject, request.form, request.visit)
            if request.item is not None:
                check_item(session, response, request.form, request.item)
        actor = workspace.act(session, study, Action.MANAGE_QUERY, site.code)
        row = DataQueryRow(
            study_id=study.id,
            site_id=subject.site_id,
            subject_id=subject.id,
            response_id=response.id if response else None,
            link_id=request.item,
            deviation_id=deviation.id if deviation else None,
            origin="manual",
            check_id=None,
            status="open",
            opened_at=now,
            closed_at=None,
        )
        session.add(row)
        session.flush()
        _message(session, row, actor, now, request.message)
        enqueue_task(session, study, row, now)
        return _lines(session, study, now, [row.id])[0]


def deviation_row(
    session: Session, study: Study, deviation_id: int, subject: str | None
) -> DeviationRow:
    """The study's deviation, which must concern the subject when one is named.

    :raises errors.BadInputError: no such deviation in the study, or one of another subject.
    """
    row = session.get(DeviationRow, deviation_id)
    if row is None or row.study_id != study.id:
        raise errors.BadInputError(f"{study.code} has no deviation {deviation_id} (--deviation)")
    if row.subject_id is None:
        raise errors.BadInputError(
            f"deviation {deviation_id} ({row.kind}) concerns no single subject: a data query "
            "is about a subject's data"
        )
    concerns = _subject_code(session, row)
    if subject is not None and concerns != subject:
        raise errors.BadInputError(
            f"deviation {deviation_id} concerns subject {concerns}, not {subject} (--subject)"
        )
    return row


def _subject_code(session: Session, deviation: DeviationRow | None) -> str:
    subject = session.get(SubjectRow, deviation.subject_id) if deviation else None
    return subject.subject_code if subject else ""


def move(workspace: Workspace, request: MoveRequest) -> QueryLine:
    """Answer (site team), close, reopen or cancel (monitor, data manager) a query.

    :raises errors.BadInputError: unknown study or query, a move its state does not allow
        (closing a closed query), a blank message where one is needed, or a user whose role
        may not make the move at the query's site (a monitor answering as the site).
    """
    if request.verb not in rules.MOVES:
        raise errors.BadInputError(f"unknown query action {request.verb!r}")
    text = (request.message or "").strip()
    if request.verb in ("answer", "reopen") and not text:
        raise errors.BadInputError(f"--message is needed to {request.verb} a query")
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        row = session.get(DataQueryRow, request.query_id)
        if row is None or row.study_id != study.id:
            raise errors.BadInputError(f"{study.code} has no data query {request.query_id}")
        subject = session.get(SubjectRow, row.subject_id)
        refuse_if_locked(session, study, row.subject_id, subject.subject_code if subject else "")
        _, target, action = rules.MOVES[request.verb]
        actor = workspace.act(session, study, action, study.site_by_id(row.site_id).code)
        refused = rules.refusal(request.verb, row.status, row.id)
        if refused is not None:
            raise errors.ConflictError(refused)
        with audit.reason(session, f"query {request.verb}: {text or request.verb}"):
            row.status = target
            row.closed_at = now if target in ("closed", "cancelled") else None
        session.flush()
        _message(session, row, actor, now, text or rules.past(request.verb))
        enqueue_task(session, study, row, now)
        return _lines(session, study, now, [row.id])[0]


def _lines(
    session: Session, study: Study, now: dt.datetime, ids: list[int] | None = None, **where: object
) -> list[QueryLine]:
    forms = {u: f for f, u in form_urls(study).items()}
    counts = (
        select(
            DataQueryMessageRow.data_query_id,
            func.count().label("n"),
            func.max(DataQueryMessageRow.id).label("last"),
        )
        .group_by(DataQueryMessageRow.data_query_id)
        .subquery()
    )
    query = (
        select(
            DataQueryRow,
            SubjectRow.subject_code,
            FormResponseRow.questionnaire_url,
            FormResponseRow.visit_id,
            counts.c.n,
            DataQueryMessageRow.body,
        )
        .join(SubjectRow, SubjectRow.id == DataQueryRow.subject_id)
        .outerjoin(FormResponseRow, FormResponseRow.id == DataQueryRow.response_id)
        .outerjoin(counts, counts.c.data_query_id == DataQueryRow.id)
        .outerjoin(DataQueryMessageRow, DataQueryMessageRow.id == counts.c.last)
        .where(DataQueryRow.study_id == study.id)
        .order_by(DataQueryRow.id)
    )
    if ids is not None:
        query = query.where(DataQueryRow.id.in_(ids))
    site_ids = where.get("site_ids")
    if isinstance(site_ids, list):
        query = query.where(DataQueryRow.site_id.in_(site_ids))
    if where.get("status") is not None:
        query = query.where(DataQueryRow.status == where["status"])
    return [
        QueryLine(
            id=row.id,
            site=study.site_by_id(row.site_id).code,
            subject=code,
            form=forms.get(url, url) if url else None,
            visit=visit,
            item=row.link_id,
            deviation=row.deviation_id,
            origin=row.origin,
            status=row.status,
            opened_at=row.opened_at,
            age_days=rules.age_days(row.opened_at, row.closed_at, now),
            messages=int(n or 0),
            last_message=body or "",
        )
        for row, code, url, visit, n, body in session.execute(query)
    ]


def list_queries(
    workspace: Workspace, study_code: str, site: str | None = None, status: str | None = None
) -> QueryList:
    """The queries at the sites the user may see, with age and per-site counts.

    :raises errors.BadInputError: unknown study, site or status; no right to view there.
    """
    if status is not None and status not in codes.DATA_QUERY_STATUSES:
        raise errors.BadInputError(
            f"--status {status!r} is not one of {', '.join(codes.DATA_QUERY_STATUSES)}"
        )
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        sites = workspace.sites_for(session, study, Action.VIEW_DATA, site)
        every = _lines(session, study, now, site_ids=[s.id for s in sites])
        code = study.code
    counts = []
    for s in sites:
        mine = [q for q in every if q.site == s.code]
        waiting = [q.age_days for q in mine if q.status in ("open", "answered")]
        counts.append(
            SiteCount(
                s.code,
                sum(q.status == "open" for q in mine),
                sum(q.status == "answered" for q in mine),
                sum(q.status == "closed" for q in mine),
                max(waiting) if waiting else None,
            )
        )
    shown = [q for q in every if status is None or q.status == status]
    return QueryList(code, shown, counts)


def query_lines(
    session: Session, study: Study, now: dt.datetime, site_ids: list[int]
) -> list[QueryLine]:
    """Every query of the sites (any status), with age and messages."""
    return _lines(session, study, now, site_ids=list(site_ids))

"""Subjects: the list, the subject page (the casebook), recording a visit, and the audit
history of any record of the subject."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from edc import errors
from edc.actions import subjects, visit_entry
from edc.actions.audit import HistoryEntry
from edc.warehouse import casebook, db
from edc.web import pages
from edc.web.deps import Study
from edc.web.schemas import CasebookPublic, HistoryLinePublic, SubjectPublic, VisitCreate

router = APIRouter()


PAGE_SIZE = 50  # subjects per page of the list
API_LIMIT = 1000  # the most subjects one API call returns
TOTAL_HEADER = "X-Total-Count"


def _page(auth: Study, offset: int, limit: int, search: str) -> casebook.SubjectPage:
    with db.transaction(auth.context.makers.reader) as session:
        found = casebook.page_subjects(
            session=session,
            study_id=auth.access.study_id,
            site_ids=auth.access.site_ids,
            offset=offset,
            limit=limit,
            search=search.strip(),
        )
    return dataclasses.replace(found, subjects=[subject_for(auth, s) for s in found.subjects])


def subject_for(auth: Study, subject: casebook.SubjectHeader) -> casebook.SubjectHeader:
    """The subject as this reader may see it (arm masked for blinded readers)."""
    return dataclasses.replace(subject, arm=subjects.shown_arm(auth.access, subject.arm))


def _casebook(auth: Study, code: str) -> subjects.Casebook:
    context = auth.context
    with db.transaction(context.makers.reader) as session:
        found = subjects.subject_casebook(
            session=session,
            access=auth.access,
            definition=auth.definition,
            code=code,
            today=context.clock.now().date(),
        )
    return found


@router.get("/studies/{study}/subjects", include_in_schema=False)
def subjects_page(
    request: Request, auth: Study, page: Annotated[int, Query(ge=1)] = 1, q: str = ""
) -> Response:
    found = _page(auth, (page - 1) * PAGE_SIZE, PAGE_SIZE, q)
    pages_total = max(1, -(-found.total // PAGE_SIZE))
    return pages.render(
        request, "subjects.html", auth=auth, found=found, page=page, pages=pages_total, q=q
    )


@router.get("/api/v1/studies/{study}/subjects", tags=["subjects"])
def subjects_api(
    auth: Study,
    response: Response,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=API_LIMIT)] = API_LIMIT,
    q: Annotated[str, Query(description="only subject codes containing this")] = "",
) -> list[SubjectPublic]:
    """The subjects at the reader's sites, by site and code, ``limit`` from ``offset``; the
    number of all that match is in the ``X-Total-Count`` header."""
    found = _page(auth, offset, limit, q)
    response.headers[TOTAL_HEADER] = str(found.total)
    return [SubjectPublic.model_validate(s) for s in found.subjects]


@router.get("/studies/{study}/subjects/{code}", include_in_schema=False)
def subject_page(request: Request, auth: Study, code: str) -> Response:
    found = _casebook(auth, code)
    return pages.render(
        request,
        "subject.html",
        auth=auth,
        book=found,
        subject=subject_for(auth, found.subject),
        ae_form=auth.definition.protocol.adverse_events.form_id,
    )


@router.get("/api/v1/studies/{study}/subjects/{code}", tags=["subjects"])
def subject_api(auth: Study, code: str) -> CasebookPublic:
    """The subject's visit plan, forms per visit, adverse events and queries."""
    found = _casebook(auth, code)
    public = CasebookPublic.model_validate(found)
    return public.model_copy(
        update={"subject": SubjectPublic.model_validate(subject_for(auth, found.subject))}
    )


def _history(auth: Study, code: str, table: str, record_id: int) -> list[HistoryEntry]:
    if table not in casebook.HISTORY_TABLES:
        raise errors.NotFoundError(f"no history of {table!r} records")
    with db.transaction(auth.context.makers.reader) as session:
        _, lines = subjects.record_history(
            session=session, access=auth.access, code=code, table=table, record_id=record_id
        )
    return lines


@router.get("/studies/{study}/subjects/{code}/history/{table}/{record_id}", include_in_schema=False)
def history_page(request: Request, auth: Study, code: str, table: str, record_id: int) -> Response:
    lines = _history(auth, code, table, record_id)
    return pages.render(
        request, "history.html", auth=auth, code=code, table=table, record_id=record_id, lines=lines
    )


@router.get(
    "/api/v1/studies/{study}/subjects/{code}/history/{table}/{record_id}", tags=["subjects"]
)
def history_api(auth: Study, code: str, table: str, record_id: int) -> list[HistoryLinePublic]:
    """Every change to one record of the subject (who, role, when, old and new value, why)."""
    return [
        HistoryLinePublic.model_validate(line) for line in _history(auth, code, table, record_id)
    ]


def _record_visit(auth: Study, code: str, visit_id: str, day: dt.date) -> None:
    context = auth.context
    visit_entry.record_visit(
        context.engine,
        access=auth.access,
        definition=auth.definition,
        code=code,
        visit_id=visit_id,
        day=day,
        clock=context.clock,
    )


@router.post("/studies/{study}/subjects/{code}/visits", include_in_schema=False)
def record_visit_page(
    auth: Study, code: str, visit_id: Annotated[str, Form()], date: Annotated[dt.date, Form()]
) -> Response:
    _record_visit(auth, code, visit_id, date)
    return RedirectResponse(f"/studies/{auth.access.study_code}/subjects/{code}", 303)


@router.post("/api/v1/studies/{study}/subjects/{code}/visits", status_code=201, tags=["subjects"])
def record_visit_api(auth: Study, code: str, body: VisitCreate) -> None:
    """Record that a visit took place (an Encounter, ingested like one from the EHR)."""
    _record_visit(auth, code, body.visit_id, body.date)

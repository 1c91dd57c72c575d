"""Monitoring: deviations with their evidence (confirm or dismiss, with a reason), the data
query inbox (open, answer, close, reopen), SDV marks and coverage.

A face over ``edc.actions.monitor``, ``edc.actions.queries`` and ``edc.actions.sdv``: each call
runs as the logged-in person, whose roles the action checks (a monitor cannot answer as the
site, a site cannot close). Ids in the URL are first checked against the reader's sites
(``edc.web.scope``). Pages post HTML forms and come back to the monitoring page.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from edc.actions import monitor, monitor_report, queries, report_html, sdv
from edc.trial.permissions import ALLOWED, Action
from edc.warehouse import codes
from edc.web import pages, scope
from edc.web.deps import Authorized, Study, workspace

router = APIRouter()
QueryVerb = Literal["answer", "close", "reopen"]


class DeviationReview(BaseModel):
    status: Literal["confirmed", "dismissed"]
    reason: str = Field(min_length=1)


class QueryOpen(BaseModel):
    message: str = Field(min_length=1)
    form: str | None = None
    visit: str | None = None
    item: str | None = None
    deviation: int | None = None


class QueryMove(BaseModel):
    message: str | None = None


class SdvMark(BaseModel):
    form: str
    visit: str | None = None
    item: str | None = None


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _review(auth: Authorized, deviation_id: int, body: DeviationReview) -> monitor.DeviationLine:
    scope.deviation(auth, deviation_id)
    request = monitor.ReviewRequest(auth.access.study_code, deviation_id, body.status, body.reason)
    return monitor.review(workspace(auth), request)


def _open(auth: Authorized, code: str, body: QueryOpen) -> queries.QueryLine:
    scope.subject(auth, code)
    request = queries.OpenRequest(
        auth.access.study_code,
        code,
        body.message,
        _blank(body.form),
        _blank(body.visit),
        _blank(body.item),
        deviation=body.deviation,
    )
    return queries.open_query(workspace(auth), request)


def _move(auth: Authorized, query_id: int, verb: str, body: QueryMove) -> queries.QueryLine:
    scope.data_query(auth, query_id)
    request = queries.MoveRequest(auth.access.study_code, query_id, verb, body.message)
    return queries.move(workspace(auth), request)


def _mark(auth: Authorized, code: str, body: SdvMark) -> sdv.MarkResult:
    scope.subject(auth, code)
    request = sdv.MarkRequest(
        auth.access.study_code, code, body.form, _blank(body.visit), _blank(body.item)
    )
    return sdv.mark(workspace(auth), request)


# --- JSON API ---------------------------------------------------------------------------------


@router.get("/api/v1/studies/{study}/deviations", tags=["monitoring"])
def deviations_api(
    auth: Study, status: str | None = None, kind: str | None = None
) -> monitor.DeviationList:
    """The deviations at the reader's sites, with their evidence."""
    request = monitor.ListRequest(auth.access.study_code, status=status, kind=kind)
    return monitor.list_deviations(workspace(auth), request)


@router.post("/api/v1/studies/{study}/deviations/{deviation_id}/review", tags=["monitoring"])
def review_api(auth: Study, deviation_id: int, body: DeviationReview) -> monitor.DeviationLine:
    """Confirm or dismiss a deviation with a reason (monitor, data manager); 409 when it is
    in that state already or resolved."""
    return _review(auth, deviation_id, body)


@router.get("/api/v1/studies/{study}/queries", tags=["monitoring"])
def queries_api(auth: Study, status: str | None = None) -> queries.QueryList:
    """The data queries at the reader's sites, with age and per-site counts."""
    return queries.list_queries(workspace(auth), auth.access.study_code, status=status)


@router.post(
    "/api/v1/studies/{study}/subjects/{code}/queries", status_code=201, tags=["monitoring"]
)
def open_query_api(auth: Study, code: str, body: QueryOpen) -> queries.QueryLine:
    """Open a query on a subject, one of their forms, one item or one of their deviations
    (monitor, data manager)."""
    return _open(auth, code, body)


@router.post("/api/v1/studies/{study}/queries/{query_id}/{verb}", tags=["monitoring"])
def move_query_api(
    auth: Study, query_id: int, verb: QueryVerb, body: QueryMove
) -> queries.QueryLine:
    """Answer (site team), close or reopen (monitor, data manager) a query; 409 when its state
    does not allow the move (closing a closed query)."""
    return _move(auth, query_id, verb, body)


@router.get("/api/v1/studies/{study}/sdv", tags=["monitoring"])
def sdv_coverage_api(auth: Study) -> sdv.CoverageResult:
    """SDV coverage per site the reader may see."""
    return sdv.coverage(workspace(auth), auth.access.study_code)


@router.post("/api/v1/studies/{study}/subjects/{code}/sdv", status_code=201, tags=["monitoring"])
def sdv_mark_api(auth: Study, code: str, body: SdvMark) -> sdv.MarkResult:
    """Mark a subject's form (or one answer of it) source-verified (monitor)."""
    return _mark(auth, code, body)


@router.get("/api/v1/studies/{study}/monitor/report", tags=["monitoring"])
def site_report_api(auth: Study, site: str | None = None) -> monitor_report.MonitorReport:
    """The monitor's report per site the reader may see: enrolment, deviation rates, query
    ageing, missing forms, SAE timeliness, SDV coverage, KRIs against the protocol's thresholds."""
    return monitor_report.report(workspace(auth), auth.access.study_code, site)


@router.get("/studies/{study}/monitor/report", include_in_schema=False)
def site_report_page(auth: Study, site: str | None = None) -> Response:
    found = monitor_report.report(workspace(auth), auth.access.study_code, site or None)
    # A self-contained document (inline SVG), the same bytes as `edc monitor report --format html`.
    return HTMLResponse(report_html.render(found), headers={"Cache-Control": "no-store"})


# --- Pages ------------------------------------------------------------------------------------


def _back(auth: Authorized, done: str) -> Response:
    url = f"/studies/{auth.access.study_code}/monitor?done={quote(done)}"
    return RedirectResponse(url, status_code=303)


# A page shows at most this many deviations and queries (the API lists them all).
PAGE_ROWS = 100


@router.get("/studies/{study}/monitor", include_in_schema=False)
def monitor_page(
    request: Request, auth: Study, done: str = "", status: str = "", kind: str = ""
) -> Response:
    ws = workspace(auth)
    code = auth.access.study_code
    asked = monitor.ListRequest(code, status=status or None, kind=kind or None)
    found = monitor.list_deviations(ws, asked).deviations
    inbox = queries.list_queries(ws, code)
    coverage = sdv.coverage(ws, code)
    roles = auth.access.roles
    return pages.render(
        request,
        "monitor.html",
        auth=auth,
        deviations=found[:PAGE_ROWS],
        deviation_count=len(found),
        inbox=inbox,
        inbox_queries=inbox.queries[:PAGE_ROWS],
        coverage=coverage.sites,
        done=done,
        status=status,
        kind=kind,
        statuses=codes.DEVIATION_STATUSES,
        kinds=codes.DEVIATION_KINDS,
        # Which buttons to show; the actions check again on every post.
        reviews=bool(roles & ALLOWED[Action.REVIEW_DEVIATION]),
        manages=bool(roles & ALLOWED[Action.MANAGE_QUERY]),
        answers=bool(roles & ALLOWED[Action.ANSWER_QUERY]),
        verifies=bool(roles & ALLOWED[Action.VERIFY_SOURCE]),
    )


@router.post("/studies/{study}/deviations/{deviation_id}/review", include_in_schema=False)
def review_page(
    auth: Study,
    deviation_id: int,
    status: Annotated[Literal["confirmed", "dismissed"], Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    line = _review(
        auth, deviation_id, DeviationReview.model_construct(status=status, reason=reason)
    )
    return _back(auth, f"deviation {line.id} {line.status}")


@router.post("/studies/{study}/subjects/{code}/queries", include_in_schema=False)
def open_query_page(
    auth: Study,
    code: str,
    message: Annotated[str, Form()] = "",
    form: Annotated[str, Form()] = "",
    visit: Annotated[str, Form()] = "",
    item: Annotated[str, Form()] = "",
    deviation: Annotated[int | None, Form()] = None,
) -> Response:
    body = QueryOpen.model_construct(
        message=message, form=form, visit=visit, item=item, deviation=deviation
    )
    line = _open(auth, code, body)
    return _back(auth, f"query {line.id} opened on {line.subject}")


@router.post("/studies/{study}/queries/{query_id}/{verb}", include_in_schema=False)
def move_query_page(
    auth: Study, query_id: int, verb: QueryVerb, message: Annotated[str, Form()] = ""
) -> Response:
    line = _move(auth, query_id, verb, QueryMove(message=message))
    return _back(auth, f"query {line.id} {line.status}")


@router.post("/studies/{study}/subjects/{code}/sdv", include_in_schema=False)
def sdv_mark_page(
    auth: Study,
    code: str,
    form: Annotated[str, Form()] = "",
    visit: Annotated[str, Form()] = "",
    item: Annotated[str, Form()] = "",
) -> Response:
    result = _mark(auth, code, SdvMark.model_construct(form=form, visit=visit, item=item))
    return _back(auth, f"{result.form} of {result.subject} verified")

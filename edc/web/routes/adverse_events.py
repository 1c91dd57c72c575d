"""Adverse event entry: CTCAE term search (typeahead), the chosen term's grades, seriousness,
dates with time, "Other, specify"; a serious event starts its reporting clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from edc import errors
from edc.actions import adverse_events, subjects
from edc.compiler.adverse_events import OUTCOMES, RELATEDNESS, SERIOUSNESS_CRITERIA
from edc.library import CtcaeTerm
from edc.warehouse import db
from edc.web import pages
from edc.web.deps import Study
from edc.web.schemas import AdverseEventCreate, CreatedPublic, TermPublic

router = APIRouter()


def _term_public(term: CtcaeTerm) -> TermPublic:
    return TermPublic(
        meddra_code=term.meddra_code,
        term=term.term,
        soc=term.soc,
        grades={g: text for g, text in sorted(term.grades.items()) if text is not None},
        needs_specify=term.needs_specify,
    )


@router.get("/api/v1/studies/{study}/ctcae-terms", tags=["adverse events"])
def search_terms_api(auth: Study, q: str = "", limit: int = 20) -> list[TermPublic]:
    """CTCAE terms of the study's version containing every word of ``q``, with their grades."""
    found = adverse_events.search_terms(auth.definition, q, max(1, min(limit, 100)))
    return [_term_public(term) for term in found]


@router.get("/api/v1/studies/{study}/ctcae-terms/{meddra_code}", tags=["adverse events"])
def term_api(auth: Study, meddra_code: int) -> TermPublic:
    """One CTCAE term and the grades defined for it."""
    term = auth.definition.ctcae.find_code(meddra_code)
    if term is None:
        raise errors.NotFoundError(f"no CTCAE term with MedDRA code {meddra_code}")
    return _term_public(term)


def _entry(body: AdverseEventCreate, now: dt.datetime) -> adverse_events.AdverseEventEntry:
    return adverse_events.AdverseEventEntry(
        term=body.term,
        grade=body.grade,
        serious=body.serious,
        onset=_aware(body.onset, now),
        relatedness=body.relatedness,
        outcome=body.outcome,
        verbatim=body.verbatim,
        criteria=tuple(body.criteria),
        aware_at=_aware(body.aware_at, now) if body.aware_at else None,
        resolved_at=_aware(body.resolved_at, now) if body.resolved_at else None,
    )


def _aware(value: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Times without an offset are read in the server clock's zone (the page sends one)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)


def _record(auth: Study, code: str, body: AdverseEventCreate) -> int:
    context = auth.context
    return adverse_events.record_adverse_event(
        context.engine,
        access=auth.access,
        definition=auth.definition,
        code=code,
        ae=_entry(body, context.clock.now()),
        clock=context.clock,
    )


@router.post(
    "/api/v1/studies/{study}/subjects/{code}/adverse-events",
    status_code=201,
    tags=["adverse events"],
)
def record_api(auth: Study, code: str, body: AdverseEventCreate) -> CreatedPublic:
    """Record an adverse event; 422 names every field that is wrong."""
    return CreatedPublic(id=_record(auth, code, body))


def _form_page(
    request: Request,
    auth: Study,
    code: str,
    status: int = 200,
    values: Mapping[str, object] | None = None,
    problems: list[errors.Problem] | None = None,
) -> Response:
    with db.transaction(auth.context.makers.reader) as session:
        subject = subjects.get_subject(session=session, access=auth.access, code=code)
        auth.access.require("enter_data", subject.site_id)
    protocol = auth.definition.protocol.adverse_events
    # A page shown again (a refused entry) offers only the chosen term's grades, as the script
    # does once a term is picked; before that, grades 1-5.
    chosen = adverse_events.find_term(auth.definition, str((values or {}).get("term") or ""))
    return pages.render(
        request,
        "adverse_event.html",
        status,
        auth=auth,
        code=code,
        values=values or {},
        problems=problems or [],
        outcomes=OUTCOMES,
        relatedness=RELATEDNESS,
        criteria=SERIOUSNESS_CRITERIA,
        hours=protocol.serious_report_hours,
        ctcae_version=auth.definition.ctcae.version,
        grades=(
            {g: text for g, text in sorted(chosen.grades.items()) if text is not None}
            if chosen is not None
            else dict.fromkeys(range(1, 6), "")
        ),
    )


@router.get("/studies/{study}/subjects/{code}/adverse-events/new", include_in_schema=False)
def new_page(request: Request, auth: Study, code: str) -> Response:
    return _form_page(request, auth, code)


@router.post("/studies/{study}/subjects/{code}/adverse-events", include_in_schema=False)
def submit_page(
    request: Request,
    auth: Study,
    code: str,
    term: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    serious: Annotated[str, Form()] = "no",
    onset: Annotated[str, Form()] = "",
    relatedness: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    verbatim: Annotated[str, Form()] = "",
    criteria: Annotated[list[str] | None, Form()] = None,
    aware_at: Annotated[str, Form()] = "",
    resolved_at: Annotated[str, Form()] = "",
    tz_offset: Annotated[str, Form()] = "",
) -> Response:
    values = {
        "term": term,
        "grade": grade,
        "serious": serious,
        "onset": onset,
        "relatedness": relatedness,
        "outcome": outcome,
        "verbatim": verbatim,
        "criteria": criteria or [],
        "aware_at": aware_at,
        "resolved_at": resolved_at,
    }
    try:
        body = AdverseEventCreate.model_validate(
            {
                **values,
                "grade": grade or 0,
                "serious": serious == "yes",
                "onset": _local(onset, tz_offset),
                "aware_at": _local(aware_at, tz_offset) or None,
                "resolved_at": _local(resolved_at, tz_offset) or None,
            }
        )
        ae_id = _record(auth, code, body)
    except ValidationError as exc:
        problems = [
            errors.Problem("adverse event", ".".join(map(str, e["loc"])), e["msg"])
            for e in exc.errors()
        ]
        return _form_page(request, auth, code, 422, values, problems)
    except errors.ProblemsError as exc:
        return _form_page(request, auth, code, 422, values, exc.problems)
    url = f"/studies/{auth.access.study_code}/subjects/{code}?recorded_ae={ae_id}"
    return RedirectResponse(url, status_code=303)


def _local(value: str, offset: str) -> str:
    """A datetime-local field's value with the browser's UTC offset (e.g. "+08:00")."""
    text = value.strip()
    if not text:
        return ""
    return text + offset if len(offset) == 6 and offset[0] in "+-" else text

"""The screening worklist of a site: pre-screen, consent, enroll, randomize (pages and API).

Faces over ``edc.actions.worklist`` (which runs the CLI's own actions as the logged-in user):
no trial rule here. Page forms post back and return to the worklist.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from edc import errors
from edc.actions import worklist
from edc.actions.workspace import Workspace
from edc.web import pages
from edc.web.deps import Study
from edc.web.worklist_schemas import (
    ConsentCreate,
    ConsentPublic,
    EnrollmentCreate,
    EnrollmentPublic,
    PrescreenPublic,
    RandomizationPublic,
    WorklistPublic,
)

router = APIRouter()
CONFIRM_PREFIX = "confirm_"  # page form fields: confirm_IN02=yes|no


def _workspace(auth: Study) -> Workspace:
    """The actions' workspace, acting as the logged-in person."""
    context = auth.context
    return Workspace(context.engine, context.clock, auth.identity.username)


PAGE_SIZE = 50  # patients per page of the worklist
API_LIMIT = 1000  # the most patients one API call returns
TOTAL_HEADER = "X-Total-Count"


def _worklist_url(auth: Study, site: str, patient: str | None = None) -> str:
    """The worklist, at the page that holds ``patient`` (scrolled to them) when one is named."""
    url = f"/studies/{auth.access.study_code}/sites/{site}/screening"
    return f"{url}?patient={quote(patient)}#patient-{patient}" if patient else url


@router.get("/studies/{study}/sites/{site}/screening", include_in_schema=False)
def worklist_page(
    request: Request,
    auth: Study,
    site: str,
    page: Annotated[int, Query(ge=1)] = 1,
    patient: str | None = None,
) -> Response:
    found = worklist.worklist(
        _workspace(auth),
        auth.access.study_code,
        site,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        page_of=patient,
    )
    return pages.render(
        request,
        "screening.html",
        auth=auth,
        worklist=found,
        today=auth.context.clock.now().date(),
        me=auth.identity.username,
        page=found.offset // PAGE_SIZE + 1,
        pages=max(1, -(-found.total // PAGE_SIZE)),
    )


@router.get("/api/v1/studies/{study}/sites/{site}/worklist", tags=["screening"])
def worklist_api(
    auth: Study,
    site: str,
    response: Response,
    offset: Annotated[int, Query(ge=0, description="patients to skip")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=API_LIMIT, description="the most patients to return")
    ] = API_LIMIT,
) -> WorklistPublic:
    """The site's pre-screened patients with each criterion's status and evidence (candidates
    first), ``limit`` of them from ``offset``; the site's CONSORT numbers (over all of them)
    and who may sign eligibility off. ``total`` (and the ``X-Total-Count`` header) is the
    number of pre-screened patients in all."""
    found = worklist.worklist(
        _workspace(auth), auth.access.study_code, site, offset=offset, limit=limit
    )
    response.headers[TOTAL_HEADER] = str(found.total)
    return WorklistPublic.model_validate(found)


def _prescreen(auth: Study, site: str) -> PrescreenPublic:
    result = worklist.prescreen(_workspace(auth), auth.access.study_code, site)
    return PrescreenPublic(evaluated=result.evaluated, unchanged=result.unchanged)


@router.post("/studies/{study}/sites/{site}/screening", include_in_schema=False)
def prescreen_page(auth: Study, site: str) -> Response:
    _prescreen(auth, site)
    return RedirectResponse(_worklist_url(auth, site), 303)


@router.post("/api/v1/studies/{study}/sites/{site}/screening", tags=["screening"])
def prescreen_api(auth: Study, site: str) -> PrescreenPublic:
    """Pre-screen the site's patients against the current criteria (as ``edc screen``)."""
    return _prescreen(auth, site)


def _consent(auth: Study, site: str, patient: str, body: ConsentCreate) -> ConsentPublic:
    form = worklist.ConsentForm(body.signed, body.form_version, body.obtained_by)
    result = worklist.record_consent(_workspace(auth), auth.access.study_code, site, patient, form)
    return ConsentPublic.model_validate(result)


@router.post("/studies/{study}/sites/{site}/patients/{patient}/consent", include_in_schema=False)
def consent_page(
    auth: Study,
    site: str,
    patient: str,
    signed: Annotated[dt.date, Form()],
    form_version: Annotated[str, Form()],
    obtained_by: Annotated[str, Form()],
) -> Response:
    body = ConsentCreate(signed=signed, form_version=form_version, obtained_by=obtained_by)
    _consent(auth, site, patient, body)
    return RedirectResponse(_worklist_url(auth, site, patient), 303)


@router.post(
    "/api/v1/studies/{study}/sites/{site}/patients/{patient}/consent",
    status_code=201,
    tags=["screening"],
)
def consent_api(auth: Study, site: str, patient: str, body: ConsentCreate) -> ConsentPublic:
    """Record the patient's informed consent (a Consent for the hospital goes to the outbox)."""
    return _consent(auth, site, patient, body)


def _enroll(auth: Study, site: str, patient: str, body: EnrollmentCreate) -> EnrollmentPublic:
    form = worklist.EnrollForm(body.investigator, body.confirm, body.override)
    result = worklist.enroll_patient(_workspace(auth), auth.access.study_code, site, patient, form)
    return EnrollmentPublic(
        patient=result.patient,
        subject=result.subject,
        status=result.status,
        enrolled_at=result.enrolled_at,
        investigator=result.investigator,
        overridden=list(result.overridden),
    )


@router.post("/studies/{study}/sites/{site}/patients/{patient}/enrollment", include_in_schema=False)
async def enroll_page(request: Request, auth: Study, site: str, patient: str) -> Response:
    posted = await request.form()
    confirm: dict[str, bool] = {}
    for name, value in posted.items():
        if not name.startswith(CONFIRM_PREFIX):
            continue
        if value not in ("yes", "no"):
            raise errors.BadInputError(f"{name}: answer yes or no, not {value!r}")
        confirm[name.removeprefix(CONFIRM_PREFIX)] = value == "yes"
    investigator = posted.get("investigator")
    if not isinstance(investigator, str) or not investigator:
        raise errors.BadInputError("name the investigator who signs eligibility off")
    override = posted.get("override")
    body = EnrollmentCreate(
        investigator=investigator,
        confirm=confirm,
        override=override if isinstance(override, str) and override.strip() else None,
    )
    _enroll(auth, site, patient, body)
    return RedirectResponse(_worklist_url(auth, site, patient), 303)


@router.post(
    "/api/v1/studies/{study}/sites/{site}/patients/{patient}/enrollment",
    status_code=201,
    tags=["screening"],
)
def enroll_api(auth: Study, site: str, patient: str, body: EnrollmentCreate) -> EnrollmentPublic:
    """Enroll a consented patient: eligibility is evaluated again, the investigator's
    confirmations applied; refused (422, naming every obstacle) unless all criteria pass."""
    return _enroll(auth, site, patient, body)


def _randomize(auth: Study, code: str) -> tuple[str, RandomizationPublic]:
    workspace = _workspace(auth)
    with workspace.transaction() as session:
        study = workspace.study(session, auth.access.study_code)
    result = worklist.randomize_subject(workspace, study, code, auth.access.site_ids)
    return result.site, RandomizationPublic(
        subject=result.subject,
        sequence=result.sequence,
        arm=result.arm,
        randomized_at=result.randomized_at,
        planned_visits=result.planned_visits,
    )


@router.post("/studies/{study}/subjects/{code}/randomization", include_in_schema=False)
def randomize_page(auth: Study, code: str) -> Response:
    site, _ = _randomize(auth, code)
    return RedirectResponse(_worklist_url(auth, site), 303)


@router.post(
    "/api/v1/studies/{study}/subjects/{code}/randomization", status_code=201, tags=["screening"]
)
def randomize_api(auth: Study, code: str) -> RandomizationPublic:
    """Randomize an enrolled subject; the arm is shown only to those the blinding allows."""
    return _randomize(auth, code)[1]

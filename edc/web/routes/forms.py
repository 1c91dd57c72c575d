"""CRF entry: the compiled Questionnaire rendered by LHC-Forms in the page, submitted to the
API as a QuestionnaireResponse; a stored form shown with each answer's audit history one click
away; changing a stored form asks for a reason."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edc.actions import capture, entry, subjects
from edc.warehouse import db
from edc.web import assets, pages
from edc.web.deps import Study
from edc.web.schemas import FormCreate, FormStoredPublic, FormUpdate

router = APIRouter()


def _view(auth: Study, code: str, response_id: int) -> subjects.ResponseView:
    with db.transaction(auth.context.makers.reader) as session:
        return subjects.response_view(
            session=session,
            access=auth.access,
            definition=auth.definition,
            code=code,
            response_id=response_id,
        )


@router.get("/api/v1/studies/{study}/forms/{form_id}/questionnaire", tags=["forms"])
def questionnaire_api(auth: Study, form_id: str, visit: str | None = None) -> dict[str, Any]:
    """The compiled SDC Questionnaire of a form (what the page renders); with ``visit``, as
    entered at that visit (a form with visit-specific items has the visit filled in)."""
    return capture.questionnaire_at(auth.definition.questionnaire(form_id), visit)


@router.get("/studies/{study}/subjects/{code}/forms/new", include_in_schema=False)
def new_form_page(
    request: Request, auth: Study, code: str, form: str, visit: str | None = None
) -> Response:
    target = capture.FormTarget(code=code, form_id=form, visit_id=visit or None)
    with db.transaction(auth.context.makers.reader) as session:
        capture.check_target(
            session=session, access=auth.access, definition=auth.definition, target=target
        )
    return pages.render(
        request,
        "crf.html",
        auth=auth,
        code=code,
        target=target,
        response_id=None,
        resource_id=entry.new_resource_id(),
        title=auth.definition.form_title(form),
        lforms=assets.lforms_available(),
    )


@router.get("/studies/{study}/subjects/{code}/forms/{response_id}", include_in_schema=False)
def form_page(request: Request, auth: Study, code: str, response_id: int) -> Response:
    view = _view(auth, code, response_id)
    may_edit = auth.access.may("enter_data", view.subject.site_id)
    return pages.render(request, "form.html", auth=auth, view=view, may_edit=may_edit)


@router.get("/studies/{study}/subjects/{code}/forms/{response_id}/edit", include_in_schema=False)
def edit_form_page(request: Request, auth: Study, code: str, response_id: int) -> Response:
    view = _view(auth, code, response_id)
    auth.access.require("enter_data", view.subject.site_id)
    target = capture.FormTarget(code=code, form_id=view.form_id, response_id=response_id)
    return pages.render(
        request,
        "crf.html",
        auth=auth,
        code=code,
        target=target,
        response_id=response_id,
        resource_id="",
        title=view.title,
        lforms=assets.lforms_available(),
    )


@router.get("/api/v1/studies/{study}/subjects/{code}/forms/{response_id}", tags=["forms"])
def stored_form_api(auth: Study, code: str, response_id: int) -> dict[str, Any]:
    """The newest stored version of a form, as its QuestionnaireResponse."""
    with db.transaction(auth.context.makers.reader) as session:
        return capture.stored_resource(
            session=session, access=auth.access, code=code, response_id=response_id
        )


@router.post("/api/v1/studies/{study}/subjects/{code}/forms", status_code=201, tags=["forms"])
def submit_form_api(auth: Study, code: str, body: FormCreate) -> FormStoredPublic:
    """Store a form: checked exactly like a synced QuestionnaireResponse, scores computed from
    the answers (a submitted score that disagrees is refused); 422 lists every problem."""
    stored = capture.submit_form(
        auth.context.engine,
        access=auth.access,
        definition=auth.definition,
        target=capture.FormTarget(code=code, form_id=body.form_id, visit_id=body.visit_id),
        posted=body.response,
        resource_id=body.resource_id,
        person_name=f"{auth.identity.display_name} ({auth.identity.username})",
        clock=auth.context.clock,
    )
    return FormStoredPublic.model_validate(stored)


@router.put("/api/v1/studies/{study}/subjects/{code}/forms/{response_id}", tags=["forms"])
def change_form_api(auth: Study, code: str, response_id: int, body: FormUpdate) -> FormStoredPublic:
    """Change a stored form: a new version of the response, every changed value audited with
    the reason."""
    view = _view(auth, code, response_id)
    stored = capture.submit_form(
        auth.context.engine,
        access=auth.access,
        definition=auth.definition,
        target=capture.FormTarget(code=code, form_id=view.form_id, response_id=response_id),
        posted=body.response,
        resource_id=None,
        reason=body.reason,
        person_name=f"{auth.identity.display_name} ({auth.identity.username})",
        clock=auth.context.clock,
    )
    return FormStoredPublic.model_validate(stored)

"""The start page: the studies the logged-in person works on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edc.actions import access
from edc.warehouse import db
from edc.web import pages
from edc.web.deps import Context, Identified
from edc.web.schemas import StudyPublic

router = APIRouter()


def _studies(context: Context, who: Identified) -> list[access.MyStudy]:
    with db.transaction(context.makers.reader) as session:
        return access.list_my_studies(session=session, user_id=who.user_id)


@router.get("/", include_in_schema=False)
def home(request: Request, context: Context, who: Identified) -> Response:
    return pages.render(request, "home.html", studies=_studies(context, who))


@router.get("/api/v1/studies", tags=["studies"])
def list_studies(context: Context, who: Identified) -> list[StudyPublic]:
    """The studies the logged-in person holds a role in."""
    return [StudyPublic.model_validate(s) for s in _studies(context, who)]

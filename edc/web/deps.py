"""What routes depend on: the app's context, the logged-in person, and the one authorization
dependency (``authorize``) that every study route takes.

``authorize`` resolves the session (401 when there is none), checks the CSRF token of every
state-changing request (403), and turns (user, study) into an ``Access`` (404 for a study that
is not the user's): the scope every query of the route then takes.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from edc import config
from edc.actions import access, definitions, login
from edc.actions.workspace import Workspace
from edc.clock import Clock
from edc.warehouse import db
from edc.web import guards

SESSION_COOKIE = "edc_session"


@dataclasses.dataclass(frozen=True)
class WebContext:
    """Everything the routes share, built once by ``create_app``."""

    settings: config.Settings
    engine: Engine
    makers: db.Makers
    clock: Clock
    policy: login.SessionPolicy
    templates: Jinja2Templates
    limiter: guards.LoginLimiter
    secure_cookies: bool


def web_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.edc
    return context


Context = Annotated[WebContext, Depends(web_context)]


async def _csrf_checked(request: Request, who: login.Identity) -> None:
    if request.method in guards.SAFE_METHODS:
        return
    sent = request.headers.get(guards.CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if sent is None and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(guards.CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    guards.check_csrf(sent, who.csrf_token)


async def identify(request: Request, context: Context) -> login.Identity:
    """The logged-in person (CSRF checked for state-changing requests).

    :raises login.SessionEndedError: (401) no valid session.
    :raises guards.CsrfError: (403) a state-changing request without the session's token.
    """
    who = login.identify(
        context.makers,
        token=request.cookies.get(SESSION_COOKIE),
        clock=context.clock,
        policy=context.policy,
    )
    await _csrf_checked(request, who)
    request.state.identity = who
    return who


Identified = Annotated[login.Identity, Depends(identify)]


@dataclasses.dataclass(frozen=True)
class Authorized:
    """A request's person, their access to the study in the URL, and the study's definition."""

    identity: login.Identity
    access: access.Access
    definition: definitions.StudyDefinition
    context: WebContext


def authorize(study: str, who: Identified, context: Context) -> Authorized:
    """The one authorization dependency of every study route.

    :raises edc.errors.NotFoundError: (404) the study is not the user's.
    """
    with db.transaction(context.makers.reader) as session:
        found = access.load_access(
            session=session, user_id=who.user_id, username=who.username, study_code=study
        )
        definition = definitions.load_definition(session=session, study_id=found.study_id)
    scoped = access.with_blinding(found, open_label=definition.open_label)
    return Authorized(who, scoped, definition, context)


Study = Annotated[Authorized, Depends(authorize)]


def workspace(auth: Authorized) -> Workspace:
    """The CLI actions' workspace, acting as the logged-in person (whose roles they check)."""
    context = auth.context
    return Workspace(context.engine, context.clock, auth.identity.username)

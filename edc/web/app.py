"""``create_app``: the FastAPI application of ``edc serve`` (factory only, nothing at import).

Pages are server-rendered (Jinja2, autoescaped) under ``/``; the JSON API is under
``/api/v1/`` with its OpenAPI document at ``/api/v1/openapi.json`` (browsable at
``/api/v1/docs``). Errors raised by actions become HTTP errors here, in one place: a JSON body
for the API, a page for the browser.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

import edc
from edc import config, errors
from edc.actions import login
from edc.clock import Clock, SystemClock
from edc.trial import permissions
from edc.warehouse import db, migrate
from edc.web import guards, pages
from edc.web.deps import WebContext
from edc.web.routes import ROUTERS

HERE = Path(__file__).parent
# Most specific first: the first class an error is an instance of gives its status.
_STATUS: tuple[tuple[type[errors.UserError], int], ...] = (
    (login.SessionEndedError, 401),
    (login.LoginFailedError, 401),
    (guards.TooManyAttemptsError, 429),
    (guards.CsrfError, 403),
    (errors.NotPermittedError, 403),
    (permissions.PermissionDeniedError, 403),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.ProblemsError, 422),
    (errors.BadInputError, 422),
    (errors.CheckFailedError, 409),
    (errors.ExternalSystemError, 503),
)


def create_app(
    settings: config.Settings,
    *,
    clock: Clock | None = None,
    policy: login.SessionPolicy | None = None,
    secure_cookies: bool = False,
    engine: Engine | None = None,
) -> FastAPI:
    """The web application over the warehouse of ``settings``.

    :param secure_cookies: mark the session cookie ``Secure`` (behind HTTPS).
    :param engine: an engine to use instead of opening ``settings.database_url``.
    :raises errors.BadInputError: when the warehouse is missing or not migrated.
    """
    engine = engine or migrate.open_engine(settings.database_url)
    app = FastAPI(
        title="edc",
        version=edc.__version__,
        description="FHIR-native electronic data capture: pages and JSON API.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["dt"] = pages.format_instant
    app.state.edc = WebContext(
        settings=settings,
        engine=engine,
        makers=db.make_makers(engine),
        clock=clock or SystemClock(),
        policy=policy or login.SessionPolicy(),
        templates=templates,
        limiter=guards.LoginLimiter(),
        secure_cookies=secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.middleware("http")(_security_headers)
    app.add_exception_handler(errors.UserError, _user_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    return app


# Pages of trial data are never framed by another site, sniffed into another type, or named in
# the Referer sent to other sites.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def _status(exc: errors.UserError) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _user_error(request: Request, exc: errors.UserError) -> Response:
    status = _status(exc)
    headers = {}
    if isinstance(exc, guards.TooManyAttemptsError):
        headers["Retry-After"] = str(exc.retry_after)
    if wants_json(request):
        body: dict[str, object] = {"error": exc.message}
        if isinstance(exc, errors.ProblemsError):
            body["problems"] = [
                {"where": p.where, "field": p.field, "message": p.message} for p in exc.problems
            ]
        elif exc.details:
            body["details"] = exc.details
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401 and request.method == "GET":
        return RedirectResponse(pages.login_url(request, expired="expired" in exc.message), 303)
    return pages.error_page(request, status, exc)


def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    problems = [
        errors.Problem(".".join(str(p) for p in e.get("loc", ())), "", str(e.get("msg")))
        for e in exc.errors()
    ]
    return _user_error(request, errors.ProblemsError("the request is malformed", problems))

"""Rendering pages: the templates get the request, who is logged in and the CSRF token."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from edc import errors
from edc.actions import login
from edc.web.deps import WebContext


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """``template`` with ``values``, the logged-in person and their CSRF token."""
    context: WebContext = request.app.state.edc
    identity: login.Identity | None = getattr(request.state, "identity", None)
    values.setdefault("identity", identity)
    values.setdefault("csrf_token", identity.csrf_token if identity else "")
    response = context.templates.TemplateResponse(
        request, template, values, status_code=status_code
    )
    # Pages show trial data: never keep them in shared or browser caches.
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, status: int, exc: errors.UserError) -> HTMLResponse:
    problems = exc.problems if isinstance(exc, errors.ProblemsError) else []
    details = "" if problems else exc.details
    return render(
        request,
        "error.html",
        status,
        status=status,
        message=exc.message,
        details=details,
        problems=problems,
    )


def login_url(request: Request, *, expired: bool = False) -> str:
    """The login page, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": target}
    if expired:
        query["expired"] = "1"
    return f"/login?{urlencode(query, safe='/', quote_via=quote)}"


def safe_next(value: str | None) -> str:
    """A post-login destination on this site only (never ``//host`` or ``https://...``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def format_instant(value: dt.datetime | dt.date | None) -> str:
    """An instant as ``YYYY-MM-DD HH:MM UTC`` (a date as itself; nothing as a dash)."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()

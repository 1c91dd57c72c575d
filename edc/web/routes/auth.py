"""Logging in and out: the login page (with a double-submit CSRF cookie, as there is no
session yet), and the same for API clients under ``/api/v1/session``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from edc.actions import login
from edc.web import guards, pages
from edc.web.deps import SESSION_COOKIE, Context, Identified, WebContext
from edc.web.schemas import LoginCreate, MePublic

router = APIRouter()
LOGIN_CSRF_COOKIE = "edc_login_csrf"


def _client(request: Request) -> str:
    return f"client:{request.client.host if request.client else 'unknown'}"


def _open_session(context: WebContext, request: Request, username: str, password: str) -> str:
    """Check the limiter and the password; the new session's token."""
    context.limiter.check(username, _client(request))
    try:
        token, identity = login.log_in(
            context.makers.writer,
            username=username,
            password=password,
            clock=context.clock,
            policy=context.policy,
        )
    except login.LoginFailedError:
        context.limiter.failed(username, _client(request))
        raise
    request.state.identity = identity
    return token


def _set_session_cookie(response: Response, context: WebContext, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(context.policy.lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=context.secure_cookies,
        path="/",
    )


@router.get("/login", include_in_schema=False)
def login_page(
    request: Request,
    context: Context,
    next_page: Annotated[str, Query(alias="next")] = "/",
    expired: str = "",
) -> Response:
    token = guards.new_token()
    response = pages.render(
        request,
        "login.html",
        login_csrf=token,
        next=pages.safe_next(next_page),
        message="Your session has expired: log in again." if expired else "",
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=context.secure_cookies,
        path="/login",
    )
    return response


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    context: Context,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next_page: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    guards.check_csrf(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, ""))
    token = _open_session(context, request, username, password)
    response = RedirectResponse(pages.safe_next(next_page), status_code=303)
    _set_session_cookie(response, context, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, context: Context, who: Identified) -> Response:
    login.log_out(context.makers.writer, token=request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/api/v1/session", tags=["session"])
def api_login(
    body: LoginCreate, request: Request, response: Response, context: Context
) -> MePublic:
    """Log in: sets the session cookie; answers the CSRF token to send with later writes."""
    token = _open_session(context, request, body.username, body.password)
    _set_session_cookie(response, context, token)
    return MePublic.model_validate(request.state.identity)


@router.delete("/api/v1/session", status_code=204, tags=["session"])
def api_logout(request: Request, response: Response, context: Context, who: Identified) -> None:
    """Log out (needs the X-CSRF-Token header)."""
    login.log_out(context.makers.writer, token=request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/api/v1/me", tags=["session"])
def me(who: Identified) -> MePublic:
    """Who is logged in."""
    return MePublic.model_validate(who)

"""Logging in and out of the web application, and finding who a request comes from.

A login is a random token held by the browser (in a cookie) and a ``web_session`` row holding
its SHA-256, a CSRF token and the expiry: absolute after ``SessionPolicy.lifetime``, or after
``SessionPolicy.idle`` without a request. Logout deletes the row, so a copied cookie is useless
afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

from edc import errors
from edc.actions import passwords
from edc.clock import Clock
from edc.warehouse import audit, db, logins
from edc.warehouse.tables.web import WebSessionRow


class LoginFailedError(errors.BadInputError):
    """Wrong user name or password (which of the two is not said)."""


class SessionEndedError(errors.BadInputError):
    """The request carries no valid login: never logged in, logged out, or expired."""


@dataclasses.dataclass(frozen=True)
class SessionPolicy:
    """How long a login lasts."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    lifetime: dt.timedelta = dt.timedelta(hours=12)
    # A request refreshes last_seen_at only when it is older than this: one write a minute
    # at most per user, instead of one per request.
    touch_every: dt.timedelta = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Identity:
    """The logged-in person behind a request."""

    user_id: int
    username: str
    display_name: str
    csrf_token: str


def token_digest(token: str) -> str:
    """What the warehouse keeps of a browser's token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def log_in(
    maker: db.SessionMaker,
    *,
    username: str,
    password: str,
    clock: Clock,
    policy: SessionPolicy,
) -> tuple[str, Identity]:
    """Check the password and open a session.

    :returns: the token to give the browser, and who logged in.
    :raises LoginFailedError: unknown user, inactive user, no password set, or a wrong one.
    """
    with db.transaction(maker) as session:
        user = logins.find_user(session=session, username=username)
        stored = user.password_hash if user is not None else None
        if (
            not passwords.verify_password(stored, password)
            or user is None
            or stored is None
            or not user.active
        ):
            raise LoginFailedError("wrong user name or password")
        if passwords.needs_rehash(stored):
            audit.bind(session, actor=user.username, role="system", clock=clock)
            with audit.reason(session, "password hash upgraded at login"):
                user.password_hash = passwords.hash_password(password)
        now = clock.now()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        logins.add_web_session(
            session=session,
            row=WebSessionRow(
                token_sha256=token_digest(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + policy.lifetime,
            ),
        )
        logins.delete_expired_web_sessions(session=session, before=now)
        return token, Identity(user.id, user.username, user.display_name, csrf)


def identify(
    makers: db.Makers, *, token: str | None, clock: Clock, policy: SessionPolicy
) -> Identity:
    """Who holds ``token``. Reads without a write lock; writes only to refresh the idle timer
    (at most once per ``policy.touch_every``) or to forget an expired session.

    :raises SessionEndedError: no token, an unknown one, an expired one (deleted now), or the
        user was deactivated.
    """
    if not token:
        raise SessionEndedError("not logged in")
    digest = token_digest(token)
    now = clock.now()
    with db.transaction(makers.reader) as session:
        found = logins.find_web_session(session=session, token_sha256=digest)
        if found is None:
            raise SessionEndedError("not logged in (or the session ended)")
        row, user = found
        expired = now >= row.expires_at or now - row.last_seen_at >= policy.idle or not user.active
        stale = now - row.last_seen_at >= policy.touch_every
        identity = Identity(user.id, user.username, user.display_name, row.csrf_token)
    if expired:
        with db.transaction(makers.writer) as session:
            logins.delete_web_session(session=session, token_sha256=digest)
        raise SessionEndedError("your session has expired: log in again")
    if stale:
        with db.transaction(makers.writer) as session:
            logins.touch_web_session(session=session, token_sha256=digest, at=now)
    return identity


def log_out(maker: db.SessionMaker, *, token: str | None) -> None:
    """End the session of ``token`` (nothing happens when there is none)."""
    if not token:
        return
    with db.transaction(maker) as session:
        logins.delete_web_session(session=session, token_sha256=token_digest(token))

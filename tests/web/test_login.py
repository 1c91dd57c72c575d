"""Logging in and out: passwords, session expiry, rate limiting, CSRF (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from edc import errors
from edc.actions import passwords
from tests.web.conftest import login
from tests.web.helpers import counts
from tests.web.trial import PASSWORD, Seeded


def test_login_opens_a_session_and_logout_ends_it(seeded: Seeded, app_for) -> None:
    client = app_for(seeded)
    assert client.get("/api/v1/me").status_code == 401
    api = login(client, "coord1")
    me = client.get("/api/v1/me").json()
    assert me["username"] == "coord1" and me["csrf_token"] == api.csrf
    assert api.send("DELETE", "/api/v1/session").status_code == 204
    refused = client.get("/api/v1/me")
    assert refused.status_code == 401 and "not logged in" in refused.json()["error"]


def test_a_session_expires_after_idle_time_and_says_so(seeded: Seeded, app_for) -> None:
    client = app_for(seeded)
    login(client, "coord1")
    seeded.clock.advance(dt.timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200  # activity restarts the idle timer
    seeded.clock.advance(dt.timedelta(minutes=31))
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]
    # A page asks the browser to log in again, and comes back afterwards.
    page = client.get("/studies/MINI-01/subjects", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=/studies/MINI-01/subjects")


def test_wrong_passwords_are_refused_then_rate_limited(seeded: Seeded, app_for) -> None:
    client = app_for(seeded)
    for _ in range(5):
        wrong = client.post("/api/v1/session", json={"username": "coord1", "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "wrong user name or password"
    limited = client.post("/api/v1/session", json={"username": "coord1", "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "too many failed logins" in limited.json()["error"]
    # Another user from the same client is not locked out by coord1's failures (yet).
    assert (
        client.post(
            "/api/v1/session", json={"username": "coord2", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_unknown_users_are_told_the_same_as_wrong_passwords(seeded: Seeded, app_for) -> None:
    client = app_for(seeded)
    answer = client.post("/api/v1/session", json={"username": "nobody", "password": PASSWORD})
    assert answer.status_code == 401
    assert answer.json()["error"] == "wrong user name or password"


def test_a_write_without_the_csrf_token_is_refused_and_changes_nothing(
    seeded: Seeded, as_user
) -> None:
    api = as_user("coord1")
    before = counts(seeded)
    url = f"/api/v1/studies/MINI-01/subjects/{seeded.subject(0)}/visits"
    body = {"visit_id": "UNS", "date": "2026-03-20"}
    missing = api.client.post(url, json=body)
    assert missing.status_code == 403 and "CSRF" in missing.json()["error"]
    wrong = api.client.post(url, json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert counts(seeded) == before
    assert api.send("POST", url, json=body).status_code == 201  # the same with the token
    assert counts(seeded)["visit"] == before["visit"] + 1


def test_the_login_form_needs_its_csrf_cookie(seeded: Seeded, app_for) -> None:
    client = app_for(seeded)
    page = client.get("/login")
    assert page.status_code == 200
    token = client.cookies.get("edc_login_csrf")
    forged = {"username": "coord1", "password": PASSWORD, "csrf_token": "forged"}
    refused = client.post("/login", data=forged, follow_redirects=False)
    assert refused.status_code == 403
    good = {**forged, "csrf_token": token, "next": "https://evil.example/"}
    done = client.post("/login", data=good, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/"  # never redirected off-site
    assert client.get("/api/v1/me").status_code == 200


def test_set_password_checks_strength_and_ends_sessions(seeded: Seeded, app_for) -> None:
    client = app_for(seeded)
    login(client, "coord1")
    maker = seeded.database.sessionmaker
    with pytest.raises(errors.BadInputError, match="at least"):
        passwords.set_password(
            maker,
            username="coord1",
            password="short",
            actor="admin",
            role="admin",
            clock=seeded.clock,
        )
    with pytest.raises(errors.NotFoundError):
        passwords.set_password(
            maker,
            username="ghost",
            password="a long password 1",
            actor="admin",
            role="admin",
            clock=seeded.clock,
        )
    passwords.set_password(
        maker,
        username="coord1",
        password="a new long password",
        actor="admin",
        role="admin",
        clock=seeded.clock,
    )
    assert client.get("/api/v1/me").status_code == 401  # the old session ended
    assert (
        client.post(
            "/api/v1/session", json={"username": "coord1", "password": PASSWORD}
        ).status_code
        == 401
    )
    login(client, "coord1", "a new long password")


def test_pages_carry_security_headers_and_are_not_cached(seeded: Seeded, as_user) -> None:
    api = as_user("coord1")
    page = api.get("/studies/MINI-01/subjects")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    cookie = api.client.post("/api/v1/session", json={"username": "coord1", "password": PASSWORD})
    assert "httponly" in cookie.headers["set-cookie"].lower()
    assert "samesite=lax" in cookie.headers["set-cookie"].lower()

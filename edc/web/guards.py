"""Request guards that are not about trial rules: CSRF tokens and login rate limiting."""

from __future__ import annotations

import hmac
import secrets
import time

from limits import RateLimitItemPerMinute, storage, strategies

from edc import errors

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(errors.BadInputError):
    """A state-changing request without the page's CSRF token (or with a wrong one)."""


class TooManyAttemptsError(errors.BadInputError):
    """Too many failed logins: wait before trying again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def check_csrf(sent: str | None, expected: str) -> None:
    """:raises CsrfError: when ``sent`` is missing or differs from ``expected``."""
    if not sent:
        raise CsrfError("the request carries no CSRF token: reload the page and try again")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfError("the CSRF token does not match this session: reload the page")


def new_token() -> str:
    return secrets.token_urlsafe(32)


class LoginLimiter:
    """Failed logins per user name and per client address, in a moving window (in memory, per
    server process: a restart forgets them).

    :param per_user: failures allowed per user name in ``minutes``.
    :param per_client: failures allowed per client address in ``minutes``.
    """

    def __init__(self, per_user: int = 5, per_client: int = 20, minutes: int = 15) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._user = RateLimitItemPerMinute(per_user, minutes)
        self._client = RateLimitItemPerMinute(per_client, minutes)
        self._minutes = minutes

    def check(self, username: str, client: str) -> None:
        """:raises TooManyAttemptsError: when either limit is used up."""
        for item, key in ((self._user, f"user:{username.lower()}"), (self._client, client)):
            if not self._limiter.test(item, key):
                stats = self._limiter.get_window_stats(item, key)
                raise TooManyAttemptsError(
                    f"too many failed logins: try again in {self._minutes} minutes",
                    retry_after=max(1, int(stats.reset_time - time.time())),
                )

    def failed(self, username: str, client: str) -> None:
        self._limiter.hit(self._user, f"user:{username.lower()}")
        self._limiter.hit(self._client, client)

"""Errors raised by the FHIR client, classified where the failure is first seen.

The hierarchy (roots from :mod:`edc.errors`)::

    errors.BadInputError (exit 2)           our request was wrong; retrying cannot help
    └── FhirRequestError                    the server refused it (4xx other than 429)
        ├── ResourceNotFoundError           404 / 410
        ├── ConflictError                   409 / 412: changed by someone else, or several matches
        └── AuthError                       token request refused, 401 after one re-auth, 403

    errors.ExternalSystemError (exit 3)     the server or the network failed
    ├── NetworkError                        base of the transport-level failures below
    │   ├── TemporaryNetworkError           still failing after bounded retries (may work later)
    │   ├── DeadlineError                   the job's time limit passed (a slow or dripping server)
    │   └── FatalNetworkError               answered in a way no retry fixes (bad body, paging loop,
    │                                       a URL outside the trusted origins)
    ├── BulkExportError                     a Bulk Data job failed, reported errors, or timed out
    └── UnsupportedFeatureError             the server's CapabilityStatement lacks what we need

Every error that comes from an HTTP exchange carries ``method``, ``url``, ``status`` (None when no
response arrived) and ``issues`` (the server's OperationOutcome), and says them in its message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NotRequired, TypedDict, Unpack

from edc import errors
from edc.fhir.outcome import Issue, describe


class Exchange(TypedDict):
    """The keyword arguments every exchange error takes (see ``_Exchange``)."""

    method: str
    url: str
    status: NotRequired[int | None]
    issues: NotRequired[Sequence[Issue]]
    details: NotRequired[str]
    attempts: NotRequired[int]


class _Exchange:
    """Mixin: what we sent and what came back, put into the message and kept as attributes."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        issues: Sequence[Issue] = (),
        details: str = "",
        attempts: int = 1,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.issues = tuple(issues)
        self.attempts = attempts
        said = describe(self.issues)
        where = f"{method} {url}"
        code = f" -> HTTP {status}" if status is not None else ""
        full = f"{message} ({where}{code})" + (f": {said}" if said else "")
        super().__init__(full, details)  # type: ignore[call-arg]


class FhirRequestError(_Exchange, errors.BadInputError):
    """The server refused our request (4xx); fix the request or the data, do not retry."""


class ResourceNotFoundError(FhirRequestError):
    """The resource does not exist (404) or was deleted (410)."""


class ConflictError(FhirRequestError):
    """409/412: a version conflict (``If-Match``) or a conditional write that matched several."""


class AuthError(FhirRequestError):
    """Authorisation failed: token request refused, 401 after one re-auth, or 403 (scopes)."""


class NetworkError(_Exchange, errors.ExternalSystemError):
    """The FHIR server or the network between us failed."""


class TemporaryNetworkError(NetworkError):
    """A failure that may go away later (connection, timeout, 429, 5xx), seen on every attempt.

    :ivar retry_after: seconds the server asked us to wait, when it said so.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, **exchange: Unpack[Exchange]
    ) -> None:
        super().__init__(message, **exchange)
        self.retry_after = retry_after


class DeadlineError(NetworkError):
    """The job's overall time limit passed before the exchange (or its retries) finished."""


class FatalNetworkError(NetworkError):
    """The server answered in a way no retry will fix (unreadable body, redirect, paging loop)."""


class BulkExportError(_Exchange, errors.ExternalSystemError):
    """A Bulk Data export failed (error status or error file), or did not finish in time."""


class UnsupportedFeatureError(errors.ExternalSystemError):
    """The server does not declare a feature we need in its CapabilityStatement (``/metadata``)."""

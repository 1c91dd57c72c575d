"""One HTTP exchange with bounded retries, and the classification of every failure.

What is retried (mapping guide §9.6, cumulus-fhir-support ``http.py``):

* connection failures and connect/pool timeouts: the request never reached the server;
* 429 and 503: the server says it did not process the request; ``Retry-After`` is honoured in
  both its forms (RFC 9110 §10.2.3: delay-seconds or HTTP-date);
* 502 and 504, read timeouts and dropped connections, and 5xx whose OperationOutcome carries a
  transient code (``transient``/``throttled``/``timeout``/``lock-error``);
* a bare 500 once only: EHRs disguise permanent errors behind 500, and retrying those
  hard only delays the error report.

The middle group may have been processed by the server, so it is retried only for idempotent
requests (GET/HEAD/PUT/DELETE, or a POST the caller marks idempotent because every write in it
is conditional, guide §9.5). Other 4xx are never retried. Attempts are bounded, delays are
exponential with jitter and capped, and sleep, randomness and the clock are injected so tests
never wait.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import random
import time
from collections.abc import Callable

import httpx

from edc.clock import Clock, SystemClock
from edc.fhir import deadlines, errors
from edc.fhir.outcome import Issue, has_transient_code, issues_from_bytes

log = logging.getLogger("edc.fhir.http")

FHIR_JSON = "application/fhir+json"
# R4 names its version with the fhirVersion MIME parameter (R4 http.html#version-parameter);
# never "4.3", which is R4B.
FHIR_JSON_R4 = "application/fhir+json; fhirVersion=4.0"
FHIR_NDJSON = "application/fhir+ndjson"

# Connect and pool waits are short (a server that does not accept in 10 s is down); reads and
# writes get a minute because a 1000-entry transaction or search page can be slow on a busy EHR.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
# Those limit each socket operation; this limits one whole exchange (an attempt), however the
# server paces its bytes (edc.fhir.deadlines). Five times the read timeout.
DEFAULT_REQUEST_LIMIT = 300.0

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry, and the effects retrying needs (injected so that tests never sleep).

    :param max_attempts: total tries of one request, the first included.
    :param base_delay: first backoff delay in seconds; doubles on each attempt.
    :param max_backoff: cap of a computed backoff delay, in seconds.
    :param max_retry_after: longest ``Retry-After`` we wait; a longer one fails at once.
    :param sleep: called with the delay in seconds before each retry.
    :param rng: jitter source.
    :param clock: "now", for ``Retry-After`` given as an HTTP-date.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = dataclasses.field(default_factory=random.Random)
    clock: Clock = dataclasses.field(default_factory=SystemClock)

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt ``attempt`` (1-based): capped exponential, jittered to
        between half and all of it, so that many clients do not retry in lockstep."""
        ceiling = min(self.max_backoff, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self.rng.random() / 2)


def parse_retry_after(value: str, clock: Clock) -> float | None:
    """Seconds to wait from a ``Retry-After`` header; None when it cannot be read.

    :param value: delay-seconds (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``).
    :param clock: gives "now" for the HTTP-date form; a date in the past means 0.
    """
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are always GMT
        return None
    return max(0.0, (when - clock.now()).total_seconds())


def send(
    client: httpx.Client,
    request: httpx.Request,
    *,
    policy: RetryPolicy,
    idempotent: bool | None = None,
    stream: bool = False,
    with_auth: bool = True,
    limit: float | None = DEFAULT_REQUEST_LIMIT,
    job_deadline: float | None = None,
) -> httpx.Response:
    """Send ``request``, retrying what is retryable; return a 2xx (or 304) response.

    :param idempotent: whether the request may be repeated safely; default from its method.
    :param stream: leave the body of a successful response unread (the caller closes it, and
        reads it under a deadline of its own, see ``FhirClient.stream``).
    :param with_auth: False sends no credentials (e.g. Bulk files that need no token).
    :param limit: seconds one attempt may take in all, headers and body (None: no limit).
    :param job_deadline: ``time.monotonic()`` instant after which nothing more is tried.
    :raises errors.FhirRequestError: (and subclasses) on a 4xx, never retried.
    :raises errors.TemporaryNetworkError: when retryable failures outlast the attempts.
    :raises errors.DeadlineError: when the job's deadline passes.
    :raises errors.FatalNetworkError: on failures no retry can fix.
    """
    safe = request.method in IDEMPOTENT_METHODS if idempotent is None else idempotent
    method, url = request.method, str(request.url)
    bare_500_seen = False
    attempt = 0
    while True:
        attempt += 1
        _check_job_deadline(job_deadline, method, url, attempt)
        try:
            with deadlines.within(limit, job_deadline=job_deadline):
                if with_auth:
                    response = client.send(request, stream=stream)
                else:
                    response = client.send(request, stream=stream, auth=None)
        except httpx.TransportError as exc:
            _check_job_deadline(job_deadline, method, url, attempt)
            if not (isinstance(exc, _NEVER_SENT) or (safe and isinstance(exc, _MAYBE_SENT))):
                raise _transport_error(exc, method, url, attempt) from exc
            if attempt >= policy.max_attempts:
                raise errors.TemporaryNetworkError(
                    f"no answer after {attempt} attempts: {exc!r}",
                    method=method,
                    url=url,
                    attempts=attempt,
                ) from exc
            _pause(policy, policy.backoff(attempt), method, url, attempt, repr(exc), job_deadline)
            continue
        except errors.TemporaryNetworkError as exc:
            # Raised by the auth flow when the token endpoint fails: the same rules apply (a
            # token request is safe to repeat), then the whole request is sent again.
            status = exc.status or 503
            transient = has_transient_code(exc.issues)
            if attempt >= policy.max_attempts or not _retryable(
                status, transient, True, bare_500_seen
            ):
                raise
            bare_500_seen = bare_500_seen or (status == 500 and not transient)
            delay = exc.retry_after if exc.retry_after is not None else policy.backoff(attempt)
            delay = min(delay, policy.max_retry_after)
            _pause(policy, delay, method, url, attempt, str(exc), job_deadline)
            continue

        status = response.status_code
        if status < 300 or status == 304:
            return response
        raw = response.read()
        response.close()
        issues = issues_from_bytes(raw)
        transient = has_transient_code(issues)
        if not _retryable(status, transient, safe, bare_500_seen):
            raise _status_error(response, issues, attempt, safe, transient)
        bare_500_seen = bare_500_seen or (status == 500 and not transient)
        if attempt >= policy.max_attempts:
            raise errors.TemporaryNetworkError(
                f"server still failing after {attempt} attempts",
                method=method,
                url=url,
                status=status,
                issues=issues,
                attempts=attempt,
            )
        delay = _delay(response, attempt, policy, issues)
        _pause(policy, delay, method, url, attempt, f"HTTP {status}", job_deadline)


def _check_job_deadline(job_deadline: float | None, method: str, url: str, attempt: int) -> None:
    if job_deadline is not None and time.monotonic() >= job_deadline:
        raise _deadline_error(method, url, attempt)


def _deadline_error(method: str, url: str, attempt: int) -> errors.DeadlineError:
    return errors.DeadlineError(
        "the job's time limit passed; stopping",
        method=method,
        url=url,
        attempts=attempt,
        details="what was stored before stays; the next run continues from there",
    )


def _retryable(status: int, transient: bool, safe: bool, bare_500_seen: bool) -> bool:
    if status in (429, 503):  # refused before processing: safe for any method
        return True
    if status < 500:
        return False
    if not safe:
        return False
    if status in (502, 504) or transient:
        return True
    return status == 500 and not bare_500_seen


def _delay(
    response: httpx.Response, attempt: int, policy: RetryPolicy, issues: list[Issue]
) -> float:
    header = response.headers.get("Retry-After")
    asked = parse_retry_after(header, policy.clock) if header else None
    if asked is None:
        return policy.backoff(attempt)
    if asked > policy.max_retry_after:
        raise errors.TemporaryNetworkError(
            f"server asked us to wait {asked:.0f} s, more than our limit of "
            f"{policy.max_retry_after:.0f} s; try again later",
            method=response.request.method,
            url=str(response.request.url),
            status=response.status_code,
            issues=issues,
            attempts=attempt,
            retry_after=asked,
        )
    return asked


def _pause(
    policy: RetryPolicy,
    delay: float,
    method: str,
    url: str,
    attempt: int,
    why: str,
    job_deadline: float | None,
) -> None:
    if job_deadline is not None and time.monotonic() + delay >= job_deadline:
        # Waiting would end after the job's deadline: stop now rather than sleep through it.
        raise _deadline_error(method, url, attempt)
    log.warning(
        "Retrying %s %s in %.1f s (attempt %d of %d failed: %s)",
        method,
        url,
        delay,
        attempt,
        policy.max_attempts,
        why,
    )
    policy.sleep(delay)


def _transport_error(
    exc: httpx.TransportError, method: str, url: str, attempt: int
) -> errors.NetworkError:
    if isinstance(exc, _MAYBE_SENT):
        return errors.TemporaryNetworkError(
            f"connection failed after sending; not retried because {method} is not idempotent "
            f"and the server may have processed it: {exc!r}",
            method=method,
            url=url,
            attempts=attempt,
        )
    return errors.FatalNetworkError(
        f"request could not be sent: {exc!r}", method=method, url=url, attempts=attempt
    )


def _status_error(
    response: httpx.Response, issues: list[Issue], attempt: int, safe: bool, transient: bool
) -> errors.FhirRequestError | errors.NetworkError:
    status = response.status_code
    method = response.request.method
    kind: type[errors.FhirRequestError] | type[errors.NetworkError]
    if 300 <= status < 400:
        where = response.headers.get("Location")
        kind, why = errors.FatalNetworkError, f"unexpected redirect to {where}"
    elif status >= 500:
        kind = errors.TemporaryNetworkError
        if not safe:
            why = f"not retried: {method} is not idempotent and the server may have processed it"
        elif status == 500 and not transient:
            why = "server error, retried once"
        else:
            why = "server error that is not retryable"
    elif status == 401:
        kind, why = errors.AuthError, "not authorised (401)"
    elif status == 403:
        kind, why = errors.AuthError, "forbidden (403): check the client's scopes"
    elif status in (404, 410):
        kind, why = errors.ResourceNotFoundError, "resource not found"
    elif status in (409, 412):
        kind, why = errors.ConflictError, "conflict: re-read and reconcile"
    else:
        kind, why = errors.FhirRequestError, "FHIR server refused the request"
    return kind(
        why,
        method=method,
        url=str(response.request.url),
        status=status,
        issues=issues,
        attempts=attempt,
    )

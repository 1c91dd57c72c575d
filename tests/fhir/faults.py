"""Fault injection around the real HTTP transport, and a sleep that records instead of waiting.

The server is always the real SEKMET; a ``FaultTransport`` only replaces or alters the answers a
real server cannot give on cue (a 429 storm, a 503, a dropped connection, an expired token).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable

import httpx
import orjson

from edc.clock import FixedClock

# A non-UTC offset on purpose: it shows up any code that forgets time zones (cumulus-etl habit).
FROZEN_AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=4)))

Responder = Callable[[httpx.Request, Callable[[], httpx.Response]], httpx.Response]


@dataclasses.dataclass
class Exchange:
    """One request that went through the transport, and what came back."""

    method: str
    url: str
    status: int | None
    headers: httpx.Headers
    body: bytes
    injected: bool


@dataclasses.dataclass
class _Fault:
    when: Callable[[httpx.Request], bool]
    respond: Responder
    remaining: int


class FaultTransport(httpx.BaseTransport):
    """Passes requests to the real transport, except where a scripted fault applies."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.log: list[Exchange] = []
        self._faults: list[_Fault] = []

    def add(
        self, when: Callable[[httpx.Request], bool], respond: Responder, times: int = 1
    ) -> None:
        """Apply ``respond`` to the next ``times`` requests for which ``when`` is true.

        ``respond(request, real)`` returns the answer; calling ``real()`` sends the request to
        the server (so a fault can alter a real answer).
        """
        self._faults.append(_Fault(when, respond, times))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        fault = next((f for f in self._faults if f.remaining > 0 and f.when(request)), None)
        try:
            if fault is None:
                response = self.inner.handle_request(request)
            else:
                fault.remaining -= 1
                response = fault.respond(request, lambda: self.inner.handle_request(request))
        except httpx.TransportError:
            self._record(request, body, None, fault is not None)
            raise
        self._record(request, body, response.status_code, fault is not None)
        return response

    def close(self) -> None:
        self.inner.close()

    def requests_to(self, path: str, method: str | None = None) -> list[Exchange]:
        """Exchanges whose URL path ends with ``path`` (and with ``method``, if given)."""
        return [
            e
            for e in self.log
            if httpx.URL(e.url).path.endswith(path) and (method is None or e.method == method)
        ]

    def _record(
        self, request: httpx.Request, body: bytes, status: int | None, injected: bool
    ) -> None:
        self.log.append(
            Exchange(request.method, str(request.url), status, request.headers, body, injected)
        )


def on(path: str, method: str | None = None) -> Callable[[httpx.Request], bool]:
    """Matches requests whose URL path ends with ``path`` (any method unless given)."""
    return lambda r: r.url.path.endswith(path) and (method is None or r.method == method)


def anything(_: httpx.Request) -> bool:
    return True


def answer(status: int, *, headers: dict[str, str] | None = None, json: object = None) -> Responder:
    """A made-up answer (the request never reaches the server)."""
    return lambda request, real: httpx.Response(status, headers=headers, json=json, request=request)


def outcome(code: str, text: str, severity: str = "error") -> dict[str, object]:
    """An OperationOutcome body with one issue."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }


def rewrite_json(change: Callable[[dict[str, object]], None]) -> Responder:
    """The real answer, its JSON body changed by ``change`` (answers other than 200 as they are)."""

    def respond(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        response = real()
        if response.status_code != 200:
            return response
        body = orjson.loads(response.read())
        change(body)
        return httpx.Response(200, json=body, request=request)

    return respond


def bulk_status_get(request: httpx.Request) -> bool:
    """A poll of a Bulk export's status URL (SEKMET's ``/bulk-status/{job}``)."""
    return "/bulk-status/" in request.url.path and request.method == "GET"


def fail_with(exc_type: type[httpx.TransportError]) -> Responder:
    """The connection fails with ``exc_type`` before any answer."""

    def respond(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        raise exc_type("injected", request=request)

    return respond


class RecordingSleep:
    """Stands in for ``time.sleep``: records each delay and returns at once.

    :param clock: advanced by each delay, so that deadlines and expiry move with the "sleep".
    :param real_cap: really sleep ``min(delay, real_cap)`` (for a real server's async job).
    :param hook: called with each delay (e.g. to restart a server during the "sleep").
    """

    def __init__(
        self,
        clock: FixedClock | None = None,
        real_cap: float = 0.0,
        hook: Callable[[float], None] | None = None,
    ) -> None:
        self.calls: list[float] = []
        self.clock = clock
        self.real_cap = real_cap
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.advance(dt.timedelta(seconds=seconds))
        if self.hook is not None:
            self.hook(seconds)
        if self.real_cap:
            time.sleep(min(seconds, self.real_cap))

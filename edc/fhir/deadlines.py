"""Overall deadlines: no request, and no job, can be kept alive by a server that drips bytes.

httpx's timeouts are per socket operation: a server that sends one byte every few seconds keeps
a read timeout of 60 s from ever firing, and a request (or a whole sync) hangs for ever. Here
every socket read, write and connect of a FhirClient is given at most the time left before the
current deadline, so the deadline holds whatever the server does, in headers and body alike.

The deadline in force is a context variable set around each exchange (:func:`within`): the
earlier of the request's own limit and the job's (``FhirClient(deadline=...)``). Sockets are
made by :class:`DeadlineBackend`, which ``transport()`` plugs into httpx's transport.
"""

from __future__ import annotations

import contextlib
import contextvars
import ssl
import time
import typing
from collections.abc import Iterable, Iterator

import httpcore
import httpx

# Monotonic instant (time.monotonic()) by which the current exchange must be over.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "edc_fhir_deadline", default=None
)


class DeadlineExceeded(httpx.TimeoutException):
    """The overall deadline of a request (or of the job it belongs to) passed."""


@contextlib.contextmanager
def within(seconds: float | None, *, job_deadline: float | None = None) -> Iterator[float | None]:
    """Run the block under a deadline ``seconds`` from now (None: none of its own), never later
    than ``job_deadline`` or than a deadline already in force. Yields the deadline."""
    candidates = [d for d in (_DEADLINE.get(), job_deadline) if d is not None]
    if seconds is not None:
        candidates.append(time.monotonic() + seconds)
    deadline = min(candidates, default=None)
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


def remaining(timeout: float | None) -> float | None:
    """``timeout`` for one socket operation, shortened to the time left before the deadline.

    :raises httpcore.ReadTimeout: when the deadline has passed (httpx turns it into a
        ``ReadTimeout``; ``edc.fhir.http`` tells it apart by the deadline).
    """
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("overall deadline passed")
    return left if timeout is None else min(timeout, left)


def passed() -> bool:
    """Whether the deadline in force has passed."""
    deadline = _DEADLINE.get()
    return deadline is not None and time.monotonic() >= deadline


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, remaining(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.SyncBackend):
    """httpcore's socket backend, with every operation bounded by the deadline in force."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(
            super().connect_tcp(host, port, remaining(timeout), local_address, socket_options)
        )


def transport() -> httpx.HTTPTransport:
    """httpx's own HTTP transport, its sockets made by :class:`DeadlineBackend`.

    httpx has no public way to choose httpcore's network backend, so it is set on the pool
    httpx built; the drip-feed tests (tests/fhir/test_deadlines.py) fail if that stops working.
    """
    built = httpx.HTTPTransport()
    pool = getattr(built, "_pool", None)
    if not hasattr(pool, "_network_backend"):  # pragma: no cover - a future httpx/httpcore
        raise RuntimeError("httpx's transport no longer exposes its connection pool")
    pool._network_backend = DeadlineBackend()  # type: ignore[union-attr]
    return built

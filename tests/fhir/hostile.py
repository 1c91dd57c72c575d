"""A hostile HTTP server on 127.0.0.1, for what a real FHIR server cannot be made to do on cue:
drip its answer one byte at a time, in the headers or in the body.

    with HostileServer(drip_body(b'{"resourceType": "Patient"}', every=0.2)) as server:
        FhirClient(server.url, ...)

A behaviour is a function given the connected socket (after the request was read).
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from types import TracebackType

Behaviour = Callable[[socket.socket], None]


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.request.settimeout(30)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                received += chunk
            self.server.requests.append(received.split(b"\r\n", 1)[0].decode())
            self.server.behaviour(self.request)
        except OSError:  # the client gave up: that is what the tests want
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.requests: list[str] = []


class HostileServer:
    """Serves ``behaviour`` on a free port of 127.0.0.1 until the ``with`` block ends."""

    def __init__(self, behaviour: Behaviour) -> None:
        self._server = _Server(behaviour)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """A FHIR base URL on this server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir"

    @property
    def requests(self) -> list[str]:
        """The request lines received, e.g. ``GET /fhir/Patient/1 HTTP/1.1``."""
        return self._server.requests

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _drip(sock: socket.socket, data: bytes, every: float, stop: threading.Event | None) -> None:
    for byte in data:
        if stop is not None and stop.is_set():
            return
        sock.sendall(bytes([byte]))
        time.sleep(every)


def drip_body(body: bytes, every: float) -> Behaviour:
    """Headers at once (with the full Content-Length), then the body one byte per ``every`` s."""

    def behave(sock: socket.socket) -> None:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        sock.sendall(head)
        _drip(sock, body, every, None)

    return behave


def drip_headers(every: float) -> Behaviour:
    """The status line and headers one byte per ``every`` s, never finishing them."""

    def behave(sock: socket.socket) -> None:
        endless = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000
        _drip(sock, endless, every, None)

    return behave

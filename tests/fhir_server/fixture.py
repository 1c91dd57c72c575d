"""Pytest fixtures that run the real test FHIR server (SEKMET) on 127.0.0.1.

* ``fhir_server_factory`` (session): ``start(smart=..., token_lifetime=..., stock=...,
  settings=...)`` returns a new :class:`FhirServer`; all are stopped at the end of the session.
* ``fhir_server``: one open (no auth) server shared by the session. Tests must use unique
  identifiers; it is restarted if a test left it stopped.
* ``fhir_server_smart``: one shared server that requires SMART Backend Services;
  ``fhir_server_smart.smart`` holds the client id, keys, kid and token URL.
* ``fresh_fhir_server``: a server of the test's own, for tests that stop and restart it.

Starting a server takes about a second. When SEKMET cannot be installed or started the tests
that need it are skipped, or fail if ``EDC_TEST_REQUIRE_FHIR=1`` (as in CI).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.fhir_server.server import FhirServer, SmartCredentials, free_port, make_smart_clients
from tests.fhir_server.venv import ServerUnavailable, ensure_server_python

REQUIRE_ENV = "EDC_TEST_REQUIRE_FHIR"

__all__ = ["FhirServer", "FhirServerFactory", "SmartCredentials"]


class FhirServerFactory:
    """Starts SEKMET servers, each in its own directory under ``root``, and stops them all."""

    def __init__(self, python: Path, root: Path) -> None:
        self.python = python
        self.root = root
        self._servers: list[FhirServer] = []

    def start(
        self,
        *,
        smart: bool = False,
        token_lifetime: int = 300,
        stock: bool = False,
        settings: dict[str, Any] | None = None,
        name: str = "fhir",
    ) -> FhirServer:
        """Start a new server and wait until it answers.

        :param smart: require SMART Backend Services (a client with fresh keys is registered).
        :param token_lifetime: access-token lifetime in seconds when ``smart``.
        :param stock: SEKMET without our extra search parameters.
        :param settings: SEKMET settings to override (merged one level deep).
        :raises ServerUnavailable: if it cannot be started (three ports are tried).
        """
        last: ServerUnavailable | None = None
        for _ in range(3):  # a port found free can be taken before the server binds it
            port = free_port()
            workdir = self.root / f"{name}-{len(self._servers)}-{port}"
            extra = dict(settings or {})
            credentials = None
            if smart:
                credentials, clients = make_smart_clients(f"http://127.0.0.1:{port}")
                extra["server_auth"] = {
                    "types": ["smart"],
                    "enforce_scopes": True,
                    "token_lifetime": token_lifetime,
                    "smart_clients": clients,
                }
            server = FhirServer(
                self.python, workdir, port, settings=extra, smart=credentials, stock=stock
            )
            self._servers.append(server)
            try:
                server.start()
                return server
            except ServerUnavailable as exc:
                last = exc
        assert last is not None
        raise last

    def close(self) -> None:
        """Stop every server this factory started."""
        for server in self._servers:
            server.stop()


def unavailable(reason: str) -> NoReturn:
    """Skip (or, with ``EDC_TEST_REQUIRE_FHIR=1``, fail) because the server is unavailable."""
    message = f"test FHIR server (SEKMET) unavailable: {reason}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def start_or_give_up(factory: FhirServerFactory, **options: Any) -> FhirServer:
    """``factory.start(**options)``, turning a start failure into skip/fail (see above)."""
    try:
        return factory.start(**options)
    except ServerUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def fhir_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServerFactory]:
    try:
        python = ensure_server_python()
    except ServerUnavailable as exc:
        unavailable(str(exc))
    factory = FhirServerFactory(python, tmp_path_factory.mktemp("fhir-servers"))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def _shared_fhir_server(fhir_server_factory: FhirServerFactory) -> FhirServer:
    return start_or_give_up(fhir_server_factory, name="shared")


@pytest.fixture
def fhir_server(_shared_fhir_server: FhirServer) -> FhirServer:
    if not _shared_fhir_server.running:
        _shared_fhir_server.start()
    return _shared_fhir_server


@pytest.fixture(scope="session")
def _shared_fhir_server_smart(fhir_server_factory: FhirServerFactory) -> FhirServer:
    return start_or_give_up(fhir_server_factory, smart=True, name="smart")


@pytest.fixture
def fhir_server_smart(_shared_fhir_server_smart: FhirServer) -> FhirServer:
    if not _shared_fhir_server_smart.running:
        _shared_fhir_server_smart.start()
    return _shared_fhir_server_smart


@pytest.fixture
def fresh_fhir_server(fhir_server_factory: FhirServerFactory) -> Iterator[FhirServer]:
    server = start_or_give_up(fhir_server_factory, name="fresh")
    yield server
    server.stop()

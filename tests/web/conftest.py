"""Fixtures for the web tests: a seeded warehouse and logged-in API clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edc.web.app import create_app
from tests.fixtures.database import Database
from tests.sync.protocols import Protocols
from tests.web.trial import PASSWORD, Seeded, seed


@pytest.fixture(scope="session")
def protocols(tmp_path_factory: pytest.TempPathFactory) -> Protocols:
    return Protocols(tmp_path_factory.mktemp("web-protocols"))


@pytest.fixture
def seeded(database: Database, tmp_path: Path, protocols: Protocols) -> Seeded:
    return seed(database, tmp_path, protocols)


@pytest.fixture
def sqlite_seeded(sqlite_database: Database, tmp_path: Path, protocols: Protocols) -> Seeded:
    return seed(sqlite_database, tmp_path, protocols)


class Api:
    """A TestClient logged in as one user, sending its CSRF token with every write."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    def get(self, url: str, **kwargs: object) -> object:
        return self.client.get(url, **kwargs)  # type: ignore[arg-type]

    def send(self, method: str, url: str, **kwargs: object) -> object:
        """A request with the CSRF token (as a form field for HTML forms, as pages send it)."""
        form = kwargs.get("data")
        if isinstance(form, dict):
            kwargs["data"] = {**form, "csrf_token": self.csrf}
            return self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
        headers = {"X-CSRF-Token": self.csrf, **dict(kwargs.pop("headers", {}) or {})}  # type: ignore[call-overload]
        return self.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]


def login(client: TestClient, username: str, password: str = PASSWORD) -> Api:
    response = client.post("/api/v1/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return Api(client, response.json()["csrf_token"])


@pytest.fixture
def app_for() -> Iterator[Callable[[Seeded], TestClient]]:
    clients: list[TestClient] = []

    def make(seeded: Seeded) -> TestClient:
        app = create_app(seeded.settings, clock=seeded.clock, engine=seeded.database.engine)
        client = TestClient(app, base_url="http://127.0.0.1")
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def as_user(seeded: Seeded, app_for: Callable[[Seeded], TestClient]) -> Callable[[str], Api]:
    """A logged-in API client for a user of the seeded trial (a fresh cookie jar each)."""
    return lambda username: login(app_for(seeded), username)

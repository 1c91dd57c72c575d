"""Shared pytest set-up. Fixtures live in plugin modules, listed here."""

pytest_plugins: list[str] = [
    "tests.fixtures.database",
    "tests.fixtures.browser",
    "tests.fhir_server.fixture",
]

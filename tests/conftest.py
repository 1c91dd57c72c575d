"""Shared pytest set-up. Fixtures live in plugin modules, listed here."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures.database",
    "tests.fixtures.browser",
    "tests.fhir_server.fixture",
]


@pytest.fixture(autouse=True)
def _data_dir_of_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EDC_DATA_DIR in the test's own directory (a test may set another): commands that write
    there (audit checkpoints, Bulk scratch files) never touch the checkout's ./edc-data; the same
    for EDC_CACHE_DIR (the FHIRPath syntax cache), so no test depends on an earlier one."""
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "edc-data"))
    monkeypatch.setenv("EDC_CACHE_DIR", str(tmp_path / "edc-cache"))

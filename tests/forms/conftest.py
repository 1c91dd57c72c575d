"""Fixtures for form tests: the shipped library, loaded once."""

from __future__ import annotations

import pytest

from edc.library import Library, load_library


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()

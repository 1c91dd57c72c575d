"""Fixtures for protocol tests: the minimal protocol as text, and a way to write a variant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc.library import Library, load_library

DATA = Path(__file__).parent.parent / "data" / "protocols"


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture
def minimal_text() -> str:
    return (DATA / "minimal.yaml").read_text()


@pytest.fixture
def write_protocol(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "protocol.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def line_of(text: str, fragment: str) -> int:
    """1-based number of the (single) line containing ``fragment``."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(lines) == 1, f"{fragment!r} is on lines {lines}"
    return lines[0]

"""Fixtures for compiler tests: compiled example and minimal protocols."""

from __future__ import annotations

from pathlib import Path

import pytest

from edc.compiler import CompiledStudy, compile_protocol
from edc.library import Library, load_library
from edc.protocol import load_protocol

ROOT = Path(__file__).parents[2]
PROTOCOLS = {
    "minimal": ROOT / "tests" / "data" / "protocols" / "minimal.yaml",
    "spine-mwa-01": ROOT / "fhir_mappings" / "studies" / "spine-mwa-01.yaml",
    "spine-prd-01": ROOT / "fhir_mappings" / "studies" / "spine-prd-01.yaml",
}


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="session", params=sorted(PROTOCOLS))
def compiled(request: pytest.FixtureRequest, library: Library) -> CompiledStudy:
    loaded = load_protocol(PROTOCOLS[request.param], library)
    return compile_protocol(loaded.protocol, library)


@pytest.fixture(scope="session")
def minimal(library: Library) -> CompiledStudy:
    return compile_protocol(load_protocol(PROTOCOLS["minimal"], library).protocol, library)

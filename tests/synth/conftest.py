"""Shared fixtures: the example studies compiled once, and small generated runs to inspect."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from edc.actions import generate
from edc.compiler import CompiledStudy, compile_protocol
from edc.compiler.naming import Naming
from edc.library import Library, load_library
from edc.protocol import Protocol, load_protocol
from edc.protocol import forms as protocol_forms
from edc.synth.conduct import questionnaires_by_form
from edc.synth.profile import Profile
from edc.synth.profile_load import load_profile, profile_path_for

STUDIES = Path(__file__).parents[2] / "fhir_mappings" / "studies"
MWA = STUDIES / "spine-mwa-01.yaml"
PRD = STUDIES / "spine-prd-01.yaml"


@dataclasses.dataclass(frozen=True)
class Study:
    path: Path
    protocol: Protocol
    compiled: CompiledStudy
    questionnaires: dict[str, dict[str, Any]]
    profile: Profile


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


def _study(path: Path, library: Library) -> Study:
    protocol = load_protocol(path, library).protocol
    compiled = compile_protocol(protocol, library)
    study = protocol.study
    naming = Naming(study.canonical_base, study.id, study.version)
    form_ids = [f.id for f in protocol.forms] + sorted(protocol_forms.builtin_form_ids(protocol))
    questionnaires = questionnaires_by_form(form_ids, compiled, naming)
    profile = load_profile(profile_path_for(path), protocol, questionnaires, library)
    return Study(path, protocol, compiled, questionnaires, profile)


@pytest.fixture(scope="session")
def mwa(library: Library) -> Study:
    return _study(MWA, library)


@pytest.fixture(scope="session")
def prd(library: Library) -> Study:
    return _study(PRD, library)


@dataclasses.dataclass(frozen=True)
class Run:
    """A generated directory, read back."""

    out: Path
    manifest: dict[str, Any]

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        path = self.out / f"{resource_type}.ndjson"
        return (
            [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []
        )

    def truth(self, name: str) -> list[dict[str, Any]]:
        path = self.out / "truth" / f"{name}.ndjson"
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]

    def files(self) -> Iterator[Path]:
        return (p for p in sorted(self.out.rglob("*")) if p.is_file())


def run_generate(out: Path, study: Path, patients: int, seed: int, **options: Any) -> Run:
    result = generate.generate(
        generate.GenerateOptions(study=study, out=out, patients=patients, seed=seed, **options)
    )
    return Run(out, result.manifest)


@pytest.fixture(scope="session")
def mwa_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """160 referred patients of SPINE-MWA-01 (about 45 enrolled)."""
    return run_generate(tmp_path_factory.mktemp("mwa") / "out", MWA, 160, seed=11, workers=1)


@pytest.fixture(scope="session")
def prd_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """160 referred patients of SPINE-PRD-01."""
    return run_generate(tmp_path_factory.mktemp("prd") / "out", PRD, 160, seed=12, workers=1)

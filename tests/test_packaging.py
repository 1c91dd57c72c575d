"""A non-editable install works: fhir_mappings/ (and the migrations) ship inside the wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("edc-*.whl")
    return built


def test_wheel_carries_the_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "fhir_mappings/instruments/odi.yaml" in names
    assert "fhir_mappings/terminology/ctcae/ctcae-v5.0.json" in names
    assert "fhir_mappings/terminology/ctcae/SOURCE.md" in names
    assert "fhir_mappings/studies/spine-mwa-01.yaml" in names
    assert any(name.startswith("edc/_migrations/versions/") for name in names)


def test_wheel_carries_the_web_application_and_lhc_forms(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"edc/web/templates/subject.html", "edc/web/static/crf.js"} <= names
    # LHC-Forms, fetched at build time (never committed): what the CRF page loads, and its
    # licence; no source maps, and not the build hook itself.
    lforms = {n.removeprefix("edc/web/static/lforms/") for n in names if "/lforms/" in n}
    assert {"main.js", "zone.min.js", "styles.css", "lformsFHIR.min.js", "LICENSE.md"} <= lforms
    assert not any(n.endswith(".map") for n in names)
    assert "edc/web/hatch_build.py" not in names


def test_installed_wheel_compiles_an_example_study(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Run from outside the repository with the installed copy first on the path, so neither the
    # working tree nor an editable install can stand in for the wheel.
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import edc, fhir_mappings; print(edc.__file__, fhir_mappings.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(path.startswith(str(target)) for path in probe.stdout.split())
    installed_study = target / "fhir_mappings" / "studies" / "spine-prd-01.yaml"
    output = tmp_path / "bundle.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edc",
            "protocol",
            "compile",
            str(installed_study),
            "-o",
            str(output),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(output.read_text())["type"] == "transaction"

"""The test server's own plumbing: loopback only, skip-or-fail, and the install marker."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.fhir_server import venv
from tests.fhir_server.fixture import REQUIRE_ENV, unavailable
from tests.fhir_server.server import LAUNCHER


def test_servers_bind_loopback_only(fhir_server):
    settings = json.loads(fhir_server.settings_path.read_text())
    assert settings["host"] == "127.0.0.1"
    assert fhir_server.base_url.startswith("http://127.0.0.1:")
    assert settings["simulator"]["enabled"] is False


def test_launcher_refuses_to_start_without_a_host(fhir_server):
    done = subprocess.run(
        [str(fhir_server.python), str(LAUNCHER), "--config", "x", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--host" in done.stderr


def test_an_unavailable_server_skips_locally(monkeypatch):
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="SEKMET"):
        unavailable("no network")


def test_an_unavailable_server_fails_in_ci(monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no network"):
        unavailable("no network")


def test_install_counts_only_with_a_marker_for_the_pinned_version(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("")
    assert not venv._installed(tmp_path, "sekmet-fhir==0.1.1")
    (tmp_path / venv.MARKER_NAME).write_text("sekmet-fhir==0.1.0\n")
    assert not venv._installed(tmp_path, "sekmet-fhir==0.1.1")
    (tmp_path / venv.MARKER_NAME).write_text("sekmet-fhir==0.1.1\n")
    assert venv._installed(tmp_path, "sekmet-fhir==0.1.1")

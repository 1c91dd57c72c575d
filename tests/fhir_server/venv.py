"""SEKMET's own virtual environment, created on first use (its pins must not meet ours).

``ensure_server_python()`` creates ``<repo>/.venv-fhir-server`` and installs the pinned SEKMET
when the venv is missing or incomplete (no marker file, or a marker for another version).
Parallel test processes wait on a file lock, so only one of them installs.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

SEKMET_REQUIREMENT = "sekmet-fhir==0.1.1"  # young single-maintainer package: keep it pinned
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".venv-fhir-server"
MARKER_NAME = ".edc-installed"  # written last, so its presence means the install finished
INSTALL_TIMEOUT = 900.0  # a cold install takes ~20 s; a slow mirror can take minutes


class ServerUnavailable(Exception):
    """SEKMET could not be installed or started; the message says why."""


def ensure_server_python(venv: Path = VENV_DIR, requirement: str = SEKMET_REQUIREMENT) -> Path:
    """Return the venv's python, installing ``requirement`` into ``venv`` first if needed.

    :raises ServerUnavailable: when creating the venv or installing fails.
    """
    python = venv / "bin" / "python"
    if _installed(venv, requirement):
        return python
    digest = hashlib.sha256(str(venv).encode()).hexdigest()[:12]
    # The lock lives outside the venv: "venv --clear" empties the venv directory.
    lock_path = Path(tempfile.gettempdir()) / f"edc-fhir-server-venv-{digest}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # blocks while another process installs
        try:
            if not _installed(venv, requirement):  # it may have finished while we waited
                _install(venv, python, requirement)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return python


def _installed(venv: Path, requirement: str) -> bool:
    marker = venv / MARKER_NAME
    return (
        (venv / "bin" / "python").exists()
        and marker.exists()
        and (marker.read_text().strip() == requirement)
    )


def _install(venv: Path, python: Path, requirement: str) -> None:
    _run([sys.executable, "-m", "venv", "--clear", str(venv)], "create the venv")
    _run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", requirement],
        f"pip install {requirement}",
    )
    (venv / MARKER_NAME).write_text(requirement + "\n")


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerUnavailable(f"could not {what}: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise ServerUnavailable(f"could not {what} (exit {done.returncode}):\n" + "\n".join(tail))

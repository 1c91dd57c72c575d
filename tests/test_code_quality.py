"""The toolchain configured in pyproject stays clean, and modules stay small."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
MAX_MODULE_LINES = 600  # style.md: split anything past ~500 lines; CI fails past 600


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "check", "edc", "tests", "migrations")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_modules_stay_small_and_there_is_no_grab_bag() -> None:
    for path in (ROOT / "edc").rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"
        assert path.stem not in {"utils", "common", "helpers", "misc"}, path

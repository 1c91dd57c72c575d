"""`edc protocol compile -o`: regular files appear atomically; devices are written, not replaced."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from edc import errors
from edc.cli import main

MINIMAL = Path(__file__).parents[1] / "data" / "protocols" / "minimal.yaml"


def _compile(output: str | Path) -> int:
    return main(["protocol", "compile", str(MINIMAL), "-o", str(output)])


def test_a_full_device_is_reported_and_left_a_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert _compile("/dev/full") == errors.EXIT_BAD_INPUT
    assert "cannot write /dev/full: No space left on device" in capsys.readouterr().err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_character_device_is_written_through(capsys: pytest.CaptureFixture[str]) -> None:
    assert _compile("/dev/null") == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_regular_file_gets_the_usual_mode_and_no_temporary_is_left(tmp_path: Path) -> None:
    # A directory of its own: tmp_path also holds the tests' EDC_CACHE_DIR (tests/conftest.py).
    directory = tmp_path / "out"
    directory.mkdir()
    old = os.umask(0o027)
    try:
        assert _compile(directory / "bundle.json") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(directory / "bundle.json").st_mode) == 0o640
    assert [p.name for p in directory.iterdir()] == ["bundle.json"]


def test_a_symlink_keeps_pointing_at_the_new_content(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert _compile(link) == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["resourceType"] == "Bundle"

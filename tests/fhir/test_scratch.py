"""Bulk scratch directories: gone after the export, and after a process that was killed."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edc.fhir import scratch

ROOT = Path(__file__).parents[2]
HOLDER = """
import sys, time
from pathlib import Path
from edc.fhir import scratch
with scratch.export_directory(Path(sys.argv[1])) as work:
    (work / "Patient.0.ndjson").write_text('{"resourceType":"Patient","id":"secret"}')
    print(work, flush=True)
    time.sleep(60)
"""


def _holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_the_directory_is_private_and_removed_when_done(tmp_path: Path) -> None:
    with scratch.export_directory(tmp_path) as work:
        assert stat.S_IMODE(work.stat().st_mode) == 0o700
        (work / "Observation.0.ndjson").write_text("{}")
    assert list(tmp_path.iterdir()) == []


def test_it_is_removed_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), scratch.export_directory(tmp_path) as work:
        (work / "Patient.0.ndjson").write_text("{}")
        raise RuntimeError("export failed")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_process_leaves_files_that_the_next_export_removes(tmp_path: Path) -> None:
    killed, left = _holder(tmp_path)
    alive, busy = _holder(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=10)
        assert (left / "Patient.0.ndjson").exists()  # kill -9 ran no clean-up

        with scratch.export_directory(tmp_path) as work:
            present = sorted(tmp_path.iterdir())
        assert present == sorted([busy, work]), "the dead one's files went, the live one's stay"
        assert (busy / "Patient.0.ndjson").exists()
    finally:
        alive.kill()
        alive.communicate(timeout=10)


def test_a_directory_without_a_lock_is_left_alone_while_it_may_be_new(tmp_path: Path) -> None:
    fresh = tmp_path / "export-fresh"
    fresh.mkdir()
    old = tmp_path / "export-old"
    old.mkdir()
    long_ago = time.time() - 3600
    os.utime(old, (long_ago, long_ago))
    assert scratch.sweep(tmp_path) == [old]
    assert fresh.exists()

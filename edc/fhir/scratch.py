"""Private scratch directories for Bulk export files, which hold patient data: removed when the
export is done, and, when a process was killed before it could remove its own, by the next one.

Each directory ``<root>/export-XXXXXXXX`` holds a ``.lock`` file its process keeps locked
(``flock``) while it works. The kernel releases that lock when the process dies, however it dies
(``kill -9`` included), so an ``export-*`` directory whose lock can be taken is left over, and
its files go.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("edc.fhir.bulk")

PREFIX = "export-"
LOCK = ".lock"
# A directory with no lock file yet may be one another process made an instant ago.
GRACE_SECONDS = 60.0


@contextlib.contextmanager
def export_directory(root: Path) -> Iterator[Path]:
    """A new directory under ``root`` (mode 0700) for one export, removed when the block ends.

    Directories left by killed processes are removed first.

    :raises OSError: when ``root`` cannot be created or written.
    """
    root.mkdir(parents=True, exist_ok=True)
    sweep(root)
    path = Path(tempfile.mkdtemp(dir=root, prefix=PREFIX))  # mode 0700
    lock = (path / LOCK).open("wb")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        lock.close()


def sweep(root: Path) -> list[Path]:
    """Remove the ``export-*`` directories under ``root`` whose process is gone.

    :returns: the directories removed.
    """
    removed = []
    for path in sorted(root.glob(f"{PREFIX}*")):
        if path.is_dir() and not path.is_symlink() and _abandoned(path):
            shutil.rmtree(path, ignore_errors=True)
            log.warning("Removed %s, left with its export files by a process that died", path)
            removed.append(path)
    return removed


def _abandoned(path: Path) -> bool:
    try:
        handle = os.open(path / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        try:
            return time.time() - path.stat().st_mtime > GRACE_SECONDS
        except FileNotFoundError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its process is still working in it
    finally:
        os.close(handle)
    return True

"""Write a generated directory atomically: into a temporary directory, renamed into place.

Lines go straight to open file handles (nothing is held in memory) and are hashed on the way.
``commit`` writes the manifest and renames the temporary directory to the requested one;
any failure before that removes it, so a half-written output never appears.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from edc import errors
from edc.synth import layout


class _File:
    def __init__(self, path: Path) -> None:
        self.stream: IO[bytes] = path.open("wb", buffering=1 << 20)
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, line: bytes) -> int:
        self.stream.write(line)
        self.digest.update(line)
        self.count += 1
        return self.count


class DirectoryWriter:
    """Writes one generated directory.

    :param out: the directory to create; it must not exist, or be empty.
    :raises errors.BadInputError: when ``out`` is not empty or its parent is not writable.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        parent = self.check(out)
        try:
            self.tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.tmp-"))
            (self.tmp / layout.TRUTH).mkdir()
        except OSError as exc:
            raise errors.BadInputError(f"cannot write {out}: {exc.strerror}") from None
        self._types: dict[str, _File] = {}
        self._truth = {
            name: _File(self.tmp / layout.TRUTH / f"{name}.ndjson") for name in layout.TRUTH_FILES
        }

    @staticmethod
    def check(out: Path) -> Path:
        """Refuse an ``out`` that cannot become the output directory; its parent.

        :raises errors.BadInputError: when it exists and is not an empty directory, or its
            parent is missing or not writable.
        """
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise errors.BadInputError(
                f"--out {out} already exists and is not an empty directory",
                "choose a new directory (nothing was written)",
            )
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise errors.BadInputError(f"cannot write {out}: {parent} is not a directory")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise errors.BadInputError(f"cannot write {out}: {parent} is not writable")
        return parent

    def __enter__(self) -> DirectoryWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self.abort()

    def write(self, resource_type: str, line: bytes) -> int:
        """Append one NDJSON line (with its newline) to the type's file; its line number."""
        handle = self._types.get(resource_type)
        if handle is None:
            handle = self._types[resource_type] = _File(self.tmp / layout.type_file(resource_type))
        return handle.write(line)

    def truth(self, name: str, line: bytes) -> None:
        self._truth[name].write(line)

    def counts(self) -> dict[str, int]:
        return {name: handle.count for name, handle in self._types.items()}

    def commit(
        self, *, transaction_time: str, request: str, extension: dict[str, Any]
    ) -> dict[str, Any]:
        """Close every file, write ``manifest.json`` and rename the directory into place.

        :returns: the manifest.
        :raises errors.BadInputError: when the rename fails (e.g. ``out`` appeared meanwhile).
        """
        for handle in (*self._types.values(), *self._truth.values()):
            handle.stream.close()
        manifest = {
            "transactionTime": transaction_time,
            "request": request,
            "requiresAccessToken": False,
            "output": [
                {
                    "type": name,
                    "url": layout.type_file(name),
                    "count": self._types[name].count,
                    "sha256": self._types[name].digest.hexdigest(),
                }
                for name in layout.sort_types(self._types)
            ],
            "error": [],
            "extension": {
                **extension,
                "truth": [
                    {
                        "name": name,
                        "url": f"{layout.TRUTH}/{name}.ndjson",
                        "count": handle.count,
                        "sha256": handle.digest.hexdigest(),
                    }
                    for name, handle in self._truth.items()
                ],
            },
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        try:
            (self.tmp / layout.MANIFEST).write_text(text, "utf-8")
            if self.out.exists():
                self.out.rmdir()  # empty (checked at the start)
            # mkdtemp makes the directory private (0700); give it the usual permissions.
            umask = os.umask(0)
            os.umask(umask)
            self.tmp.chmod(0o777 & ~umask)
            os.replace(self.tmp, self.out)
        except OSError as exc:
            self.abort()
            raise errors.BadInputError(f"cannot write {self.out}: {exc.strerror}") from None
        return manifest

    def abort(self) -> None:
        """Close and remove the temporary directory."""
        for handle in (*self._types.values(), *self._truth.values()):
            handle.stream.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

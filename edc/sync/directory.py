"""A directory of NDJSON files in the Bulk Data export layout, read as a sync source.

Files are ``<Type>.ndjson`` or ``<Type>.<n>.ndjson`` (one resource per line); other files are
ignored. Types are read in ``edc.synced_types.TYPES`` order, each type's files by number. The
position reached in each file is the cursor, saved with each batch: a re-run continues after the
last committed line. A file whose last-read line no longer matches (replaced by a new export) is
read again from the start; de-duplication makes that harmless.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from edc import errors
from edc.progress import Progress
from edc.sync.incoming import Incoming
from edc.sync.ingest import Ingestor
from edc.synced_types import TYPES

log = logging.getLogger("edc.sync")
_FILE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)(\.(?P<number>\d+))?\.ndjson$")


def find_files(directory: Path) -> dict[str, list[Path]]:
    """The NDJSON files of each resource type, in reading order.

    :raises errors.BadInputError: when the directory cannot be read or holds no NDJSON file.
    """
    try:
        names = sorted(p.name for p in directory.iterdir() if p.is_file())
    except OSError as exc:
        raise errors.BadInputError(f"cannot read the source directory {directory}: {exc}") from None
    found: dict[str, list[tuple[int, Path]]] = {}
    for name in names:
        match = _FILE.match(name)
        if match:
            number = int(match.group("number") or -1)
            found.setdefault(match.group("type"), []).append((number, directory / name))
    if not found:
        raise errors.BadInputError(
            f"no NDJSON files in {directory}",
            "expected the Bulk Data layout: <Type>.ndjson or <Type>.<n>.ndjson, one resource "
            "per line",
        )
    return {kind: [path for _, path in sorted(files)] for kind, files in found.items()}


def ordered_types(available: Mapping[str, object]) -> list[str]:
    """Types in normalization order (subjects before what refers to them), then the rest."""
    return [t for t in TYPES if t in available] + sorted(t for t in available if t not in TYPES)


def pull_directory(
    ingestor: Ingestor,
    directory: Path,
    cursor: Mapping[str, Mapping[str, Any]],
    *,
    types: frozenset[str] | None,
    batch_size: int,
    progress: Progress,
) -> None:
    """Read every file from where the cursor says, ingesting ``batch_size`` lines at a time."""
    files = find_files(directory)
    wanted = [t for t in ordered_types(files) if types is None or t in types]
    total = _expected_lines(directory, wanted, cursor)
    done = 0
    for resource_type in wanted:
        positions = dict(cursor.get(resource_type, {}).get("files", {}))
        for path in files[resource_type]:
            for batch, position in _batches(
                path, positions.get(path.name), resource_type, batch_size
            ):
                positions[path.name] = position
                ingestor.ingest(batch, {resource_type: {"files": dict(positions)}})
                done += len(batch)
                progress.update(done, None if total is None else max(total, done), resource_type)


def _expected_lines(
    directory: Path, types: list[str], cursor: Mapping[str, Mapping[str, Any]]
) -> int | None:
    """Resources left to read, from a Bulk ``manifest.json`` beside the files (its ``count`` per
    output, less the lines the cursor says were read); None without a usable manifest."""
    try:
        manifest = orjson.loads((directory / "manifest.json").read_bytes())
        counts = [int(o["count"]) for o in manifest["output"] if o.get("type") in types]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # progress without a total: count and rate, no ETA
    read = sum(
        int(position.get("line", 0))
        for resource_type in types
        for position in cursor.get(resource_type, {}).get("files", {}).values()
    )
    return max(sum(counts) - read, 0)


def _batches(
    path: Path, position: Mapping[str, Any] | None, resource_type: str, size: int
) -> Iterator[tuple[list[Incoming], dict[str, Any]]]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise errors.BadInputError(f"cannot read {path}: {exc}") from None
    with stream:
        offset, line_number = _resume(stream, path, position)
        batch: list[Incoming] = []
        tail = b""
        for line in stream:
            offset += len(line)
            line_number += 1
            tail = line
            content = line.rstrip(b"\r\n")
            if content.strip():
                batch.append(Incoming(content, f"{path.name}:{line_number}", resource_type))
            if len(batch) >= size:
                yield batch, _position(offset, line_number, tail)
                batch = []
        if batch:
            yield batch, _position(offset, line_number, tail)


def _resume(stream: BinaryIO, path: Path, position: Mapping[str, Any] | None) -> tuple[int, int]:
    """Seek to where the last run stopped, if the file still starts the same way."""
    if not position:
        return 0, 0
    offset, tail_length = int(position["offset"]), int(position.get("tail_length", 0))
    if tail_length <= offset:
        stream.seek(offset - tail_length)
        tail = stream.read(tail_length)
        if len(tail) == tail_length and _fingerprint(tail) == position.get("tail"):
            return offset, int(position.get("line", 0))
    log.warning("%s changed since it was last read: reading it again from the start", path)
    stream.seek(0)
    return 0, 0


def _position(offset: int, line_number: int, tail: bytes) -> dict[str, Any]:
    return {
        "offset": offset,
        "line": line_number,
        "tail": _fingerprint(tail),
        "tail_length": len(tail),
    }


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]

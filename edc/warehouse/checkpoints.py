"""Audit checkpoints: the audit chain anchored outside the database.

The hash chain (``edc.warehouse.chain``) proves that rows were not changed *relative to each
other*; whoever owns the database can still cut rows off its end, or change a row and recompute
every later hash, and the chain verifies. So after each sync (and lock, export, verification)
edc appends a checkpoint to a file outside the database: how many rows the chain had, and the
hash of its last row, keyed with HMAC-SHA256 under a key that is not in the database either.

``verify`` then finds, for every checkpoint of this warehouse, that row ``seq`` still exists and
still has that hash: rows cut off (truncation) or rewritten up to a checkpoint (recomputation)
show. A checkpoint line that was altered, or written without the key, fails its MAC; a line
removed from the middle breaks the chain of MACs (each line's MAC covers the previous one).

Keep the file where the database owner cannot rewrite it (another host, ``chattr +a``, a log
shipper): see ``deploy/runbook.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Connection, Engine, select
from sqlalchemy.engine import URL

from edc import config, errors
from edc.clock import Clock
from edc.warehouse import chain, db
from edc.warehouse.base import table_of
from edc.warehouse.tables.audit import AuditEventRow

FORMAT = 1
GENESIS_MAC = "0" * 64
KEY_BYTES = 32
# Rows looked up per query when checking many checkpoints.
LOOKUP_CHUNK = 1_000

_audit = table_of(AuditEventRow)


@dataclasses.dataclass(frozen=True)
class Location:
    """Where the checkpoints and their key are (both outside the database)."""

    log: Path
    key: Path


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """One line of the checkpoint file."""

    warehouse: str
    rows: int
    head_hash: str
    at: str
    event: str
    prev_mac: str
    mac: str

    def payload(self) -> bytes:
        """What the MAC covers: every field but the MAC, in a fixed order."""
        fields = [FORMAT, self.warehouse, self.rows, self.head_hash, self.at, self.event]
        return orjson.dumps([*fields, self.prev_mac])


@dataclasses.dataclass(frozen=True)
class Finding:
    """What checking the checkpoints found."""

    checked: int
    other_warehouses: int
    latest: Checkpoint | None
    problem: str | None


def location_for(settings: config.Settings) -> Location:
    """The checkpoint file and key the settings name (default: ``<data dir>/audit/``)."""
    base = settings.data_dir / "audit"
    return Location(
        log=settings.audit_checkpoints or base / "checkpoints.ndjson",
        key=settings.audit_key_file or base / "checkpoint.key",
    )


def record(settings: config.Settings, engine: Engine, *, event: str, clock: Clock) -> Checkpoint:
    """Append a checkpoint of the warehouse behind ``engine``, after a sync, lock or export.

    :raises errors.BadInputError: as :func:`write`.
    """
    with db.read_only(engine).connect() as connection:
        return write(
            connection,
            location_for(settings),
            warehouse=warehouse_id(settings.database_url),
            event=event,
            clock=clock,
        )


def warehouse_id(url: str) -> str:
    """How checkpoints name a warehouse: its URL without password (a SQLite path made absolute).

    It comes from edc's settings, not from the database, so the database owner cannot make
    the checkpoints seem to belong to another warehouse.
    """
    parsed = db.database_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(str(parsed.database)).resolve()))
    bare = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False)


def write(
    connection: Connection, location: Location, *, warehouse: str, event: str, clock: Clock
) -> Checkpoint:
    """Append a checkpoint of the chain as it is now (in ``connection``'s view of it).

    The key is created (random, mode 0600) when there is none and the file holds no
    checkpoint yet; otherwise a missing key is an error, never silently replaced.

    :raises errors.BadInputError: when the key is missing or unreadable, or the file cannot be
        written.
    """
    rows, head_hash = chain.head(connection)
    with _locked_log(location.log) as log:
        last = _last_line(log)
        key = _key(location.key, create=last is None)
        prev = GENESIS_MAC if last is None else _parse(last, 0, location.log).mac
        at = clock.now().astimezone(dt.UTC).isoformat(timespec="microseconds")
        draft = Checkpoint(warehouse, rows, head_hash, at, event, prev, "")
        checkpoint = dataclasses.replace(draft, mac=_mac(key, draft))
        line = orjson.dumps(dataclasses.asdict(checkpoint), option=orjson.OPT_SORT_KEYS) + b"\n"
        log.seek(0, os.SEEK_END)
        log.write(line)
        log.flush()
        os.fsync(log.fileno())
    return checkpoint


def verify(connection: Connection, location: Location, *, warehouse: str) -> Finding:
    """Check every checkpoint of ``warehouse`` against the chain in the database.

    :returns: what was checked, and the first problem (None when all hold). No file means
        no checkpoint yet: nothing to check.
    :raises errors.BadInputError: when the file cannot be read.
    """
    if not location.log.exists():
        return Finding(0, 0, None, None)
    try:
        lines = [
            (number, line)
            for number, line in enumerate(location.log.read_bytes().splitlines(), 1)
            if line.strip()
        ]
    except OSError as exc:
        raise errors.BadInputError(f"cannot read {location.log}: {exc.strerror}") from None
    if not lines:
        return Finding(0, 0, None, None)
    try:
        key = _key(location.key, create=False)
    except errors.BadInputError as exc:
        return Finding(0, 0, None, f"the checkpoints cannot be checked: {exc.message}")
    mine: list[Checkpoint] = []
    others = 0
    prev = GENESIS_MAC
    for number, line in lines:
        try:
            checkpoint = _parse(line, number, location.log)
        except errors.BadInputError as exc:
            return Finding(len(mine), others, None, exc.message)
        if not hmac.compare_digest(checkpoint.mac, _mac(key, checkpoint)):
            return Finding(len(mine), others, None, _not_genuine(location.log, number))
        if checkpoint.prev_mac != prev:
            problem = f"{location.log}:{number}: the line before it was removed or replaced"
            return Finding(len(mine), others, None, problem)
        prev = checkpoint.mac
        if checkpoint.warehouse == warehouse:
            mine.append(checkpoint)
        else:
            others += 1
    latest = mine[-1] if mine else None
    return Finding(len(mine), others, latest, _against_chain(connection, mine))


def _against_chain(connection: Connection, checkpoints: Sequence[Checkpoint]) -> str | None:
    if not checkpoints:
        return None
    rows, _ = chain.head(connection)
    most = max(checkpoints, key=lambda c: c.rows)
    if most.rows > rows:
        return (
            f"rows {rows + 1:,} to {most.rows:,} of the audit trail are missing: the checkpoint "
            f"of {most.at} ({most.event}) counted {most.rows:,} rows, the database has "
            f"{rows:,} (truncated)"
        )
    wanted = sorted({c.rows for c in checkpoints if c.rows > 0})
    hashes: dict[int, str] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        found = connection.execute(
            select(_audit.c.seq, _audit.c.hash).where(_audit.c.seq.in_(chunk))
        )
        hashes.update((int(seq), str(digest)) for seq, digest in found)
    for checkpoint in checkpoints:
        if checkpoint.rows == 0:
            continue
        actual = hashes.get(checkpoint.rows)
        if actual is None:
            return f"row {checkpoint.rows:,}, seen by the checkpoint of {checkpoint.at}, is gone"
        if actual != checkpoint.head_hash:
            return (
                f"row {checkpoint.rows:,} does not have the hash the checkpoint of "
                f"{checkpoint.at} ({checkpoint.event}) recorded: rows up to it were rewritten "
                "and the chain recomputed"
            )
    return None


def _mac(key: bytes, checkpoint: Checkpoint) -> str:
    return hmac.new(key, checkpoint.payload(), hashlib.sha256).hexdigest()


def _not_genuine(log: Path, number: int) -> str:
    return (
        f"{log}:{number}: checkpoint is not genuine (its MAC does not match: the line was "
        "altered, or written without the checkpoint key)"
    )


def _parse(line: bytes, number: int, log: Path) -> Checkpoint:
    try:
        data: Any = orjson.loads(line)
        return Checkpoint(
            warehouse=str(data["warehouse"]),
            rows=int(data["rows"]),
            head_hash=str(data["head_hash"]),
            at=str(data["at"]),
            event=str(data["event"]),
            prev_mac=str(data["prev_mac"]),
            mac=str(data["mac"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise errors.BadInputError(f"{log}:{number}: not a checkpoint line") from None


def _key(path: Path, *, create: bool) -> bytes:
    try:
        text = path.read_text("ascii").strip()
    except FileNotFoundError:
        if not create:
            raise errors.BadInputError(
                f"the checkpoint key {path} is missing",
                "restore it from its backup; a new key cannot check the old checkpoints",
            ) from None
        return _new_key(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.BadInputError(f"cannot read the checkpoint key {path}: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise errors.BadInputError(
            f"the checkpoint key {path} is not {KEY_BYTES} or more bytes in hex",
            "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'",
        )
    return key


def _new_key(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it an instant ago
        return _key(path, create=False)
    except OSError as exc:
        raise errors.BadInputError(f"cannot create the checkpoint key {path}: {exc}") from None
    with os.fdopen(handle, "w") as stream:
        stream.write(key.hex() + "\n")
    return key


@contextlib.contextmanager
def _locked_log(path: Path) -> Iterator[BinaryIO]:
    """The checkpoint file, open for appending, locked against other edc processes."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("a+b")
    except OSError as exc:
        raise errors.BadInputError(f"cannot write the checkpoints {path}: {exc}") from None
    with stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        yield stream


def _last_line(stream: BinaryIO) -> bytes | None:
    """The file's last non-empty line (read from its end: the file only grows)."""
    end = stream.seek(0, os.SEEK_END)
    size = 4096
    while True:
        start = max(0, end - size)
        stream.seek(start)
        lines = [line for line in stream.read(end - start).splitlines() if line.strip()]
        if len(lines) > 1 or start == 0:
            return lines[-1] if lines else None
        size *= 4

"""``edc serve`` started for real, on a free loopback port, over a seeded SQLite warehouse."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from edc.warehouse import db, migrate
from tests.fixtures.database import Database
from tests.sync.protocols import Protocols, StudyFile
from tests.web.trial import Seeded, seed, with_vas

# Subject 0's week-1 pain and ODI responses are left out: the journeys enter them.
LEFT_OUT = frozenset({"w-qp0-w1", "w-qo0-w1"})


@dataclasses.dataclass(frozen=True)
class Served:
    url: str
    seeded: Seeded


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(
    directory: Path,
    protocols: Protocols,
    *,
    subjects: int = 6,
    study: StudyFile | None = None,
    extra: Mapping[str, list[dict[str, Any]]] | None = None,
    prepare: Callable[[Seeded], None] | None = None,
) -> Iterator[Served]:
    """Seed a warehouse in ``directory`` and run ``edc serve`` over it until the block ends.

    :param study: the protocol (default the minimal one with a VAS form at week 1).
    :param extra: more hospital resources to sync (see ``tests.web.trial.seed``).
    :param prepare: what to do in the warehouse before the server starts.
    """
    url = f"sqlite:///{directory / 'warehouse.sqlite3'}"
    migrate.upgrade(url)
    engine = db.make_engine(url)
    database = Database("sqlite", url, engine, db.make_sessionmaker(engine))
    seeded = seed(
        database,
        directory,
        protocols,
        subjects=subjects,
        study=study or with_vas(protocols),
        left_out=LEFT_OUT,
        extra=extra,
    )
    if prepare is not None:
        prepare(seeded)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "EDC_DATABASE_URL": url, "EDC_DATA_DIR": str(directory / "data")}
    log = (directory / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "edc", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, directory / "serve.log")
        yield Served(base, seeded)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"edc serve exited with {process.returncode}: {log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"edc serve did not answer within 60 s: {log.read_text()}")

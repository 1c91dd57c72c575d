"""`edc scheduler`: sync jobs on a schedule, kept in the warehouse; and the scheduler process.

``add`` stores a job that runs ``edc sync`` for one study and source every interval (the same
options as the command; a SMART key is stored as its file path, never its content). ``run``
starts a scheduler process: any number may run against one warehouse, and the job lease
(``edc.jobs``) makes sure a job never runs twice at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine

from edc import config, errors, jobs
from edc.actions import sync
from edc.clock import SystemClock
from edc.fhir.target import ServerSpec, SmartSpec
from edc.synced_types import TYPES
from edc.warehouse import db, leases, migrate, studies

log = logging.getLogger("edc.jobs")

SYNC_TARGET = "edc.actions.scheduler:scheduled_sync"
# A push of a study's outbox to a FHIR server (edc.actions.push).
PUSH_TARGET = "edc.actions.scheduler:scheduled_push"
_EVERY = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Shorter intervals are for tests; a real sync interval is minutes.
MIN_INTERVAL = dt.timedelta(milliseconds=100)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A stored job, its next run, and the last thing that happened to it."""

    job_id: str
    every: dt.timedelta
    next_run: dt.datetime | None
    arguments: dict[str, Any]
    last_outcome: str | None
    last_message: str | None
    holder: str | None


def parse_every(text: str) -> dt.timedelta:
    """``30s``, ``15m``, ``2h``, ``1d`` (or ``500ms``) as a duration.

    :raises errors.BadInputError: for anything else, or an interval under 100 ms.
    """
    match = _EVERY.match(text.strip())
    if not match:
        raise errors.BadInputError(f"--every {text!r}: expected a number and a unit", "e.g. 15m")
    every = dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    if every < MIN_INTERVAL:
        raise errors.BadInputError(f"--every {text!r} is too short")
    return every


def add(
    settings: config.Settings,
    request: sync.SyncRequest,
    every: dt.timedelta,
    *,
    job_id: str | None = None,
) -> str:
    """Store a sync job (replacing one with the same id); returns its id.

    :raises errors.BadInputError: bad options, or a study that is not registered.
    """
    request.check()
    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            studies.get_study(session=session, code=request.study)
        arguments = _arguments(request)
        source = arguments["source_dir"] or arguments["fhir_url"]
        job_id = job_id or f"sync-{request.study}-{hashlib.sha256(source.encode()).hexdigest()[:8]}"
        with _managing(engine) as scheduler:
            jobs.add_job(scheduler, job_id, every, SYNC_TARGET, arguments)
        return job_id
    finally:
        engine.dispose()


def list_schedules(settings: config.Settings) -> list[Schedule]:
    """Every stored job with its last recorded run."""
    engine = migrate.open_engine(settings.database_url)
    try:
        with _managing(engine) as scheduler:
            stored = scheduler.get_jobs()
        found = []
        for job in stored:
            runs = leases.list_runs(engine, job_id=job.id)
            last = runs[-1] if runs else None
            found.append(
                Schedule(
                    job_id=job.id,
                    every=job.trigger.interval,
                    next_run=job.next_run_time,
                    arguments=dict(job.args[2]),
                    last_outcome=last.outcome if last else None,
                    last_message=last.message if last else None,
                    holder=leases.holder_of(engine, job.id, SystemClock()),
                )
            )
        return found
    finally:
        engine.dispose()


def remove(settings: config.Settings, job_id: str) -> None:
    """Delete a stored job.

    :raises errors.BadInputError: when there is no such job.
    """
    engine = migrate.open_engine(settings.database_url)
    try:
        with _managing(engine) as scheduler:
            if scheduler.get_job(job_id) is None:
                known = ", ".join(job.id for job in scheduler.get_jobs()) or "none"
                raise errors.BadInputError(f"no scheduled job {job_id!r}", f"jobs: {known}")
            scheduler.remove_job(job_id)
    finally:
        engine.dispose()


def run(settings: config.Settings, *, duration: float | None = None) -> None:
    """Run the stored jobs until SIGTERM/SIGINT (or for ``duration`` seconds), then stop,
    letting running jobs finish."""
    engine = migrate.open_engine(settings.database_url)
    scheduler = jobs.build_scheduler(engine)
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        scheduler.start()
        log.info(
            "Scheduler %s started with %d job(s)", jobs.holder_name(), len(scheduler.get_jobs())
        )
        stop.wait(duration)
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()


def add_push(settings: config.Settings, study: str, server: ServerSpec, every: dt.timedelta) -> str:
    """Store a job that pushes a study's outbox to ``server`` every ``every``; returns its id.

    The job acts as the scheduler's user (``--user``/``EDC_USER`` of ``edc scheduler run``),
    who needs a role that may push (e.g. data_manager).

    :raises errors.BadInputError: an unusable server or an unknown study.
    """
    server.check()
    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            studies.get_study(session=session, code=study)
        job_id = f"push-{study}-{hashlib.sha256(server.url.encode()).hexdigest()[:8]}"
        arguments = {"study": study, **_server_arguments(server)}
        with _managing(engine) as scheduler:
            jobs.add_job(scheduler, job_id, every, PUSH_TARGET, arguments)
        return job_id
    finally:
        engine.dispose()


def scheduled_push(**arguments: Any) -> None:
    """What a stored push job runs (in a scheduler process, with its settings)."""
    from edc.actions import push
    from edc.actions.workspace import Workspace

    settings = config.load_settings()
    with Workspace.open(settings) as workspace:
        result = push.push(workspace, arguments["study"], _server(arguments))
    log.info("Pushed %s: %d delivered, %d pending", result.study, len(result.delivered),
             result.pending)  # fmt: skip


def _server(arguments: dict[str, Any]) -> ServerSpec:
    smart = arguments.get("smart")
    spec = SmartSpec(**{**smart, "key_file": Path(smart["key_file"])}) if smart else None
    return ServerSpec(arguments["fhir_url"], spec, max_attempts=arguments["max_attempts"])


def _server_arguments(server: ServerSpec) -> dict[str, Any]:
    smart = server.smart
    return {
        "fhir_url": server.url,
        "max_attempts": server.max_attempts,
        "smart": {**dataclasses.asdict(smart), "key_file": str(smart.key_file)} if smart else None,
    }


def scheduled_sync(**arguments: Any) -> None:
    """What a stored sync job runs (in a scheduler process, with its settings)."""
    settings = config.load_settings()
    server = _server(arguments) if arguments.get("fhir_url") else None
    request = sync.SyncRequest(
        study=arguments["study"],
        source_dir=Path(arguments["source_dir"]) if arguments.get("source_dir") else None,
        server=server,
        bulk=arguments.get("bulk", False),
        group=arguments.get("group"),
        types=tuple(arguments.get("types") or TYPES),
    )
    result = sync.sync(settings, request, actor=f"edc scheduler ({request.study})")
    log.info("Synced %s: %s", request.study, "; ".join(result.lines()[-1:]))


def every_text(every: dt.timedelta) -> str:
    """``15m``, ``30s``, ``500ms``: the interval as ``--every`` takes it."""
    seconds = every.total_seconds()
    for unit in ("d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{round(seconds * 1000)}ms"


def _arguments(request: sync.SyncRequest) -> dict[str, Any]:
    server = request.server
    where = (
        _server_arguments(server)
        if server
        else {"fhir_url": None, "max_attempts": 5, "smart": None}
    )
    return {
        "study": request.study,
        "source_dir": str(request.source_dir.resolve()) if request.source_dir else None,
        **where,
        "bulk": request.bulk,
        "group": request.group,
        "types": list(request.types),
    }


@contextlib.contextmanager
def _managing(engine: Engine) -> Iterator[BaseScheduler]:
    """A paused scheduler on the job store: jobs are read and written, none runs."""
    scheduler = jobs.build_scheduler(engine, workers=1)
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)

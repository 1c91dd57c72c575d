"""`edc scheduler`: sync jobs on a schedule, kept in the warehouse; and the scheduler process.

``add`` stores a job that runs ``edc sync`` for one study and source every interval, as data in
``scheduled_job`` (the same options as the command; a SMART key as its file path, never its
content), audited like any change to the warehouse. ``run`` starts a scheduler process: any
number may run against one warehouse; each builds its jobs from the table, and the job lease
(``edc.jobs``) makes sure a job never runs twice at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import signal
import threading
from pathlib import Path

from edc import config, errors, jobs
from edc.actions import sync
from edc.clock import Clock, SystemClock
from edc.fhir.target import ServerSpec, SmartSpec
from edc.sync.ingest import SyncRun
from edc.warehouse import audit, db, leases, migrate, schedules

log = logging.getLogger("edc.jobs")

_EVERY = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Shorter intervals are for tests; a real sync interval is minutes.
MIN_INTERVAL = dt.timedelta(milliseconds=100)
ACTOR = "edc scheduler"
# Who started a scheduled sync, on its received versions' audit rows.
STARTED_BY = "scheduler"


@dataclasses.dataclass(frozen=True)
class ScheduleStatus:
    """A stored job, when it runs next (estimated), and the last thing that happened to it."""

    schedule: schedules.Schedule
    next_run: dt.datetime | None
    last_outcome: str | None
    last_message: str | None
    holder: str | None

    @property
    def job_id(self) -> str:
        return self.schedule.job_id

    @property
    def source(self) -> str:
        return self.schedule.source_dir or self.schedule.fhir_url or ""


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
    clock: Clock | None = None,
) -> str:
    """Store a sync job (replacing one with the same id); returns its id.

    :raises errors.BadInputError: bad options, or a study that is not registered.
    """
    request.check()
    clock = clock or SystemClock()
    source_dir = str(request.source_dir.resolve()) if request.source_dir else None
    fhir_url = request.server.url if request.server else None
    source = source_dir or fhir_url or ""
    job_id = job_id or f"sync-{request.study}-{hashlib.sha256(source.encode()).hexdigest()[:8]}"
    time_limit = dt.timedelta(seconds=request.time_limit) if request.time_limit else None
    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            audit.bind(
                session,
                actor=ACTOR,
                role="system",
                clock=clock,
                reason=f"edc scheduler add {job_id}",
            )
            schedules.save(
                session=session,
                job_id=job_id,
                study_code=request.study,
                source_dir=source_dir,
                fhir_url=fhir_url,
                every=every,
                time_limit=time_limit,
                options=_options(request),
                clock=clock,
            )
        return job_id
    finally:
        engine.dispose()


def list_schedules(settings: config.Settings) -> list[ScheduleStatus]:
    """Every stored job with its last recorded run."""
    engine = migrate.open_engine(settings.database_url)
    clock = SystemClock()
    try:
        with db.transaction(db.make_sessionmaker(db.read_only(engine))) as session:
            stored = schedules.list_all(session=session)
        found = []
        for schedule in stored:
            runs = leases.list_runs(engine, job_id=schedule.job_id)
            last = runs[-1] if runs else None
            started = max((r.started_at for r in runs), default=schedule.created_at)
            found.append(
                ScheduleStatus(
                    schedule=schedule,
                    next_run=max(started + schedule.every, clock.now()),
                    last_outcome=last.outcome if last else None,
                    last_message=(last.message if last else None) or schedule.problem,
                    holder=leases.holder_of(engine, schedule.job_id, clock),
                )
            )
        return found
    finally:
        engine.dispose()


def remove(settings: config.Settings, job_id: str, *, clock: Clock | None = None) -> None:
    """Delete a stored job.

    :raises errors.BadInputError: when there is no such job.
    """
    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            audit.bind(
                session,
                actor=ACTOR,
                role="system",
                clock=clock or SystemClock(),
                reason=f"edc scheduler remove {job_id}",
            )
            schedules.remove(session=session, job_id=job_id)
    finally:
        engine.dispose()


def run(settings: config.Settings, *, duration: float | None = None) -> None:
    """Run the stored jobs until SIGTERM/SIGINT (or for ``duration`` seconds), then stop,
    letting running jobs finish."""
    engine = migrate.open_engine(settings.database_url)
    scheduler = jobs.build_scheduler()
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        scheduler.start(paused=True)
        jobs.keep_in_step(scheduler, engine, run_schedule)
        scheduler.resume()
        log.info(
            "Scheduler %s started with %d job(s)", jobs.holder_name(), len(scheduler.get_jobs()) - 1
        )
        stop.wait(duration)
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()


def run_schedule(schedule: schedules.Schedule) -> None:
    """What a stored job runs (in a scheduler process, with its settings): a sync, or a push
    of the study's outbox acting as the scheduler's user (``--user``/``EDC_USER``).

    :raises errors.BadInputError: when the stored options do not read back (the row was
        altered outside edc), or are not usable any more.
    """
    if schedule.options is None:
        raise errors.BadInputError(f"job {schedule.job_id}: {schedule.problem}")
    settings = config.load_settings()
    server = _server(schedule.fhir_url, schedule.options) if schedule.fhir_url else None
    if schedule.kind == "push":
        _push(settings, schedule.study_code, server)
        return
    options = schedule.options
    limit = schedule.time_limit or jobs.DEFAULT_TIME_LIMIT
    request = sync.SyncRequest(
        study=schedule.study_code,
        source_dir=Path(schedule.source_dir) if schedule.source_dir else None,
        server=server,
        bulk=options.bulk,
        group=options.group,
        patient_level=options.patient_level,
        types=options.types,
        time_limit=limit.total_seconds(),
    )
    job_id, run_id = jobs.current_run() or (schedule.job_id, None)
    run = SyncRun(f"scheduled job {job_id}", str(run_id or "unrecorded"), STARTED_BY)
    result = sync.sync(settings, request, actor=f"edc scheduler ({request.study})", run=run)
    log.info("Synced %s: %s", request.study, "; ".join(result.lines()[-1:]))


def add_push(
    settings: config.Settings,
    study: str,
    server: ServerSpec,
    every: dt.timedelta,
    *,
    clock: Clock | None = None,
) -> str:
    """Store a job that pushes a study's outbox to ``server`` every ``every``; returns its id.

    The job acts as the scheduler's user, who needs a role that may push (e.g. data_manager).

    :raises errors.BadInputError: an unusable server or an unknown study.
    """
    server.check()
    clock = clock or SystemClock()
    job_id = f"push-{study}-{hashlib.sha256(server.url.encode()).hexdigest()[:8]}"
    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            audit.bind(
                session,
                actor=ACTOR,
                role="system",
                clock=clock,
                reason=f"edc push --every {job_id}",
            )
            schedules.save(
                session=session,
                job_id=job_id,
                kind="push",
                study_code=study,
                source_dir=None,
                fhir_url=server.url,
                every=every,
                time_limit=None,
                options=_server_options(server, types=()),
                clock=clock,
            )
        return job_id
    finally:
        engine.dispose()


def _push(settings: config.Settings, study: str, server: ServerSpec | None) -> None:
    from edc.actions import push
    from edc.actions.workspace import Workspace

    if server is None:
        raise errors.BadInputError(f"push job of {study} names no FHIR server")
    with Workspace.open(settings) as workspace:
        result = push.push(workspace, study, server)
    log.info("Pushed %s: %d delivered, %d pending", result.study, len(result.delivered),
             result.pending)  # fmt: skip


def _server(url: str, options: schedules.SyncOptions) -> ServerSpec:
    smart = options.smart
    spec = SmartSpec(**{**smart.model_dump(), "key_file": Path(smart.key_file)}) if smart else None
    return ServerSpec(
        url, spec, max_attempts=options.max_attempts, trusted_origins=options.trusted_origins
    )


def every_text(every: dt.timedelta) -> str:
    """``15m``, ``30s``, ``500ms``: the interval as ``--every`` takes it."""
    seconds = every.total_seconds()
    for unit in ("d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{round(seconds * 1000)}ms"


def _options(request: sync.SyncRequest) -> schedules.SyncOptions:
    options = _server_options(request.server, types=tuple(request.types))
    return options.model_copy(
        update={
            "bulk": request.bulk,
            "group": request.group,
            "patient_level": request.patient_level,
        }
    )


def _server_options(server: ServerSpec | None, *, types: tuple[str, ...]) -> schedules.SyncOptions:
    smart = server.smart if server else None
    return schedules.SyncOptions(
        types=types,
        max_attempts=server.max_attempts if server else 5,
        trusted_origins=server.trusted_origins if server else (),
        smart=schedules.SmartOptions(
            client_id=smart.client_id,
            key_file=str(smart.key_file.resolve()),
            kid=smart.kid,
            alg=smart.alg,
            scope=smart.scope,
            token_url=smart.token_url,
            allow_http=smart.allow_http,
        )
        if smart
        else None,
    )

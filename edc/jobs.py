"""APScheduler wiring: jobs rebuilt from the warehouse's ``scheduled_job`` table, and the guard
every scheduled run goes through.

APScheduler keeps the jobs in memory only. The table is the store (``edc.warehouse.schedules``,
plain data, audited): each scheduler process builds its jobs from it at start and re-reads it
every ``REFRESH_SECONDS``, so jobs added, changed or removed elsewhere are picked up, and a job
that is overdue (by its last recorded run) runs at once.

``run_job`` is the guard: take the job's lease in the database (``edc.warehouse.leases``) or
record the attempt as skipped; renew the lease while running, but only until the job's time
limit (and one lease period) has passed, so a run that hangs lets its lease expire; log and
record the outcome. A failure is logged and recorded, never raised into APScheduler: the
interval trigger simply runs the job again at the next interval. Inside one process
``max_instances=1`` and ``coalesce`` also keep runs of one job from piling up.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from edc import config, errors
from edc.clock import SystemClock
from edc.warehouse import db, leases, migrate, schedules

log = logging.getLogger("edc.jobs")

# How long a lease lasts without renewal: a scheduler that dies frees its jobs after this.
DEFAULT_LEASE = dt.timedelta(seconds=60)
LEASE_ENV = "EDC_JOB_LEASE_SECONDS"
# A scheduled run with no time limit of its own gets this one.
DEFAULT_TIME_LIMIT = dt.timedelta(hours=6)
# How often a running scheduler re-reads the job table.
REFRESH_SECONDS = 5.0
_REFRESH_ID = "edc-refresh-jobs"

# What a job does, given the stored schedule (edc.actions.scheduler.run_schedule).
Runner = Callable[[schedules.Schedule], None]
# (job id, job_run id) of the run under way in this thread (``run_job``), for the runner.
_RUN: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar("edc_job_run")


def current_run() -> tuple[str, int] | None:
    """The scheduled run the caller is part of: (job id, ``job_run`` id), None outside one."""
    return _RUN.get(None)


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler 3's loop wakes once more after ``shutdown()`` and hands due jobs to executors
    that are already shut down (each logged as an error): skip that last round."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        wait: float | None = super()._process_jobs()
        return wait


def build_scheduler(*, workers: int = 4) -> BackgroundScheduler:
    """A scheduler with an in-memory job store (not started).

    Background (its own thread): the caller's thread stays free to wait for a signal and to
    shut the scheduler down cleanly, letting running jobs finish.
    """
    return _Scheduler(
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=dt.UTC,
    )


def keep_in_step(scheduler: BaseScheduler, engine: Engine, runner: Runner) -> None:
    """Build the jobs from the table now, and re-read it every ``REFRESH_SECONDS``."""
    refresh(scheduler, engine, runner)
    scheduler.add_job(
        refresh,
        IntervalTrigger(seconds=REFRESH_SECONDS),
        id=_REFRESH_ID,
        args=(scheduler, engine, runner),
        replace_existing=True,
    )


def refresh(scheduler: BaseScheduler, engine: Engine, runner: Runner) -> None:
    """Make the scheduler's jobs those of the table: add new ones, drop removed ones, and
    reschedule those whose interval changed."""
    with db.transaction(db.make_sessionmaker(db.read_only(engine))) as session:
        stored = {s.job_id: s for s in schedules.list_all(session=session)}
    now = dt.datetime.now(dt.UTC)
    for job in scheduler.get_jobs():
        if job.id != _REFRESH_ID and job.id not in stored:
            job.remove()
            log.info("Job %s was removed from the warehouse", job.id)
    for job_id, schedule in stored.items():
        job = scheduler.get_job(job_id)
        if job is not None and job.trigger.interval == schedule.every:
            continue
        first = _next_run(engine, schedule, now)
        scheduler.add_job(
            run_job,
            IntervalTrigger(seconds=schedule.every.total_seconds(), start_date=first),
            id=job_id,
            name=f"sync {schedule.study_code}",
            args=(job_id, runner),
            next_run_time=first,
            replace_existing=True,
        )
        log.info("Job %s: sync %s every %s", job_id, schedule.study_code, schedule.every)


def _next_run(engine: Engine, schedule: schedules.Schedule, now: dt.datetime) -> dt.datetime:
    runs = leases.list_runs(engine, job_id=schedule.job_id)
    last = max((r.started_at for r in runs), default=schedule.created_at)
    return max(now, last + schedule.every)


def holder_name() -> str:
    """This process, as a lease holder: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: str, runner: Runner) -> None:
    """Run one scheduled job under its lease (called by APScheduler in a worker thread)."""
    clock = SystemClock()
    ttl = dt.timedelta(seconds=float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE.total_seconds()))
    holder = f"{holder_name()}:{threading.get_ident()}"
    try:
        engine = migrate.open_engine(config.load_settings().database_url)
    except errors.EdcError as exc:
        log.error("Job %s cannot reach the warehouse: %s", job_id, exc)
        return
    try:
        with db.transaction(db.make_sessionmaker(db.read_only(engine))) as session:
            schedule = schedules.find(session=session, job_id=job_id)
        if schedule is None:
            log.info("Job %s no longer exists: skipped", job_id)
            return
        if not leases.acquire(engine, job_id=job_id, holder=holder, ttl=ttl, clock=clock):
            log.info("Job %s is running elsewhere: skipped", job_id)
            leases.start_run(engine, job_id=job_id, holder=holder, clock=clock, outcome="skipped")
            return
        run_id = leases.start_run(engine, job_id=job_id, holder=holder, clock=clock)
        limit = schedule.time_limit or DEFAULT_TIME_LIMIT
        renew_until = time.monotonic() + (limit + ttl).total_seconds()
        stop = threading.Event()
        keeper = threading.Thread(
            target=_keep_lease, args=(engine, job_id, holder, ttl, stop, renew_until), daemon=True
        )
        keeper.start()
        outcome, message = "ok", None
        log.info("Job %s started", job_id, extra={"job": job_id})
        token = _RUN.set((job_id, run_id))
        try:
            runner(schedule)
        except Exception as exc:  # a job's failure must not stop the scheduler: record it
            outcome, message = "failed", str(exc).splitlines()[0] if str(exc) else repr(exc)
            log.error("Job %s failed (retried at the next interval): %s", job_id, exc)
        finally:
            _RUN.reset(token)
            stop.set()
            keeper.join()
            leases.finish_run(engine, run_id=run_id, outcome=outcome, message=message, clock=clock)
            leases.release(engine, job_id=job_id, holder=holder)
        if outcome == "ok":
            log.info("Job %s done", job_id)
    finally:
        engine.dispose()


def _keep_lease(
    engine: Engine,
    job_id: str,
    holder: str,
    ttl: dt.timedelta,
    stop: threading.Event,
    renew_until: float,
) -> None:
    clock = SystemClock()
    while not stop.wait(ttl.total_seconds() / 3):
        if time.monotonic() >= renew_until:
            log.error(
                "Job %s is still running past its time limit: its lease is no longer renewed "
                "and will expire, so that another scheduler can run the job",
                job_id,
            )
            return
        if not leases.renew(engine, job_id=job_id, holder=holder, ttl=ttl, clock=clock):
            log.error("Job %s lost its lease (this run stalled past %s)", job_id, ttl)
            return

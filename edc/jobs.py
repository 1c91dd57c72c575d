"""APScheduler wiring: a job store in the warehouse, and the guard every scheduled run goes through.

Jobs live in APScheduler's ``SQLAlchemyJobStore`` (table ``apscheduler_jobs``, in the warehouse
database, created by APScheduler and left alone by our migrations), so schedules survive
restarts and every scheduler process sees the same ones. A stored job names ``run_job`` and what
it runs (``target``, a ``module:function`` reference, with its keyword arguments).

``run_job`` is the guard: take the job's lease in the database (``edc.warehouse.leases``) or
record the attempt as skipped; renew the lease while running; log and record the outcome. A
failure is logged and recorded, never raised into APScheduler: the interval trigger simply runs
the job again at the next interval. Inside one process ``max_instances=1`` and ``coalesce``
also keep runs of one job from piling up.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from sqlalchemy import Engine

from edc import config, errors
from edc.clock import SystemClock
from edc.warehouse import leases, migrate

log = logging.getLogger("edc.jobs")

JOBSTORE_TABLE = "apscheduler_jobs"
# How long a lease lasts without renewal: a scheduler that dies frees its jobs after this.
DEFAULT_LEASE = dt.timedelta(seconds=60)
LEASE_ENV = "EDC_JOB_LEASE_SECONDS"


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler 3's loop wakes once more after ``shutdown()`` and hands due jobs to executors
    that are already shut down (each logged as an error): skip that last round."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        wait: float | None = super()._process_jobs()
        return wait


def build_scheduler(engine: Engine, *, workers: int = 4) -> BackgroundScheduler:
    """A scheduler whose job store is the warehouse behind ``engine`` (not started).

    Background (its own thread): the caller's thread stays free to wait for a signal and to
    shut the scheduler down cleanly, letting running jobs finish.
    """
    return _Scheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=dt.UTC,
    )


def add_job(
    scheduler: BaseScheduler,
    job_id: str,
    every: dt.timedelta,
    target: str,
    arguments: Mapping[str, Any],
) -> None:
    """Store (or replace) a job that runs ``target(**arguments)`` every ``every``."""
    scheduler.add_job(
        run_job,
        "interval",
        seconds=every.total_seconds(),
        id=job_id,
        name=target,
        args=(job_id, target, dict(arguments)),
        replace_existing=True,
    )


def holder_name() -> str:
    """This process, as a lease holder: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: str, target: str, arguments: dict[str, Any]) -> None:
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
        if not leases.acquire(engine, job_id=job_id, holder=holder, ttl=ttl, clock=clock):
            log.info("Job %s is running elsewhere: skipped", job_id)
            leases.start_run(engine, job_id=job_id, holder=holder, clock=clock, outcome="skipped")
            return
        run_id = leases.start_run(engine, job_id=job_id, holder=holder, clock=clock)
        stop = threading.Event()
        keeper = threading.Thread(
            target=_keep_lease, args=(engine, job_id, holder, ttl, stop), daemon=True
        )
        keeper.start()
        outcome, message = "ok", None
        log.info("Job %s started", job_id, extra={"job": job_id})
        try:
            resolve(target)(**arguments)
        except Exception as exc:  # a job's failure must not stop the scheduler: record it
            outcome, message = "failed", str(exc).splitlines()[0] if str(exc) else repr(exc)
            log.error("Job %s failed (retried at the next interval): %s", job_id, exc)
        finally:
            stop.set()
            keeper.join()
            leases.finish_run(engine, run_id=run_id, outcome=outcome, message=message, clock=clock)
            leases.release(engine, job_id=job_id, holder=holder)
        if outcome == "ok":
            log.info("Job %s done", job_id)
    finally:
        engine.dispose()


def resolve(target: str) -> Callable[..., Any]:
    """The function a ``module:function`` reference names."""
    module_name, _, name = target.partition(":")
    function = getattr(importlib.import_module(module_name), name)
    if not callable(function):
        raise TypeError(f"{target} is not callable")
    return function  # type: ignore[no-any-return]


def _keep_lease(
    engine: Engine, job_id: str, holder: str, ttl: dt.timedelta, stop: threading.Event
) -> None:
    clock = SystemClock()
    while not stop.wait(ttl.total_seconds() / 3):
        if not leases.renew(engine, job_id=job_id, holder=holder, ttl=ttl, clock=clock):
            log.error("Job %s lost its lease (this run stalled past %s)", job_id, ttl)
            return

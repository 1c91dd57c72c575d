"""Job leases and the run log: what keeps two scheduler processes from running one job at once.

APScheduler's ``max_instances`` only counts runs inside one process. Across processes (and
machines) a run first takes the job's lease in the database: one conditional UPDATE that
succeeds only if nobody holds the lease or the holder let it expire. On SQLite the transaction
holds the write lock (BEGIN IMMEDIATE); on PostgreSQL a concurrent UPDATE waits for the other,
then re-checks its WHERE against the row the other committed, so exactly one wins. A running job
renews its lease; a holder that dies stops renewing and its lease expires after ``ttl``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from edc.clock import Clock
from edc.warehouse.base import table_of
from edc.warehouse.tables.jobs import JobLeaseRow, JobRunRow

_LEASE = table_of(JobLeaseRow)
_RUN = table_of(JobRunRow)


@dataclasses.dataclass(frozen=True)
class Run:
    """One recorded run (or skipped attempt) of a job."""

    id: int
    job_id: str
    holder: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    message: str | None


def acquire(engine: Engine, *, job_id: str, holder: str, ttl: dt.timedelta, clock: Clock) -> bool:
    """Take the job's lease for ``ttl`` unless someone else holds an unexpired one."""
    now = clock.now()
    dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
    with engine.begin() as connection:
        connection.execute(dialect.insert(_LEASE).values(job_id=job_id).on_conflict_do_nothing())
        taken = connection.execute(
            update(_LEASE)
            .where(
                _LEASE.c.job_id == job_id,
                or_(_LEASE.c.holder.is_(None), _LEASE.c.expires_at < now),
            )
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        return taken.rowcount == 1


def renew(engine: Engine, *, job_id: str, holder: str, ttl: dt.timedelta, clock: Clock) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and was taken over)."""
    with engine.begin() as connection:
        renewed = connection.execute(
            update(_LEASE)
            .where(_LEASE.c.job_id == job_id, _LEASE.c.holder == holder)
            .values(expires_at=clock.now() + ttl)
        )
        return renewed.rowcount == 1


def release(engine: Engine, *, job_id: str, holder: str) -> None:
    """Give the lease back (if it is still ours)."""
    with engine.begin() as connection:
        connection.execute(
            update(_LEASE)
            .where(_LEASE.c.job_id == job_id, _LEASE.c.holder == holder)
            .values(holder=None, acquired_at=None, expires_at=None)
        )


def start_run(
    engine: Engine, *, job_id: str, holder: str, clock: Clock, outcome: str = "running"
) -> int:
    """Record the start of a run (or, with ``outcome="skipped"``, an attempt that did not run)."""
    now = clock.now()
    finished = now if outcome != "running" else None
    with engine.begin() as connection:
        result = connection.execute(
            insert(_RUN)
            .values(
                job_id=job_id, holder=holder, started_at=now, finished_at=finished, outcome=outcome
            )
            .returning(_RUN.c.id)
        )
        return int(result.scalar_one())


def finish_run(
    engine: Engine, *, run_id: int, outcome: str, message: str | None, clock: Clock
) -> None:
    """Record how a run ended (``ok`` or ``failed``, with a message)."""
    with engine.begin() as connection:
        connection.execute(
            update(_RUN)
            .where(_RUN.c.id == run_id)
            .values(finished_at=clock.now(), outcome=outcome, message=message)
        )


def list_runs(engine: Engine, *, job_id: str | None = None) -> list[Run]:
    """Recorded runs, oldest first (all jobs, or one)."""
    query = select(_RUN).order_by(_RUN.c.id)
    if job_id is not None:
        query = query.where(_RUN.c.job_id == job_id)
    with engine.connect() as connection:
        return [Run(**row) for row in connection.execute(query).mappings()]


def holder_of(engine: Engine, job_id: str, clock: Clock) -> str | None:
    """Who holds the job's lease now (None when nobody does, or it expired)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(_LEASE.c.holder, _LEASE.c.expires_at).where(_LEASE.c.job_id == job_id)
        ).first()
    if row is None or row.holder is None or row.expires_at is None or row.expires_at < clock.now():
        return None
    return str(row.holder)

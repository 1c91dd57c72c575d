"""Scheduler bookkeeping: who holds the lease on a job, and the log of its runs.

APScheduler keeps its own job store table (``apscheduler_jobs``, created by APScheduler, not by
our migrations); these two tables are ours. Neither is trial data, so neither is audited.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in, not_audited
from edc.warehouse.coltypes import UTCDateTime


class JobLeaseRow(Base):
    """The lease on one scheduled job: a run may start only while its runner holds it.

    A holder renews the lease while it runs; a lease past ``expires_at`` (its holder died) may be
    taken over. This is what keeps two scheduler processes from running one job at once.
    """

    __tablename__ = "job_lease"
    __table_args__ = (not_audited(),)

    job_id: Mapped[str] = mapped_column(String(191), primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(128))
    acquired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class JobRunRow(Base):
    """One run of a scheduled job (or one attempt skipped because another runner held it)."""

    __tablename__ = "job_run"
    __table_args__ = (
        check_in("outcome", codes.JOB_RUN_OUTCOMES),
        Index(None, "job_id", "started_at"),
        not_audited(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(191))
    # "<host>:<pid>:<n>" of the scheduler process that ran it.
    holder: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)

"""Scheduled jobs: what runs when (as data), who holds the lease on a job, the log of its runs.

``scheduled_job`` is the job store: plain columns and a JSON document of options, read by a
strict model, never unpickled (APScheduler's own store held pickles: whoever could write the
warehouse could run code on every scheduler host). It says what edc does with trial data
sources, so it is audited; the lease and the run log are bookkeeping and are not.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in, not_audited
from edc.warehouse.coltypes import UTCDateTime


class ScheduledJobRow(Base):
    """A sync that runs every ``interval_ms``: one study, from a directory or a FHIR server.

    ``options_json`` holds the rest of the sync's options (Bulk, Group, types, SMART client id
    and key *file*, trusted origins, ...), checked by ``edc.warehouse.schedules`` when read.
    """

    __tablename__ = "scheduled_job"
    __table_args__ = (
        check_in("kind", codes.JOB_KINDS),
        CheckConstraint("(source_dir IS NULL) <> (fhir_url IS NULL)", name="one_source"),
        CheckConstraint("interval_ms > 0", name="interval_positive"),
        CheckConstraint("time_limit_ms IS NULL OR time_limit_ms > 0", name="time_limit_positive"),
    )

    id: Mapped[str] = mapped_column(String(191), primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    source_dir: Mapped[str | None] = mapped_column(Text)
    fhir_url: Mapped[str | None] = mapped_column(Text)
    interval_ms: Mapped[int] = mapped_column(BigInteger)
    # How long one run may take before it is stopped (and its lease no longer renewed).
    time_limit_ms: Mapped[int | None] = mapped_column(BigInteger)
    options_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


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

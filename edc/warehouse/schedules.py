"""Stored sync jobs (``scheduled_job``): written through the audited ORM, read into checked data.

A row is only data: the options document is parsed by a strict model (unknown keys and wrong
types refused), so a row someone altered in the database can make its job fail, never run code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import errors
from edc.clock import Clock
from edc.warehouse import studies
from edc.warehouse.tables.jobs import ScheduledJobRow
from edc.warehouse.tables.study import StudyRow


class SmartOptions(BaseModel):
    """SMART Backend Services settings of a job: the key's *file*, never the key."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    client_id: str
    key_file: str
    kid: str
    alg: str = "RS384"
    scope: str = "system/*.read"
    token_url: str | None = None
    allow_http: bool = False


class SyncOptions(BaseModel):
    """What a stored sync job passes to ``edc sync`` besides the study and the source."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    types: tuple[str, ...]
    bulk: bool = False
    group: str | None = None
    patient_level: bool = False
    max_attempts: int = Field(default=5, ge=1, le=100)
    trusted_origins: tuple[str, ...] = ()
    smart: SmartOptions | None = None


@dataclasses.dataclass(frozen=True)
class Schedule:
    """One stored job as read: ``options`` is None (and ``problem`` says why) for a row whose
    options do not read back."""

    job_id: str
    kind: str
    study_code: str
    source_dir: str | None
    fhir_url: str | None
    every: dt.timedelta
    time_limit: dt.timedelta | None
    options: SyncOptions | None
    problem: str | None
    created_at: dt.datetime


def save(
    *,
    session: Session,
    job_id: str,
    study_code: str,
    source_dir: str | None,
    fhir_url: str | None,
    every: dt.timedelta,
    time_limit: dt.timedelta | None,
    options: SyncOptions,
    clock: Clock,
    kind: str = "sync",
) -> bool:
    """Store a job (``kind`` one of ``codes.JOB_KINDS``), replacing one with the same id; True
    when it is new. A push job keeps its server's options in ``options`` (no types).

    The session must have an audit context bound; a replacement needs a reason bound too.

    :raises errors.BadInputError: when the study is not registered.
    """
    study = studies.get_study(session=session, code=study_code)
    values = {
        "kind": kind,
        "study_id": study.id,
        "source_dir": source_dir,
        "fhir_url": fhir_url,
        "interval_ms": round(every.total_seconds() * 1000),
        "time_limit_ms": round(time_limit.total_seconds() * 1000) if time_limit else None,
        "options_json": orjson.dumps(
            options.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS
        ).decode(),
    }
    row = session.get(ScheduledJobRow, job_id)
    if row is None:
        session.add(ScheduledJobRow(id=job_id, created_at=clock.now(), **values))
        session.flush()
        return True
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    return False


def list_all(*, session: Session) -> list[Schedule]:
    """Every stored job, by id."""
    rows = session.execute(
        select(ScheduledJobRow, StudyRow.code)
        .join(StudyRow, StudyRow.id == ScheduledJobRow.study_id)
        .order_by(ScheduledJobRow.id)
    )
    return [_schedule(row, code) for row, code in rows]


def find(*, session: Session, job_id: str) -> Schedule | None:
    """The stored job ``job_id``, or None."""
    found = session.execute(
        select(ScheduledJobRow, StudyRow.code)
        .join(StudyRow, StudyRow.id == ScheduledJobRow.study_id)
        .where(ScheduledJobRow.id == job_id)
    ).first()
    return None if found is None else _schedule(*found)


def remove(*, session: Session, job_id: str) -> None:
    """Delete a stored job (the session needs an audit context with a reason).

    :raises errors.BadInputError: when there is no such job.
    """
    row = session.get(ScheduledJobRow, job_id)
    if row is None:
        known = ", ".join(s.job_id for s in list_all(session=session)) or "none"
        raise errors.BadInputError(f"no scheduled job {job_id!r}", f"jobs: {known}")
    session.delete(row)
    session.flush()


def _schedule(row: ScheduledJobRow, study_code: str) -> Schedule:
    options: SyncOptions | None = None
    problem = None
    try:
        options = SyncOptions.model_validate_json(row.options_json)
    except ValidationError as exc:
        problem = f"stored options do not read back: {exc.error_count()} problem(s): " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
    return Schedule(
        job_id=row.id,
        kind=row.kind,
        study_code=study_code,
        source_dir=row.source_dir,
        fhir_url=row.fhir_url,
        every=dt.timedelta(milliseconds=row.interval_ms),
        time_limit=dt.timedelta(milliseconds=row.time_limit_ms) if row.time_limit_ms else None,
        options=options,
        problem=problem,
        created_at=row.created_at,
    )

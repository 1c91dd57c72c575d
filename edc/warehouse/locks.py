"""Reading lock state: each unit's current state, and which subjects may not be written."""

from __future__ import annotations

from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import Session

from edc.trial.locking import CLOSED
from edc.warehouse.tables.lock import LockEventRow, LockStateRow
from edc.warehouse.tables.subjects import SubjectRow

STUDY_UNIT = "study"
# The tables of a subject's trial data: the lock triggers (created by migration a4d2f8c61e93,
# ``lock_guard_<table>_<operation>`` on SQLite, ``lock_guard`` on PostgreSQL, where inserts into
# item_value and form_response are checked per statement by ``lock_guard_insert``, migration
# b7c4e2f9a1d6) refuse every write to the rows of a frozen or locked subject. ``unblinding`` is
# left out on purpose: unblinding comes after lock.
LOCKED_TABLES = (
    "subject",
    "visit",
    "planned_visit",
    "form_response",
    "item_value",
    "adverse_event",
    "consent",
    "allocation",
    "deviation",
    "data_query",
    "sdv_mark",
)
# What the triggers' refusal says (SQLite and PostgreSQL alike).
REFUSED = "the subject is frozen or locked"


def site_unit(site_id: int) -> str:
    return f"site:{site_id}"


def subject_unit(subject_id: int) -> str:
    return f"subject:{subject_id}"


def states(*, session: Session, study_id: int) -> dict[str, LockStateRow]:
    """Unit -> its current state row, for every unit of the study that was ever locked."""
    rows = session.scalars(select(LockStateRow).where(LockStateRow.study_id == study_id))
    return {row.unit: row for row in rows}


def events(*, session: Session, study_id: int) -> list[LockEventRow]:
    """The study's lock events, oldest first."""
    query = select(LockEventRow).where(LockEventRow.study_id == study_id)
    return list(session.scalars(query.order_by(LockEventRow.id)))


def closed_subject_ids(connection: Connection | Session, *, study_id: int) -> set[int]:
    """Ids of the study's subjects that are frozen or locked (their own unit, site or study)."""
    lock = LockStateRow
    covered = (
        select(SubjectRow.id)
        .join(lock, lock.study_id == SubjectRow.study_id)
        .where(
            SubjectRow.study_id == study_id,
            lock.state.in_(CLOSED),
            or_(
                lock.subject_id == SubjectRow.id,
                (lock.subject_id.is_(None))
                & (lock.site_id.is_(None) | (lock.site_id == SubjectRow.site_id)),
            ),
        )
    )
    return {int(subject_id) for (subject_id,) in connection.execute(covered)}

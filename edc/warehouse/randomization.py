"""Randomization storage: the scheme and its lists, allocations in sequence, factor levels.

Allocating locks the study's scheme row first (``lock_scheme``: ``FOR NO KEY UPDATE`` on
PostgreSQL; SQLite transactions hold the write lock from their first statement), so the next
sequence number and the next list position are read and taken by one randomization at a time:
never twice, never skipped. ``UNIQUE (study_id, sequence)``, ``UNIQUE (study_id, stratum,
block_number, sequence_in_block)`` and ``UNIQUE (subject_id)`` are the backstops.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc.trial.randomization import Slot
from edc.warehouse.base import table_of
from edc.warehouse.batch import BatchWriter
from edc.warehouse.tables.crf import FormResponseRow, ItemValueRow
from edc.warehouse.tables.randomization import (
    RandomizationDrawRow,
    RandomizationSchemeRow,
    RandomizationSlotRow,
)
from edc.warehouse.tables.subjects import AllocationRow, SubjectRow

SLOT_COLUMNS = (
    "scheme_id",
    "stratum",
    "sequence_in_stratum",
    "block_number",
    "block_size",
    "position_in_block",
    "arm",
)


def find_scheme(session: Session, *, study_id: int) -> RandomizationSchemeRow | None:
    return session.scalars(
        select(RandomizationSchemeRow).where(RandomizationSchemeRow.study_id == study_id)
    ).one_or_none()


def lock_scheme(session: Session, *, scheme_id: int) -> None:
    """Hold the scheme's row until the transaction ends (randomizations take turns)."""
    session.execute(
        select(RandomizationSchemeRow.id)
        .where(RandomizationSchemeRow.id == scheme_id)
        .with_for_update(key_share=True)
    )


def store_lists(
    writer: BatchWriter,
    *,
    scheme_id: int,
    slots: Sequence[Slot],
    draws: Sequence[Sequence[float]],
) -> None:
    writer.insert(
        table_of(RandomizationSlotRow),
        SLOT_COLUMNS,
        [
            (scheme_id, s.stratum, s.sequence, s.block, s.block_size, s.position, s.arm)
            for s in slots
        ],
        what="allocation lists",
    )
    writer.insert(
        table_of(RandomizationDrawRow),
        ("scheme_id", "sequence", "draws"),
        [
            (scheme_id, n, orjson.dumps([repr(v) for v in row]).decode())
            for n, row in enumerate(draws, 1)
        ],
        what="minimization draws",
    )


def read_slots(session: Session, *, scheme_id: int) -> list[Slot]:
    rows = session.execute(
        select(RandomizationSlotRow)
        .where(RandomizationSlotRow.scheme_id == scheme_id)
        .order_by(RandomizationSlotRow.stratum, RandomizationSlotRow.sequence_in_stratum)
    ).scalars()
    return [
        Slot(
            r.stratum,
            r.sequence_in_stratum,
            r.block_number,
            r.block_size,
            r.position_in_block,
            r.arm,
        )
        for r in rows
    ]


def read_draws(session: Session, *, scheme_id: int) -> list[tuple[float, ...]]:
    rows = session.execute(
        select(RandomizationDrawRow.draws)
        .where(RandomizationDrawRow.scheme_id == scheme_id)
        .order_by(RandomizationDrawRow.sequence)
    ).scalars()
    return [tuple(float(v) for v in orjson.loads(text)) for text in rows]


def slot_at(session: Session, *, scheme_id: int, stratum: str, position: int) -> Slot | None:
    row = session.scalars(
        select(RandomizationSlotRow).where(
            RandomizationSlotRow.scheme_id == scheme_id,
            RandomizationSlotRow.stratum == stratum,
            RandomizationSlotRow.sequence_in_stratum == position,
        )
    ).one_or_none()
    if row is None:
        return None
    return Slot(row.stratum, row.sequence_in_stratum, row.block_number, row.block_size,
                row.position_in_block, row.arm)  # fmt: skip


def draws_at(session: Session, *, scheme_id: int, sequence: int) -> tuple[float, ...] | None:
    text = session.scalar(
        select(RandomizationDrawRow.draws).where(
            RandomizationDrawRow.scheme_id == scheme_id, RandomizationDrawRow.sequence == sequence
        )
    )
    return None if text is None else tuple(float(v) for v in orjson.loads(text))


def next_sequence(session: Session, *, study_id: int) -> int:
    highest = session.scalar(
        select(func.max(AllocationRow.sequence)).where(AllocationRow.study_id == study_id)
    )
    return int(highest or 0) + 1


def allocated_in_stratum(session: Session, *, study_id: int, stratum: str) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                AllocationRow.study_id == study_id,
                AllocationRow.stratum == stratum,
                AllocationRow.sequence.is_not(None),
            )
        )
        or 0
    )


def history(session: Session, *, study_id: int) -> list[AllocationRow]:
    """edc's allocations of the study in randomization order."""
    return list(
        session.scalars(
            select(AllocationRow)
            .where(AllocationRow.study_id == study_id, AllocationRow.sequence.is_not(None))
            .order_by(AllocationRow.sequence)
        )
    )


def find_allocation(session: Session, *, subject_id: int) -> AllocationRow | None:
    return session.scalars(
        select(AllocationRow).where(AllocationRow.subject_id == subject_id)
    ).one_or_none()


def latest_answer(
    session: Session, *, subject_id: int, questionnaire_url: str, link_id: str
) -> tuple[str | decimal.Decimal | bool | None, dt.datetime | None] | None:
    """The answer to ``link_id`` in the subject's newest completed form of that questionnaire
    (any version): (code, number or boolean; authored), or None without such a form."""
    row = session.execute(
        select(
            ItemValueRow.value_code,
            ItemValueRow.value_number,
            ItemValueRow.value_bool,
            FormResponseRow.authored,
        )
        .join(FormResponseRow, FormResponseRow.id == ItemValueRow.response_id)
        .where(
            FormResponseRow.subject_id == subject_id,
            FormResponseRow.questionnaire_url == questionnaire_url,
            FormResponseRow.status.in_(("completed", "amended")),
            ItemValueRow.link_id == link_id,
        )
        .order_by(FormResponseRow.authored.desc(), FormResponseRow.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    code, number, flag, authored = row
    value = code if code is not None else number if number is not None else flag
    return value, authored


def factor_levels(rows: Sequence[AllocationRow]) -> list[tuple[Mapping[str, str], str]]:
    return [(dict(row.factors or {}), row.arm) for row in rows]


def arms_by_subject(session: Session, *, study_id: int) -> dict[str, str]:
    """Subject code -> allocated arm (unblinded: callers check the role)."""
    rows = session.execute(
        select(SubjectRow.subject_code, AllocationRow.arm)
        .join(AllocationRow, AllocationRow.subject_id == SubjectRow.id)
        .where(SubjectRow.study_id == study_id)
    )
    return {str(code): str(arm) for code, arm in rows}

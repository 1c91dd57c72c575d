"""Arms out of sight of blinded viewers, wherever a command shows warehouse values.

Columns that reveal an arm are marked ``info={"blinded": True}`` in the table definitions
(``allocation.arm``, ``randomization_slot.arm``). The audit trail keeps their values like any
other change; showing them is what is gated: for a user who may not see arms in the study
(``edc.trial.permissions``), the values of those columns in audit rows are replaced by
``(blinded)`` - in a whole row's JSON (inserts, deletes) and in a field's own change (updates).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

import orjson
from sqlalchemy import Connection, select

from edc import config
from edc.actions.workspace import Workspace
from edc.trial import permissions
from edc.warehouse import studies, users
from edc.warehouse.base import Base
from edc.warehouse.tables.study import StudyRow

T = TypeVar("T")


@functools.cache
def blinded_columns() -> dict[str, frozenset[str]]:
    """Table -> the columns that reveal an arm."""
    found: dict[str, frozenset[str]] = {}
    for table in Base.metadata.tables.values():
        columns = frozenset(c.name for c in table.columns if c.info.get("blinded"))
        if columns:
            found[table.name] = columns
    return found


def sees_arms(settings: config.Settings, study_code: str | None) -> bool:
    """Whether the acting user may see arms in the study (unknown user or study: no)."""
    if study_code is None:
        return False
    with Workspace.open(settings) as workspace, workspace.transaction() as session:
        user = users.find_user(session=session, username=settings.user)
        if user is None or studies.find_study(session=session, code=study_code) is None:
            return False
        study = workspace.study(session, study_code)
        grants = users.grants_of(session=session, user_id=user.id, study_id=study.id)
    return permissions.may_see_arms(grants, study.blinding)


def study_of_record(connection: Connection, table_name: str, record_id: str) -> str | None:
    """The code of the study a record belongs to (tables with a ``study_id``), if it exists."""
    table = Base.metadata.tables.get(table_name)
    if table is None or "study_id" not in table.c or not record_id.isdigit():
        return None
    code = connection.scalar(
        select(StudyRow.code)
        .join(table, table.c.study_id == StudyRow.id)
        .where(table.c.id == int(record_id))
    )
    return str(code) if code is not None else None


def mask(
    entries: Sequence[T],
    table_of: Callable[[T], str],
    field_of: Callable[[T], str | None],
) -> list[T]:
    """``entries`` (audit rows with ``old_value``/``new_value``) with arm values masked."""
    columns = blinded_columns()
    masked = []
    for entry in entries:
        hidden = columns.get(table_of(entry))
        if not hidden:
            masked.append(entry)
            continue
        field = field_of(entry)
        old = getattr(entry, "old_value", None)
        new = getattr(entry, "new_value", None)
        masked.append(
            dataclasses.replace(  # type: ignore[type-var]
                entry,
                old_value=_masked(old, field, hidden),
                new_value=_masked(new, field, hidden),
            )
        )
    return masked


def _masked(value: str | None, field: str | None, hidden: frozenset[str]) -> str | None:
    if value is None:
        return None
    if field is not None:
        return orjson.dumps(permissions.MASKED_ARM).decode() if field in hidden else value
    try:
        row = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
    if not isinstance(row, dict):
        return value
    for name in hidden & row.keys():
        row[name] = permissions.MASKED_ARM
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode()

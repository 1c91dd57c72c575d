"""Data queries for received forms whose stored score the answers do not give.

Sync keeps such a response raw and records a ``score_mismatch`` data problem
(``edc.sync.forms``): the score is never stored. The monitoring run (after every sync and on
``edc monitor run``) asks the site about each one that names a subject, so the form gets
corrected at the source:

* one query per response (its logical id), origin ``edit_check`` with the check id
  ``score_mismatch``, on the score's linkId, with the problem's message;
* it closes itself once a later version of that response has been accepted (the corrected
  form arrived), and reopens when a version after that breaks again;
* a query a person closed or cancelled stays so; running again changes nothing.

Frozen or locked subjects are left as they are. Moves are audited with the running actor and
the query's Task is queued for the site, as for the protocol's own edit checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc.actions import edit_checks
from edc.actions.edit_checks import CheckRun
from edc.actions.workspace import Study
from edc.trial import detectors
from edc.warehouse.tables.crf import FormResponseRow
from edc.warehouse.tables.fhir import DataProblemRow, RawResourceRow
from edc.warehouse.tables.monitoring import DataQueryRow

CHECK_ID = "score_mismatch"
ORIGIN = "edit_check"
CORRECTED = "a corrected version of the form arrived"
_LINK_ID = re.compile(r"linkId='([^']*)'")


@dataclasses.dataclass(frozen=True)
class _Problem:
    id: int
    subject_id: int
    site_id: int
    message: str
    link_id: str | None
    raw_id: int


def run(session: Session, study: Study, now: dt.datetime) -> CheckRun:
    """Reconcile the ``score_mismatch`` queries with the data problems (see the module)."""
    newest = _newest_problems(session, study)
    if not newest:
        return CheckRun()
    accepted = _newest_accepted(session, list(newest))
    asked = _queries(session, study)
    last_words = edit_checks.last_messages(session, [query.id for query in asked.values()])
    locked = detectors.locked_subjects(session, study.id)
    failing = opened = closed = reopened = 0
    for logical_id, problem in sorted(newest.items()):
        if problem.subject_id in locked:
            continue
        corrected = accepted.get(logical_id, 0) > problem.raw_id
        query = asked.get(logical_id)
        if not corrected:
            failing += 1
            if query is None:
                _open(session, study, problem, now)
                opened += 1
            elif (
                query.status == "closed"
                and query.data_problem_id != problem.id
                and last_words.get(query.id) == CORRECTED
            ):
                _move(session, study, query, "open", problem, now, problem.message)
                reopened += 1
        elif query is not None and query.status in ("open", "answered"):
            _move(session, study, query, "closed", problem, now, CORRECTED)
            closed += 1
    return CheckRun(failing, opened, closed, reopened)


def _newest_problems(session: Session, study: Study) -> dict[str, _Problem]:
    """Per response (logical id), its newest version's score problem."""
    rows = session.execute(
        select(
            DataProblemRow.id,
            DataProblemRow.subject_id,
            DataProblemRow.site_id,
            DataProblemRow.message,
            DataProblemRow.field_path,
            RawResourceRow.logical_id,
            RawResourceRow.id.label("raw_id"),
        )
        .join(RawResourceRow, RawResourceRow.id == DataProblemRow.raw_resource_id)
        .where(
            DataProblemRow.study_id == study.id,
            DataProblemRow.kind == CHECK_ID,
            DataProblemRow.subject_id.is_not(None),
            DataProblemRow.site_id.is_not(None),
        )
        .order_by(RawResourceRow.id, DataProblemRow.id)
    ).all()
    newest: dict[str, _Problem] = {}
    for row in rows:
        if row.logical_id is None:
            continue
        found = _LINK_ID.search(row.field_path or "")
        # Ordered by version: the last problem of a response wins (its first score named).
        if row.logical_id in newest and newest[row.logical_id].raw_id == row.raw_id:
            continue
        newest[row.logical_id] = _Problem(
            row.id,
            row.subject_id,
            row.site_id,
            row.message,
            found.group(1) if found else None,
            row.raw_id,
        )
    return newest


def _newest_accepted(session: Session, logical_ids: list[str]) -> dict[str, int]:
    """Per response, the raw id of its newest version stored as a form."""
    rows = session.execute(
        select(RawResourceRow.logical_id, func.max(RawResourceRow.id))
        .join(FormResponseRow, FormResponseRow.raw_resource_id == RawResourceRow.id)
        .where(
            RawResourceRow.resource_type == "QuestionnaireResponse",
            RawResourceRow.logical_id.in_(logical_ids),
        )
        .group_by(RawResourceRow.logical_id)
    )
    return {logical_id: raw_id for logical_id, raw_id in rows if logical_id is not None}


def _queries(session: Session, study: Study) -> dict[str, DataQueryRow]:
    """Per response (logical id), its newest score query."""
    rows = session.execute(
        select(DataQueryRow, RawResourceRow.logical_id)
        .join(DataProblemRow, DataProblemRow.id == DataQueryRow.data_problem_id)
        .join(RawResourceRow, RawResourceRow.id == DataProblemRow.raw_resource_id)
        .where(DataQueryRow.study_id == study.id, DataQueryRow.check_id == CHECK_ID)
        .order_by(DataQueryRow.id)
    ).all()
    return {logical_id: query for query, logical_id in rows if logical_id is not None}


def _open(session: Session, study: Study, problem: _Problem, now: dt.datetime) -> None:
    row = DataQueryRow(
        study_id=study.id,
        site_id=problem.site_id,
        subject_id=problem.subject_id,
        response_id=None,  # the form was not stored: the problem keeps it raw
        link_id=problem.link_id,
        data_problem_id=problem.id,
        origin=ORIGIN,
        check_id=CHECK_ID,
        status="open",
        opened_at=now,
        closed_at=None,
    )
    text = f"{problem.message}: please correct the form at the source"
    edit_checks.open_query(session, study, row, now, text)


def _move(
    session: Session,
    study: Study,
    row: DataQueryRow,
    status: str,
    problem: _Problem,
    now: dt.datetime,
    text: str,
) -> None:
    edit_checks.move_query(session, study, row, status, now, text, data_problem_id=problem.id)

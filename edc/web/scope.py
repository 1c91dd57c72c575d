"""Records named by id in a URL, checked against the reader's sites before any action runs.

A deviation, data query or subject of a site that is not the user's answers 404 (as one that
does not exist): a site never learns another's ids. What the user may *do* with a record they
see is the action's own check (``edc.trial.permissions``).
"""

from __future__ import annotations

from sqlalchemy import select

from edc import errors
from edc.actions import subjects
from edc.warehouse import db
from edc.warehouse.tables.monitoring import DataQueryRow, DeviationRow
from edc.web.deps import Authorized


def _site_of(auth: Authorized, table: type[DeviationRow] | type[DataQueryRow], id_: int) -> None:
    with db.transaction(auth.context.makers.reader) as session:
        site_id = session.scalar(
            select(table.site_id).where(table.id == id_, table.study_id == auth.access.study_id)
        )
    if site_id is None or not auth.access.sees_site(site_id):
        kind = "deviation" if table is DeviationRow else "data query"
        raise errors.NotFoundError(f"no {kind} {id_} in {auth.access.study_code}")


def deviation(auth: Authorized, deviation_id: int) -> None:
    """:raises errors.NotFoundError: no such deviation at the reader's sites."""
    _site_of(auth, DeviationRow, deviation_id)


def data_query(auth: Authorized, query_id: int) -> None:
    """:raises errors.NotFoundError: no such data query at the reader's sites."""
    _site_of(auth, DataQueryRow, query_id)


def subject(auth: Authorized, code: str) -> None:
    """:raises errors.NotFoundError: no such subject at the reader's sites."""
    with db.transaction(auth.context.makers.reader) as session:
        subjects.get_subject(session=session, access=auth.access, code=code)

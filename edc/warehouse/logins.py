"""Users by name, their role assignments, and web sessions: keyword-only reads and writes.

``get_*`` raises when the thing is missing, ``find_*`` returns None (style.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from edc.warehouse.tables.users import RoleAssignmentRow, UserRow
from edc.warehouse.tables.web import WebSessionRow


def find_user(*, session: Session, username: str) -> UserRow | None:
    """The user with this user name, or None."""
    return session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()


def list_role_assignments(
    *, session: Session, user_id: int, study_id: int
) -> list[RoleAssignmentRow]:
    """The roles a user holds in one study (site NULL: study-wide)."""
    return list(
        session.scalars(
            select(RoleAssignmentRow)
            .where(RoleAssignmentRow.user_id == user_id, RoleAssignmentRow.study_id == study_id)
            .order_by(RoleAssignmentRow.id)
        )
    )


def list_user_study_ids(*, session: Session, user_id: int) -> list[int]:
    """The studies in which a user holds any role."""
    return list(
        session.scalars(
            select(RoleAssignmentRow.study_id)
            .where(RoleAssignmentRow.user_id == user_id)
            .distinct()
            .order_by(RoleAssignmentRow.study_id)
        )
    )


def add_web_session(*, session: Session, row: WebSessionRow) -> None:
    """Record a new login."""
    session.add(row)


def find_web_session(
    *, session: Session, token_sha256: str
) -> tuple[WebSessionRow, UserRow] | None:
    """A login and its user, by the SHA-256 of the browser's token, or None."""
    found = session.execute(
        select(WebSessionRow, UserRow)
        .join(UserRow, UserRow.id == WebSessionRow.user_id)
        .where(WebSessionRow.token_sha256 == token_sha256)
    ).one_or_none()
    return None if found is None else (found[0], found[1])


def touch_web_session(*, session: Session, token_sha256: str, at: dt.datetime) -> None:
    """Note a request on a login (its idle timer starts again)."""
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.token_sha256 == token_sha256)
        .values(last_seen_at=at)
    )


def delete_web_session(*, session: Session, token_sha256: str) -> None:
    """End a login (nothing happens when it has ended already)."""
    session.execute(delete(WebSessionRow).where(WebSessionRow.token_sha256 == token_sha256))


def delete_user_web_sessions(*, session: Session, user_id: int) -> None:
    """End every login of a user (after a password change)."""
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))


def delete_expired_web_sessions(*, session: Session, before: dt.datetime) -> int:
    """Forget logins whose absolute expiry is before ``before``; returns how many."""
    result = session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)

"""Users and their role assignments: keyword-only reads and writes (``get_*`` raise).

Accounts are global; roles are held per study, at one site or study-wide. Authentication comes
later (the web application); the account already names who acts in the audit trail.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import errors
from edc.trial.permissions import Grant
from edc.warehouse import audit
from edc.warehouse.tables.study import SiteRow, StudyRow
from edc.warehouse.tables.users import RoleAssignmentRow, UserRow


@dataclasses.dataclass(frozen=True)
class UserRoles:
    """A user and every role they hold (study code, site code or None, role)."""

    username: str
    display_name: str
    email: str | None
    active: bool
    roles: tuple[tuple[str, str | None, str], ...]


def find_user(*, session: Session, username: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()


def get_user(*, session: Session, username: str) -> UserRow:
    """:raises errors.BadInputError: when there is no active user of that name."""
    user = find_user(session=session, username=username)
    if user is None or not user.active:
        raise errors.BadInputError(
            f"unknown user {username!r}",
            "set EDC_USER (or --user) to your edc user name; an administrator adds users with "
            "`edc user add`",
        )
    return user


def add_user(*, session: Session, username: str, display_name: str, email: str | None) -> UserRow:
    """:raises errors.BadInputError: when the name is taken or blank."""
    if not username.strip() or username != username.strip():
        raise errors.BadInputError(f"user name {username!r} is blank or has surrounding spaces")
    if find_user(session=session, username=username) is not None:
        raise errors.BadInputError(f"user {username!r} already exists")
    user = UserRow(username=username, display_name=display_name, email=email, active=True)
    session.add(user)
    session.flush()
    return user


def grants_of(*, session: Session, user_id: int, study_id: int) -> list[Grant]:
    """The roles a user holds in one study."""
    rows = session.execute(
        select(RoleAssignmentRow.role, SiteRow.code)
        .outerjoin(SiteRow, SiteRow.id == RoleAssignmentRow.site_id)
        .where(RoleAssignmentRow.user_id == user_id, RoleAssignmentRow.study_id == study_id)
        .order_by(RoleAssignmentRow.id)
    )
    return [Grant(role, site) for role, site in rows]


def find_assignment(
    *, session: Session, user_id: int, study_id: int, site_id: int | None, role: str
) -> RoleAssignmentRow | None:
    return session.scalars(
        select(RoleAssignmentRow).where(
            RoleAssignmentRow.user_id == user_id,
            RoleAssignmentRow.study_id == study_id,
            RoleAssignmentRow.site_id.is_(None)
            if site_id is None
            else RoleAssignmentRow.site_id == site_id,
            RoleAssignmentRow.role == role,
        )
    ).one_or_none()


def grant(
    *, session: Session, user_id: int, study_id: int, site_id: int | None, role: str
) -> RoleAssignmentRow:
    """Give a role (idempotent: an existing assignment is returned as it is)."""
    found = find_assignment(
        session=session, user_id=user_id, study_id=study_id, site_id=site_id, role=role
    )
    if found is not None:
        return found
    row = RoleAssignmentRow(user_id=user_id, study_id=study_id, site_id=site_id, role=role)
    session.add(row)
    session.flush()
    return row


def revoke(*, session: Session, assignment: RoleAssignmentRow, reason: str) -> None:
    with audit.reason(session, reason):
        session.delete(assignment)


def count_holders(*, session: Session, study_id: int, role: str) -> int:
    return len(
        session.scalars(
            select(RoleAssignmentRow.id).where(
                RoleAssignmentRow.study_id == study_id, RoleAssignmentRow.role == role
            )
        ).all()
    )


def list_users(*, session: Session, study_id: int | None = None) -> list[UserRoles]:
    """Every user (of one study, when given) with their roles, by user name."""
    users = session.scalars(select(UserRow).order_by(UserRow.username)).all()
    query = (
        select(RoleAssignmentRow.user_id, StudyRow.code, SiteRow.code, RoleAssignmentRow.role)
        .join(StudyRow, StudyRow.id == RoleAssignmentRow.study_id)
        .outerjoin(SiteRow, SiteRow.id == RoleAssignmentRow.site_id)
        .order_by(StudyRow.code, SiteRow.code, RoleAssignmentRow.role)
    )
    if study_id is not None:
        query = query.where(RoleAssignmentRow.study_id == study_id)
    rows = session.execute(query).all()
    roles: dict[int, list[tuple[str, str | None, str]]] = {}
    for user_id, study, site, role in rows:
        roles.setdefault(user_id, []).append((study, site, role))
    return [
        UserRoles(u.username, u.display_name, u.email, u.active, tuple(roles.get(u.id, ())))
        for u in users
        if study_id is None or u.id in roles
    ]

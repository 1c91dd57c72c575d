"""`edc user add|grant|revoke|list`: the people who use edc and the roles they hold.

Administrators (role ``admin`` of a study) manage users. A new installation has none: until a
study has an administrator, the first ``admin`` role of that study may be granted by whoever
runs edc against the warehouse (they hold its credentials already), and an account may be added
while no administrator exists anywhere. Every change is audited with the person acting.
A password (for the web application's login) is set by an administrator or by the user
themselves (``set_password``); setting it ends the user's web sessions.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import errors
from edc.actions import passwords
from edc.actions.workspace import Workspace
from edc.trial import permissions
from edc.trial.permissions import Action
from edc.warehouse import audit, codes, users
from edc.warehouse.tables.users import RoleAssignmentRow

ADMIN = "admin"


@dataclasses.dataclass(frozen=True)
class UserChange:
    """What a user command did (``changed`` False: it was so already)."""

    username: str
    action: str
    study: str | None
    site: str | None
    role: str | None
    changed: bool


def add(
    workspace: Workspace, username: str, display_name: str, email: str | None = None
) -> UserChange:
    """Add a user account.

    :raises errors.BadInputError: a taken or blank name, or an acting user who is no admin.
    """
    with workspace.transaction() as session:
        _bind_admin_anywhere(workspace, session)
        users.add_user(
            session=session, username=username, display_name=display_name or username, email=email
        )
    return UserChange(username, "add", None, None, None, True)


def grant(
    workspace: Workspace, username: str, study_code: str, role: str, site: str | None = None
) -> UserChange:
    """Give a user a role in a study (at a site, for site roles).

    :raises errors.BadInputError: an unknown user, study, site or role; a site role without
        a site; an acting user who is not an admin of the study.
    """
    _check_role(role, site)
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        site_id = study.site(site).id if site else None
        _bind_study_admin(workspace, session, study.id, bootstrap_role=role)
        user = users.get_user(session=session, username=username)
        before = users.find_assignment(
            session=session, user_id=user.id, study_id=study.id, site_id=site_id, role=role
        )
        users.grant(session=session, user_id=user.id, study_id=study.id, site_id=site_id, role=role)
    return UserChange(username, "grant", study.code, site, role, before is None)


def revoke(
    workspace: Workspace,
    username: str,
    study_code: str,
    role: str,
    site: str | None = None,
    *,
    reason: str,
) -> UserChange:
    """Take a role back (the assignment is deleted, with the reason, in the audit trail).

    :raises errors.BadInputError: unknown user, study or site; a role the user does not hold;
        a blank reason; an acting user who is not an admin of the study.
    """
    if not reason.strip():
        raise errors.BadInputError("revoking a role needs a --reason")
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        site_id = study.site(site).id if site else None
        _bind_study_admin(workspace, session, study.id, bootstrap_role=None)
        user = users.get_user(session=session, username=username)
        found = users.find_assignment(
            session=session, user_id=user.id, study_id=study.id, site_id=site_id, role=role
        )
        if found is None:
            where = f" at site {site}" if site else " study-wide"
            raise errors.BadInputError(f"{username} holds no {role} role in {study.code}{where}")
        users.revoke(session=session, assignment=found, reason=reason)
    return UserChange(username, "revoke", study.code, site, role, True)


def list_users(workspace: Workspace, study_code: str | None = None) -> list[users.UserRoles]:
    """Every user (of one study) with their roles."""
    with workspace.transaction() as session:
        study_id = workspace.study(session, study_code).id if study_code else None
        return users.list_users(session=session, study_id=study_id)


def set_password(workspace: Workspace, username: str, password: str) -> None:
    """Set ``username``'s web password (an administrator acts, or the user for themselves).

    :raises errors.NotFoundError: no such user.
    :raises errors.BadInputError: a weak password (naming why).
    :raises permissions.PermissionDeniedError: someone else, who is no administrator.
    """
    with workspace.transaction() as session:
        user = users.find_user(session=session, username=username)
        if user is None:
            raise errors.NotFoundError(f"no user {username!r}", "add users with `edc user add`")
        if workspace.username == username:
            # The audit trail names a role: the user's first one (a user without any: system).
            role = (
                session.scalar(
                    select(RoleAssignmentRow.role)
                    .where(RoleAssignmentRow.user_id == user.id)
                    .order_by(RoleAssignmentRow.id)
                    .limit(1)
                )
                or "system"
            )
        else:
            _bind_admin_anywhere(workspace, session)
            role = ADMIN
    passwords.set_password(
        workspace.maker,
        username=username,
        password=password,
        actor=workspace.username,
        role=role,
        clock=workspace.clock,
    )


def _check_role(role: str, site: str | None) -> None:
    if role not in codes.ROLES:
        raise errors.BadInputError(f"unknown role {role!r}", f"roles: {', '.join(codes.ROLES)}")
    if role in codes.SITE_ROLES and site is None:
        raise errors.BadInputError(f"{role} is a site role: give --site")


def _bind_admin_anywhere(workspace: Workspace, session: Session) -> None:
    """Any study's admin may add accounts; with no admin anywhere yet, anyone may (bootstrap)."""
    admins = set(
        session.scalars(select(RoleAssignmentRow.user_id).where(RoleAssignmentRow.role == ADMIN))
    )
    user = users.find_user(session=session, username=workspace.username)
    if not admins or (user is not None and user.active and user.id in admins):
        audit.bind(session, actor=workspace.username, role=ADMIN, clock=workspace.clock)
        return
    raise permissions.PermissionDeniedError(
        f"{workspace.username} may not {Action.MANAGE_USERS.value}",
        "only an administrator (role admin of a study) adds users",
    )


def _bind_study_admin(
    workspace: Workspace, session: Session, study_id: int, *, bootstrap_role: str | None
) -> None:
    """The study's admin acts; its first admin role may be granted by anyone (bootstrap)."""
    first = users.count_holders(session=session, study_id=study_id, role=ADMIN) == 0
    if first and bootstrap_role == ADMIN:
        audit.bind(session, actor=workspace.username, role=ADMIN, clock=workspace.clock)
        return
    user = users.get_user(session=session, username=workspace.username)
    grants = users.grants_of(session=session, user_id=user.id, study_id=study_id)
    chosen = permissions.authorize(Action.MANAGE_USERS, grants, user=workspace.username, site=None)
    audit.bind(session, actor=workspace.username, role=chosen.role, clock=workspace.clock)

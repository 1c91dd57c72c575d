"""Who may see and do what in a study: the scope every page, API call and query takes.

``load_access`` turns (user, study) into an ``Access``: the sites the user may see (all, for a
study-wide role), the roles held at each, and whether arms may be shown. Reads filter by
``Access.site_ids``; writes call ``Access.require`` with the site of the record they change.

What each role may do is the trial's permission module (``edc.trial.permissions.ALLOWED``),
the same rules the CLI's actions check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sqlalchemy.orm import Session

from edc import errors
from edc.trial import permissions
from edc.warehouse import logins, studies

VIEW = "view"
ENTER_DATA = "enter_data"
# The page actions, as the permission module names them.
_ALLOWED: Mapping[str, frozenset[str]] = {
    VIEW: permissions.ALLOWED[permissions.Action.VIEW_DATA],
    ENTER_DATA: permissions.ALLOWED[permissions.Action.ENTER_DATA],
}


@dataclasses.dataclass(frozen=True)
class Access:
    """What one user may see and do in one study.

    :ivar site_ids: the sites whose data the user may see; None for every site.
    :ivar roles_at: site id (None: study-wide) -> roles held there.
    :ivar sees_arms: whether allocations may be shown (never to a blinded role).
    """

    user_id: int
    username: str
    study_id: int
    study_code: str
    roles_at: Mapping[int | None, frozenset[str]]
    site_ids: frozenset[int] | None
    sees_arms: bool

    @property
    def roles(self) -> frozenset[str]:
        return frozenset().union(*self.roles_at.values())

    def sees_site(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def roles_for(self, site_id: int) -> frozenset[str]:
        """The roles the user holds for a record of ``site_id`` (study-wide ones included)."""
        return self.roles_at.get(site_id, frozenset()) | self.roles_at.get(None, frozenset())

    def may(self, action: str, site_id: int) -> bool:
        return bool(self.roles_for(site_id) & _ALLOWED[action])

    def require(self, action: str, site_id: int) -> str:
        """The role to name in the audit trail for ``action`` on a record of ``site_id``.

        :raises errors.NotFoundError: the site is not the user's (its records do not exist
            for them).
        :raises errors.NotPermittedError: none of the user's roles there allows ``action``.
        """
        if not self.sees_site(site_id):
            raise errors.NotFoundError("no such record")
        allowed = sorted(self.roles_for(site_id) & _ALLOWED[action])
        if not allowed:
            held = ", ".join(sorted(self.roles_for(site_id))) or "none"
            raise errors.NotPermittedError(
                f"your role ({held}) may not {action.replace('_', ' ')} here"
            )
        return allowed[0]


def load_access(*, session: Session, user_id: int, username: str, study_code: str) -> Access:
    """The user's access to ``study_code``.

    :raises errors.NotFoundError: the study is unknown or the user holds no role in it (not
        told apart: a user learns nothing of studies that are not theirs).
    """
    study = studies.find_study(session=session, code=study_code)
    assignments = (
        logins.list_role_assignments(session=session, user_id=user_id, study_id=study.id)
        if study is not None
        else []
    )
    if study is None or not assignments:
        raise errors.NotFoundError(f"no study {study_code!r}")
    roles_at: dict[int | None, set[str]] = {}
    for assignment in assignments:
        roles_at.setdefault(assignment.site_id, set()).add(assignment.role)
    site_ids = None if None in roles_at else frozenset(k for k in roles_at if k is not None)
    return Access(
        user_id=user_id,
        username=username,
        study_id=study.id,
        study_code=study.code,
        roles_at={site: frozenset(roles) for site, roles in roles_at.items()},
        site_ids=site_ids,
        sees_arms=False,
    )


def with_blinding(access: Access, *, open_label: bool) -> Access:
    """``access`` with ``sees_arms`` set from the study's blinding: until the permission module
    names the unblinded roles, arms are shown only in open-label studies."""
    return dataclasses.replace(access, sees_arms=open_label)


@dataclasses.dataclass(frozen=True)
class MyStudy:
    code: str
    title: str
    roles: list[str]


def list_my_studies(*, session: Session, user_id: int) -> list[MyStudy]:
    """The studies in which the user holds a role, with those roles."""
    found = []
    for study_id in logins.list_user_study_ids(session=session, user_id=user_id):
        study = studies.get_study_by_id(session=session, study_id=study_id)
        roles = {
            a.role
            for a in logins.list_role_assignments(
                session=session, user_id=user_id, study_id=study_id
            )
        }
        found.append(MyStudy(study.code, study.title, sorted(roles)))
    return sorted(found, key=lambda s: s.code)

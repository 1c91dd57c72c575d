"""Logins for the demo study: one user per role, each with a fresh random password.

Until ``edc user add|grant`` lands (the enrollment work owns users and roles), this writes
the ``user_account`` and ``role_assignment`` rows itself; it is the only place that does.
"""

from __future__ import annotations

import dataclasses
import secrets

from sqlalchemy import select

from edc import config
from edc.actions import passwords
from edc.clock import Clock, SystemClock
from edc.warehouse import audit, db, logins, migrate, studies
from edc.warehouse.tables import RoleAssignmentRow, UserRow

ACTOR = "edc demo"


@dataclasses.dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    site: str | None


def demo_logins(
    settings: config.Settings, study_code: str, *, clock: Clock | None = None
) -> list[DemoLogin]:
    """Create (or reset the passwords of) the demo users of ``study_code``.

    A coordinator and an investigator for the first site, a coordinator for the second, and a
    monitor, a data manager and a statistician for the whole study.

    :raises errors.BadInputError: when the study is not registered.
    """
    clock = clock or SystemClock()
    engine = migrate.open_engine(settings.database_url)
    try:
        maker = db.make_sessionmaker(engine)
        with db.transaction(maker) as session:
            audit.bind(session, actor=ACTOR, role="system", clock=clock)
            study = studies.get_study(session=session, code=study_code)
            sites = studies.list_sites(session=session, study_id=study.id)
            wanted = [
                ("coordinator", sites[0], "site_staff"),
                ("investigator", sites[0], "investigator"),
                *([("coordinator", sites[1], "site_staff")] if len(sites) > 1 else []),
                ("monitor", None, "monitor"),
                ("datamanager", None, "data_manager"),
                ("statistician", None, "statistician"),
            ]
            made = []
            for name, site, role in wanted:
                username = f"demo-{name}" + (f"-{site.code}" if site else "")
                user = logins.find_user(session=session, username=username)
                if user is None:
                    user = UserRow(username=username, display_name=f"Demo {name}", active=True)
                    session.add(user)
                    session.flush()
                site_id = site.id if site else None
                held = session.scalar(
                    select(RoleAssignmentRow.id).where(
                        RoleAssignmentRow.user_id == user.id,
                        RoleAssignmentRow.study_id == study.id,
                        RoleAssignmentRow.role == role,
                    )
                )
                if held is None:
                    session.add(
                        RoleAssignmentRow(
                            user_id=user.id, study_id=study.id, site_id=site_id, role=role
                        )
                    )
                made.append(
                    DemoLogin(username, secrets.token_urlsafe(9), role, site.code if site else None)
                )
        for login in made:
            passwords.set_password(
                maker,
                username=login.username,
                password=login.password,
                actor=ACTOR,
                role="system",
                clock=clock,
                reason="demo password",
            )
        return made
    finally:
        engine.dispose()

"""A small trial in a real warehouse, with users of each kind, for the web tests.

The minimal protocol (two sites, open-label) is registered and a synthetic site's data is
synced into it from NDJSON files (``tests.sync.trialdata``): subjects ``01-<tag>-0000``,
``01-<tag>-0002``, ... at site 01 and odd numbers at site 02, each with a baseline and a
week-1 visit, pain and ODI forms, and an adverse event for every third subject. A second
study exists so that a user of another study can be tried too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select

from edc import config
from edc.actions import passwords, protocol, sync
from edc.clock import FixedClock
from edc.fhir import FhirClient
from edc.fhir.target import ServerSpec
from edc.warehouse import audit, db
from edc.warehouse.tables import RoleAssignmentRow, SiteRow, StudyRow, UserRow
from tests.fixtures.database import Database
from tests.sync import trialdata
from tests.sync.protocols import Protocols, StudyFile

STUDY = "MINI-01"
OTHER_STUDY = "MINI-02"
TAG = "w"
PASSWORD = "correct horse battery"
# After the synthetic visits (2026-02 to 2026-03), in a non-UTC zone on purpose.
NOW = dt.datetime(2026, 3, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
# user name -> (study, site code or None for study-wide, role)
USERS: dict[str, tuple[str, str | None, str]] = {
    "coord1": (STUDY, "01", "site_staff"),
    "coord2": (STUDY, "02", "site_staff"),
    "monitor": (STUDY, None, "monitor"),
    "stat": (STUDY, None, "statistician"),
    "outsider": (OTHER_STUDY, "01", "site_staff"),
}


@dataclasses.dataclass(frozen=True)
class Seeded:
    database: Database
    settings: config.Settings
    clock: FixedClock
    subjects: int

    def subject(self, n: int) -> str:
        site = "01" if n % 2 == 0 else "02"
        return f"{site}-{TAG}-{n:04d}"

    def site_subjects(self, site: str) -> list[str]:
        return [self.subject(n) for n in range(self.subjects) if self.subject(n).startswith(site)]


def seed(
    database: Database,
    directory: Path,
    protocols: Protocols,
    *,
    subjects: int = 6,
    study: StudyFile | None = None,
    left_out: frozenset[str] = frozenset(),
    extra: Mapping[str, list[dict[str, Any]]] | None = None,
    server_url: str | None = None,
) -> Seeded:
    """Register the study (the minimal one unless ``study``) and another, sync the synthetic
    trial without the resources whose ids are in ``left_out`` and with ``extra`` (resource type
    -> resources, e.g. hospital patients to pre-screen), add the users. With ``server_url`` the
    trial is loaded onto that FHIR server and synced from it."""
    clock = FixedClock(NOW)
    settings = config.Settings(data_dir=directory / "data", database_url=database.url)
    study = study or protocols.get(STUDY)
    protocol.register_checked(database.sessionmaker, study.checked, clock)
    protocol.register_checked(database.sessionmaker, protocols.get(OTHER_STUDY).checked, clock)
    trial = trialdata.build(study.checked.compiled, subjects, tag=TAG, study=STUDY)
    for resources in trial.resources.values():
        resources[:] = [r for r in resources if r["id"] not in left_out]
    for kind, more in (extra or {}).items():
        trial.resources.setdefault(kind, []).extend(more)
    source = trial.write(directory / "ndjson")
    if server_url is None:
        sync.sync(settings, sync.SyncRequest(study=STUDY, source_dir=source), clock=clock)
    else:  # the site's data on its FHIR server, the source synced from
        with FhirClient(server_url) as fhir:
            trialdata.load(fhir, list(trial.all()))
        sync.sync(
            settings, sync.SyncRequest(study=STUDY, server=ServerSpec(server_url)), clock=clock
        )
    add_users(database.sessionmaker, clock)
    return Seeded(database, settings, clock, subjects)


def with_vas(protocols: Protocols) -> StudyFile:
    """The minimal study with a VAS form collected at week 1 as well (a study-specific shape)."""
    base = protocols.get(STUDY)
    text = base.path.read_text()
    text = text.replace("forms: [pain, odi, ae]}", "forms: [pain, vas, odi, ae]}", 1)
    text = text.replace(
        "  - {id: pain, instrument: nrs-pain}\n",
        "  - {id: pain, instrument: nrs-pain}\n  - {id: vas, instrument: vas-pain}\n",
    )
    path = base.path.with_name("with-vas.yaml")
    path.write_text(text)
    return StudyFile(path, protocol.check(path))


def add_users(
    maker: db.SessionMaker,
    clock: FixedClock,
    users: Mapping[str, tuple[str, str | None, str]] = USERS,
) -> None:
    """The users of ``users`` (default ``USERS``), each with the password ``PASSWORD``."""
    with db.transaction(maker) as session:
        audit.bind(session, actor="test set-up", role="admin", clock=clock)
        for username, (study_code, site_code, role) in users.items():
            user = UserRow(
                username=username,
                display_name=username.title(),
                active=True,
                password_hash=password_hash(),
            )
            session.add(user)
            session.flush()
            study_id = session.scalar(select(StudyRow.id).where(StudyRow.code == study_code))
            site_id = (
                session.scalar(
                    select(SiteRow.id).where(
                        SiteRow.study_id == study_id, SiteRow.code == site_code
                    )
                )
                if site_code
                else None
            )
            session.add(
                RoleAssignmentRow(user_id=user.id, study_id=study_id, site_id=site_id, role=role)
            )


@functools.cache
def password_hash() -> str:
    """One real argon2 hash of ``PASSWORD`` for every user (hashing costs a tenth of a second or
    more; ``edc.actions.passwords.set_password`` has its own test)."""
    return passwords.hash_password(PASSWORD)

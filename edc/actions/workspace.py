"""What the site and study actions share: the warehouse, the study's current protocol, who acts.

``Workspace.open(settings)`` opens the warehouse once for a command (or for many calls, as the
demo makes); ``workspace.study(session, code)`` reads a registered study and parses its current
protocol version (cached); ``workspace.act(session, study, action, site)`` checks that the
acting user may do the action there (``edc.trial.permissions``) and binds that person and role
to the session's audit trail. The acting user is the ``user`` setting (``--user``,
``EDC_USER``, default the login name).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
from collections.abc import Iterator

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from edc import config, errors
from edc.clock import Clock, SystemClock
from edc.library import load_library
from edc.protocol import Protocol, parse_protocol
from edc.trial import permissions
from edc.trial.eligibility import Screener
from edc.trial.permissions import Action, Blinding, Grant
from edc.warehouse import audit, db, migrate, studies, users
from edc.warehouse.tables.study import ProtocolVersionRow, SiteRow

# The instrument library is read-only data shipped with edc: read it once per process. A
# registered protocol version never changes (its Bundle's SHA-256 names it): parsed and compiled
# once per process too, whichever warehouse or workspace asks.
_library = functools.cache(load_library)
library = _library  # the shipped instrument library, read once per process
_PROTOCOLS: dict[tuple[str, str], Protocol] = {}
_SCREENERS: dict[tuple[str, str], Screener] = {}


def acting_username(settings: config.Settings) -> str:
    """Who is acting: the ``user`` setting (``--user``, ``EDC_USER``, default the OS login)."""
    return settings.user


@dataclasses.dataclass(frozen=True)
class Site:
    id: int
    code: str
    name: str


@dataclasses.dataclass(frozen=True)
class Study:
    """A registered study with its current protocol version, parsed."""

    id: int
    code: str
    protocol: Protocol
    protocol_version_id: int
    protocol_sha256: str  # of the protocol YAML
    version: str
    sites: tuple[Site, ...]

    @property
    def blinding(self) -> Blinding:
        randomization = self.protocol.randomization
        return Blinding(randomization.blinding, tuple(randomization.blinded_roles))

    def site(self, code: str) -> Site:
        """:raises errors.BadInputError: naming the unknown site and the study's sites."""
        for site in self.sites:
            if site.code == code:
                return site
        raise errors.BadInputError(
            f"{self.code} has no site {code!r}",
            f"sites: {', '.join(s.code for s in self.sites)}",
        )

    def site_by_id(self, site_id: int) -> Site:
        return next(site for site in self.sites if site.id == site_id)


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who acts in this transaction, and under which role."""

    username: str
    grant: Grant
    grants: tuple[Grant, ...]


class Workspace:
    """An open warehouse for one command (or a series of them)."""

    def __init__(self, engine: Engine, clock: Clock, username: str) -> None:
        self.engine = engine
        self.maker = db.make_sessionmaker(engine)
        self.clock = clock
        self.username = username

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, settings: config.Settings, *, clock: Clock | None = None, user: str | None = None
    ) -> Iterator[Workspace]:
        """:raises errors.BadInputError: a warehouse that is missing or not migrated."""
        engine = migrate.open_engine(settings.database_url)
        try:
            yield cls(engine, clock or SystemClock(), user or acting_username(settings))
        finally:
            engine.dispose()

    def transaction(self) -> contextlib.AbstractContextManager[Session]:
        return db.transaction(self.maker)

    def study(self, session: Session, code: str) -> Study:
        """The study and its newest protocol version.

        :raises errors.BadInputError: for an unknown study.
        """
        row = studies.get_study(session=session, code=code)
        versions = studies.list_protocol_versions(session=session, study_id=row.id)
        if not versions:
            raise errors.BadInputError(f"{code} has no registered protocol version")
        current: ProtocolVersionRow = versions[-1]
        # Keyed by the protocol's own text: two versions may compile to the same FHIR bundle
        # and still differ (the randomization method is not in the bundle).
        source_sha256 = hashlib.sha256(current.source_yaml.encode()).hexdigest()
        key = (code, source_sha256)
        protocol = _PROTOCOLS.get(key)
        if protocol is None:
            name = f"{code} v{current.version} (registered)"
            protocol = _PROTOCOLS[key] = parse_protocol(
                current.source_yaml, name, _library()
            ).protocol
        sites: list[SiteRow] = studies.list_sites(session=session, study_id=row.id)
        return Study(
            id=row.id,
            code=row.code,
            protocol=protocol,
            protocol_version_id=current.id,
            protocol_sha256=source_sha256,
            version=current.version,
            sites=tuple(Site(s.id, s.code, s.name) for s in sites),
        )

    def screener(self, study: Study) -> Screener:
        """The study's criteria compiled once (per protocol version and process)."""
        key = (study.code, study.protocol_sha256)
        found = _SCREENERS.get(key)
        if found is None:
            found = _SCREENERS[key] = Screener(study.protocol.eligibility)
        return found

    def grants(self, session: Session, study: Study) -> tuple[Grant, ...]:
        """The acting user's roles in the study.

        :raises errors.BadInputError: when the acting user is not an active edc user.
        """
        user = users.get_user(session=session, username=self.username)
        return tuple(users.grants_of(session=session, user_id=user.id, study_id=study.id))

    def act(self, session: Session, study: Study, action: Action, site: str | None) -> Actor:
        """Check the acting user may do ``action`` at ``site``; bind them to the audit trail.

        :raises permissions.PermissionDeniedError: (exit 2) naming who, what and which roles.
        """
        grants = self.grants(session, study)
        grant = permissions.authorize(action, grants, user=self.username, site=site)
        audit.bind(session, actor=self.username, role=grant.role, clock=self.clock)
        return Actor(self.username, grant, grants)

    def sites_for(
        self, session: Session, study: Study, action: Action, site: str | None
    ) -> list[Site]:
        """The sites an action covers: the one asked for (checked), or every site where the
        acting user may do it (binding the audit trail to them).

        :raises permissions.PermissionDeniedError: when they may do it nowhere (or not there).
        """
        if site is not None:
            chosen = study.site(site)
            self.act(session, study, action, chosen.code)
            return [chosen]
        grants = self.grants(session, study)
        allowed = permissions.ALLOWED[action]
        sites = [
            s for s in study.sites if any(g.role in allowed and g.covers(s.code) for g in grants)
        ]
        if not sites:
            permissions.authorize(action, grants, user=self.username, site=None)
        self.act(session, study, action, sites[0].code if len(sites) == 1 else None)
        return sites

    def sees_arms(self, actor: Actor, study: Study, site: str | None = None) -> bool:
        return permissions.may_see_arms(actor.grants, study.blinding, site)

"""Studies, their sites and registered protocol versions: keyword-only reads and writes.

``get_*`` raises when the thing is missing, ``find_*`` returns None (style.md).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import errors
from edc.clock import Clock
from edc.warehouse import audit
from edc.warehouse.tables.study import ProtocolVersionRow, SiteRow, StudyRow


@dataclasses.dataclass(frozen=True)
class ProtocolToRegister:
    """What a registration stores: the study's identity, its sites, the source and the Bundle."""

    study_code: str
    title: str
    version: str
    sites: tuple[tuple[str, str, str], ...]  # (code, name, country)
    source_yaml: str
    bundle_json: str
    bundle_sha256: str


def find_study(*, session: Session, code: str) -> StudyRow | None:
    """The study with this code, or None."""
    return session.scalars(select(StudyRow).where(StudyRow.code == code)).one_or_none()


def get_study(*, session: Session, code: str) -> StudyRow:
    """The study with this code.

    :raises errors.BadInputError: when it is not registered (the message lists those that are).
    """
    study = find_study(session=session, code=code)
    if study is None:
        known = session.scalars(select(StudyRow.code).order_by(StudyRow.code)).all()
        raise errors.BadInputError(
            f"unknown study {code!r}",
            f"registered studies: {', '.join(known)}"
            if known
            else "no study is registered yet: run `edc protocol register FILE`",
        )
    return study


def get_study_by_id(*, session: Session, study_id: int) -> StudyRow:
    """The study with this id (it exists: ids come from other rows' foreign keys)."""
    return session.get_one(StudyRow, study_id)


def list_protocol_versions(*, session: Session, study_id: int) -> list[ProtocolVersionRow]:
    """Every registered version of a study, oldest first."""
    return list(
        session.scalars(
            select(ProtocolVersionRow)
            .where(ProtocolVersionRow.study_id == study_id)
            .order_by(ProtocolVersionRow.id)
        )
    )


def find_newest_version(*, session: Session, study_id: int) -> tuple[int, str] | None:
    """(id, bundle SHA-256) of the study's newest registered version, without its texts."""
    found = session.execute(
        select(ProtocolVersionRow.id, ProtocolVersionRow.bundle_sha256)
        .where(ProtocolVersionRow.study_id == study_id)
        .order_by(ProtocolVersionRow.id.desc())
        .limit(1)
    ).first()
    return None if found is None else (int(found[0]), str(found[1]))


def list_sites(*, session: Session, study_id: int) -> list[SiteRow]:
    """The sites of a study."""
    return list(
        session.scalars(select(SiteRow).where(SiteRow.study_id == study_id).order_by(SiteRow.id))
    )


def register_protocol(
    *, session: Session, protocol: ProtocolToRegister, clock: Clock
) -> tuple[ProtocolVersionRow, bool]:
    """Record a compiled protocol version (and its study and sites) unless it is there already.

    :param session: a session with an audit context bound.
    :returns: the version's row, and whether this call created it.
    :raises errors.BadInputError: when the same version is registered with other content.
    """
    study = find_study(session=session, code=protocol.study_code)
    if study is None:
        study = StudyRow(code=protocol.study_code, title=protocol.title)
        session.add(study)
        session.flush()
    existing = session.scalars(
        select(ProtocolVersionRow).where(
            ProtocolVersionRow.study_id == study.id,
            ProtocolVersionRow.version == protocol.version,
        )
    ).one_or_none()
    if existing is not None:
        if existing.bundle_sha256 != protocol.bundle_sha256:
            raise errors.BadInputError(
                f"{protocol.study_code} version {protocol.version} is already registered with "
                "different content; bump study.version",
                f"registered sha256 {existing.bundle_sha256}, this file compiles to "
                f"{protocol.bundle_sha256}",
            )
        return existing, False
    reason = f"protocol {protocol.study_code} v{protocol.version} registered"
    with audit.reason(session, reason):
        if study.title != protocol.title:
            study.title = protocol.title
        sites = {site.code: site for site in list_sites(session=session, study_id=study.id)}
        for code, name, country in protocol.sites:
            site = sites.get(code)
            if site is None:
                session.add(SiteRow(study_id=study.id, code=code, name=name, country=country))
            elif (site.name, site.country) != (name, country):
                site.name, site.country = name, country
        row = ProtocolVersionRow(
            study_id=study.id,
            version=protocol.version,
            source_yaml=protocol.source_yaml,
            bundle_json=protocol.bundle_json,
            bundle_sha256=protocol.bundle_sha256,
            compiled_at=clock.now(),
        )
        session.add(row)
    return row, True

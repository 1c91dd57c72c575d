"""Patients, consents and subjects: keyword-only reads and writes for consent and enrollment.

Subject numbers are per site. An enrollment locks its site's row first (``lock_site``: ``FOR NO
KEY UPDATE`` on PostgreSQL, taken before anything else is written so that two enrollments never
wait on each other's locks the other way round; SQLite transactions hold the database's write
lock from their first statement, ``edc.warehouse.db``), and ``UNIQUE (study_id, site_id,
number_in_site)`` is the backstop, so two coordinators enrolling at once get two numbers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc import errors
from edc.warehouse import audit
from edc.warehouse.tables.monitoring import DeviationRow
from edc.warehouse.tables.screening import ScreeningResourceRow
from edc.warehouse.tables.study import SiteRow
from edc.warehouse.tables.subjects import ConsentRow, PatientLinkRow, SubjectRow


def patient_places(
    session: Session, *, study_id: int, patient_id: str
) -> list[tuple[str, int | None]]:
    """Where a hospital patient is known to the study: (source, site id), screening data or
    consent; one entry per source."""
    found: dict[str, int | None] = {}
    for source, site_id in session.execute(
        select(ScreeningResourceRow.source, ScreeningResourceRow.site_id).where(
            ScreeningResourceRow.study_id == study_id,
            ScreeningResourceRow.resource_type == "Patient",
            ScreeningResourceRow.patient_id == patient_id,
        )
    ):
        found[str(source)] = site_id
    for source, site_id in session.execute(
        select(PatientLinkRow.source, PatientLinkRow.site_id).where(
            PatientLinkRow.study_id == study_id, PatientLinkRow.patient_id == patient_id
        )
    ):
        found.setdefault(str(source), site_id)
        if site_id is not None:
            found[str(source)] = site_id
    return sorted(found.items())


def get_patient_place(
    session: Session,
    *,
    study_id: int,
    study_code: str,
    patient_id: str,
    source: str | None,
) -> tuple[str, int]:
    """(source, site id) of a patient the study knows.

    :raises errors.BadInputError: an unknown patient, one known on several sources (give
        ``--source``), or one whose hospital is no site of the study.
    """
    places = patient_places(session, study_id=study_id, patient_id=patient_id)
    if source is not None:
        places = [place for place in places if place[0] == source]
    if not places:
        where = f" from {source}" if source else ""
        raise errors.BadInputError(
            f"unknown patient {patient_id!r}{where} in {study_code}",
            "the patient's EHR data must be synced (edc sync) before consent and enrollment",
        )
    if len(places) > 1:
        raise errors.BadInputError(
            f"patient {patient_id!r} is known from {len(places)} sources in {study_code}",
            "name one with --source: " + ", ".join(place[0] for place in places),
        )
    found_source, site_id = places[0]
    if site_id is None:
        raise errors.BadInputError(
            f"patient {patient_id!r} belongs to no site of {study_code}",
            "the Patient's managingOrganization names no site of the study",
        )
    return found_source, site_id


def find_link(
    session: Session, *, study_id: int, source: str, patient_id: str
) -> PatientLinkRow | None:
    return session.scalars(
        select(PatientLinkRow).where(
            PatientLinkRow.study_id == study_id,
            PatientLinkRow.source == source,
            PatientLinkRow.patient_id == patient_id,
        )
    ).one_or_none()


def link_patient(
    session: Session, *, study_id: int, source: str, patient_id: str, site_id: int
) -> PatientLinkRow:
    """The patient's link to the study (made now if there is none)."""
    link = find_link(session, study_id=study_id, source=source, patient_id=patient_id)
    if link is None:
        link = PatientLinkRow(
            study_id=study_id, source=source, patient_id=patient_id, site_id=site_id
        )
        session.add(link)
        session.flush()
    elif link.site_id is None:
        with audit.reason(session, "site recorded with the consent"):
            link.site_id = site_id
    return link


def consents(session: Session, *, link: PatientLinkRow) -> list[ConsentRow]:
    """The patient's consents (recorded with the link, or synced for its subject), oldest first."""
    condition = ConsentRow.patient_link_id == link.id
    if link.subject_id is not None:
        condition = condition | (ConsentRow.subject_id == link.subject_id)
    return list(session.scalars(select(ConsentRow).where(condition).order_by(ConsentRow.signed_at)))


def subject_of(session: Session, *, link: PatientLinkRow) -> SubjectRow | None:
    return session.get(SubjectRow, link.subject_id) if link.subject_id is not None else None


def lock_site(session: Session, *, site_id: int) -> None:
    """Hold the site's row until the transaction ends (enrollments at a site take turns).

    ``FOR NO KEY UPDATE`` does not block the key-share locks other writers' foreign keys take.
    """
    session.execute(select(SiteRow.id).where(SiteRow.id == site_id).with_for_update(key_share=True))


def next_subject_number(session: Session, *, study_id: int, site_id: int) -> int:
    """The next number at a site (the caller holds ``lock_site``)."""
    highest = session.scalar(
        select(func.max(SubjectRow.number_in_site)).where(
            SubjectRow.study_id == study_id, SubjectRow.site_id == site_id
        )
    )
    return int(highest or 0) + 1


def add_deviation(
    session: Session,
    *,
    study_id: int,
    site_id: int,
    subject_id: int,
    kind: str,
    fingerprint: str,
    description: str,
    now: dt.datetime,
    severity: str = "major",
) -> DeviationRow:
    row = DeviationRow(
        study_id=study_id,
        site_id=site_id,
        subject_id=subject_id,
        kind=kind,
        severity=severity,
        fingerprint=fingerprint,
        description=description,
        detected_at=now,
        status="open",
    )
    session.add(row)
    session.flush()
    return row

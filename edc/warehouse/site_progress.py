"""How far each site of a study has come: consented, enrolled, randomized (per arm)."""

from __future__ import annotations

import collections

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc.warehouse.tables.subjects import AllocationRow, PatientLinkRow, SubjectRow


def consented_by_site(session: Session, *, study_id: int) -> dict[int, int]:
    """Patients with a recorded consent (a patient link), per site."""
    rows = session.execute(
        select(PatientLinkRow.site_id, func.count())
        .where(PatientLinkRow.study_id == study_id, PatientLinkRow.site_id.is_not(None))
        .group_by(PatientLinkRow.site_id)
    )
    return {int(site or 0): int(n) for site, n in rows}


def enrolled_by_site(session: Session, *, study_id: int) -> dict[int, int]:
    rows = session.execute(
        select(SubjectRow.site_id, func.count())
        .where(SubjectRow.study_id == study_id)
        .group_by(SubjectRow.site_id)
    )
    return {int(site): int(n) for site, n in rows}


def randomized_by_site(session: Session, *, study_id: int) -> dict[int, dict[str, int]]:
    """Allocations per site and arm."""
    rows = session.execute(
        select(SubjectRow.site_id, AllocationRow.arm, func.count())
        .join(AllocationRow, AllocationRow.subject_id == SubjectRow.id)
        .where(SubjectRow.study_id == study_id)
        .group_by(SubjectRow.site_id, AllocationRow.arm)
    )
    found: dict[int, dict[str, int]] = collections.defaultdict(dict)
    for site, arm, n in rows:
        found[int(site)][str(arm)] = int(n)
    return dict(found)


def linked_patients(session: Session, *, study_id: int) -> dict[tuple[str, str], bool]:
    """(source, patient id) of every consented patient -> whether they are enrolled."""
    rows = session.execute(
        select(PatientLinkRow.source, PatientLinkRow.patient_id, PatientLinkRow.subject_id).where(
            PatientLinkRow.study_id == study_id
        )
    )
    return {(str(s), str(p)): subject is not None for s, p, subject in rows}

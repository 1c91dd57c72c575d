"""What the screening worklist reads besides the screening records: the patients of a site who
became subjects (with their arm, shown or not by the caller), and who may sign eligibility off."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from edc.warehouse.tables.subjects import AllocationRow, PatientLinkRow, SubjectRow
from edc.warehouse.tables.users import RoleAssignmentRow, UserRow


@dataclasses.dataclass(frozen=True)
class LinkedPatient:
    """A patient who consented; ``subject`` is set once enrolled, ``arm`` once randomized."""

    subject: str | None
    status: str | None
    arm: str | None
    randomized: bool


def linked_patients(
    session: Session, *, study_id: int, site_ids: Sequence[int]
) -> dict[tuple[str, str], LinkedPatient]:
    """(source, patient id) -> what became of each consented patient of these sites."""
    rows = session.execute(
        select(
            PatientLinkRow.source,
            PatientLinkRow.patient_id,
            SubjectRow.subject_code,
            SubjectRow.status,
            AllocationRow.arm,
            AllocationRow.id,
        )
        .outerjoin(SubjectRow, SubjectRow.id == PatientLinkRow.subject_id)
        .outerjoin(AllocationRow, AllocationRow.subject_id == SubjectRow.id)
        .where(PatientLinkRow.study_id == study_id, PatientLinkRow.site_id.in_(list(site_ids)))
    )
    return {
        (str(source), str(patient)): LinkedPatient(subject, status, arm, allocation_id is not None)
        for source, patient, subject, status, arm, allocation_id in rows
    }


def users_with_roles(
    session: Session, *, study_id: int, site_id: int, roles: Collection[str]
) -> list[str]:
    """Active users holding one of ``roles`` at the site (or study-wide), by user name."""
    rows = session.scalars(
        select(UserRow.username)
        .join(RoleAssignmentRow, RoleAssignmentRow.user_id == UserRow.id)
        .where(
            RoleAssignmentRow.study_id == study_id,
            RoleAssignmentRow.role.in_(list(roles)),
            or_(RoleAssignmentRow.site_id == site_id, RoleAssignmentRow.site_id.is_(None)),
            UserRow.active.is_(True),
        )
        .distinct()
        .order_by(UserRow.username)
    )
    return [str(name) for name in rows]


def site_of_subject(session: Session, *, study_id: int, subject_code: str) -> int | None:
    found = session.scalar(
        select(SubjectRow.site_id).where(
            SubjectRow.study_id == study_id, SubjectRow.subject_code == subject_code
        )
    )
    return int(found) if found is not None else None

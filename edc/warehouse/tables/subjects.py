"""Subjects, the patients they are, consent and randomization.

The patient's FHIR identity lives only in ``patient_link``: trial tables refer to the link, so an
export that leaves that table out carries no hospital identifier. A patient gets a link when
they consent (or are enrolled, or arrive as a ResearchSubject from the site): pre-screening of
patients who have not consented lives apart, in ``edc.warehouse.tables.screening``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in
from edc.warehouse.coltypes import UTCDateTime


class SubjectRow(Base):
    """A study participant, known in the trial only by the study subject id.

    Subjects edc enrolls are numbered per site (``number_in_site``, shown as ``01-0007``) and
    carry who signed their eligibility off and when; subjects that arrive from a site's
    ResearchSubject have neither.
    """

    __tablename__ = "subject"
    __table_args__ = (
        UniqueConstraint("study_id", "subject_code"),
        UniqueConstraint("study_id", "id"),
        # Two coordinators enrolling at once can never both take the same number.
        UniqueConstraint("study_id", "site_id", "number_in_site"),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        check_in("status", codes.SUBJECT_STATUSES),
        CheckConstraint("number_in_site >= 1", name="number_in_site_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    subject_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    number_in_site: Mapped[int | None] = mapped_column(default=None)
    enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The investigator (a user name) who signed the subject's eligibility off.
    eligibility_signed_by: Mapped[str | None] = mapped_column(String(128), default=None)


class PatientLinkRow(Base):
    """A hospital patient (FHIR Patient id on one server) who takes part in a study.

    Created when the patient consents (or is enrolled); ``subject_id`` is set once the patient
    is enrolled. ``site_id`` is NULL only for links made before sites were recorded.
    """

    __tablename__ = "patient_link"
    __table_args__ = (
        UniqueConstraint("study_id", "source", "patient_id"),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    source: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), unique=True)
    site_id: Mapped[int | None] = mapped_column(default=None)


class ConsentRow(Base):
    """A signed informed consent: synced from the EHR, or recorded in edc.

    A consent recorded in edc names the patient (``patient_link_id``) before there is a subject;
    ``subject_id`` follows at enrollment. ``obtained_by`` is who took the consent.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    form_version: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # e.g. "Consent/42" on the site's FHIR server.
    fhir_reference: Mapped[str | None] = mapped_column(Text)
    patient_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_link.id"), default=None, index=True
    )
    obtained_by: Mapped[str | None] = mapped_column(Text, default=None)


class AllocationRow(Base):
    """A randomization: the arm drawn for a subject, and where it came from in the list.

    An allocation read from a site's ResearchSubject.assignedArm (randomized outside edc) has no
    list position: stratum, block and sequence are then all NULL. edc's own allocations carry
    ``sequence`` (1, 2, ... per study, in randomization order, never skipped or repeated) and the
    subject's factor levels; permuted-block allocations also their stratum list position, and
    minimization ones no list position. ``arm`` is blinded (``edc.trial.permissions``).
    """

    __tablename__ = "allocation"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "subject_id"], ["subject.study_id", "subject.id"]),
        # One list position can be handed out once.
        UniqueConstraint("study_id", "stratum", "block_number", "sequence_in_block"),
        UniqueConstraint("study_id", "sequence"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint("block_number >= 1", name="block_number_positive"),
        CheckConstraint("sequence_in_block >= 1", name="sequence_in_block_positive"),
        CheckConstraint(
            "(stratum IS NULL AND block_number IS NULL AND sequence_in_block IS NULL)"
            " OR (stratum IS NOT NULL AND block_number IS NOT NULL"
            " AND sequence_in_block IS NOT NULL)",
            name="list_position_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    subject_id: Mapped[int] = mapped_column(unique=True)
    arm: Mapped[str] = mapped_column(String(64), info={"blinded": True})
    stratum: Mapped[str | None] = mapped_column(String(255))
    block_number: Mapped[int | None] = mapped_column()
    sequence_in_block: Mapped[int | None] = mapped_column()
    randomized_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sequence: Mapped[int | None] = mapped_column(default=None)
    # Factor id -> level, e.g. {"site": "01", "region": "lumbar"}.
    factors: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)

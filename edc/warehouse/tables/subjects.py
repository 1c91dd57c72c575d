"""Screening, subjects, consent and randomization.

The patient's FHIR identity lives only in ``patient_link``: trial tables refer to the link, so an
export that leaves that table out carries no hospital identifier.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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
    """A study participant, known in the trial only by the study subject id."""

    __tablename__ = "subject"
    __table_args__ = (
        UniqueConstraint("study_id", "subject_code"),
        UniqueConstraint("study_id", "id"),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        check_in("status", codes.SUBJECT_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    subject_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))


class PatientLinkRow(Base):
    """A hospital patient (FHIR Patient id on one server) screened for a study.

    ``subject_id`` is set once the patient is enrolled.
    """

    __tablename__ = "patient_link"
    __table_args__ = (UniqueConstraint("study_id", "source", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    source: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), unique=True)


class ScreeningRecordRow(Base):
    """One eligibility pre-screening of a patient against a protocol version."""

    __tablename__ = "screening_record"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        check_in("outcome", codes.SCREENING_OUTCOMES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    patient_link_id: Mapped[int] = mapped_column(ForeignKey("patient_link.id"))
    protocol_version_id: Mapped[int | None] = mapped_column(ForeignKey("protocol_version.id"))
    screened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))


class ScreeningResultRow(Base):
    """The result of one eligibility criterion, with the FHIR references it was decided on."""

    __tablename__ = "screening_result"
    __table_args__ = (
        UniqueConstraint("screening_record_id", "criterion_id"),
        check_in("result", codes.CRITERION_RESULTS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_record_id: Mapped[int] = mapped_column(ForeignKey("screening_record.id"))
    criterion_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16))
    # e.g. ["Observation/123/_history/2", "Condition/9"]
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ConsentRow(Base):
    """A signed informed consent."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    form_version: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # e.g. "Consent/42" on the site's FHIR server.
    fhir_reference: Mapped[str | None] = mapped_column(Text)


class AllocationRow(Base):
    """A randomization: the arm drawn for a subject, and where it came from in the list.

    An allocation read from a site's ResearchSubject.assignedArm (randomized outside edc) has no
    list position: stratum, block and sequence are then all NULL.
    """

    __tablename__ = "allocation"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "subject_id"], ["subject.study_id", "subject.id"]),
        # One list position can be handed out once.
        UniqueConstraint("study_id", "stratum", "block_number", "sequence_in_block"),
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
    arm: Mapped[str] = mapped_column(String(64))
    stratum: Mapped[str | None] = mapped_column(String(255))
    block_number: Mapped[int | None] = mapped_column()
    sequence_in_block: Mapped[int | None] = mapped_column()
    randomized_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

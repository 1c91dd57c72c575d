"""Pre-screening at the sites: EHR data of patients who have not consented, and the results.

These tables hold data of people who are not (yet) in the trial. They stay at the site they
belong to and out of every trial dataset and export: nothing here refers to ``subject``, and
none of it is written to the audit trail (which is append-only, so it could never be purged).
``edc screen --purge-older-than`` deletes them for patients who never enrolled, keeping only the
counts CONSORT needs in ``screening_tally`` (which is trial data, and audited).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in, not_audited
from edc.warehouse.coltypes import BigId, UTCDateTime


class ScreeningResourceRow(Base):
    """The newest version of one EHR resource of a patient who is not a subject of the study.

    Kept per study and site for pre-screening only; when the patient enrolls, their resources
    move to ``raw_resource`` (trial source data) and leave this table.
    """

    __tablename__ = "screening_resource"
    __table_args__ = (
        UniqueConstraint("study_id", "source", "resource_type", "logical_id"),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        Index(None, "study_id", "source", "patient_id"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
        not_audited(),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    # NULL: the patient's hospital matches no site of the study (never screened).
    site_id: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(64))
    logical_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[str | None] = mapped_column(String(64))
    last_updated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    patient_id: Mapped[str] = mapped_column(String(64))
    json_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ScreeningRecordRow(Base):
    """The current pre-screening of one patient (re-screening replaces it).

    ``data_seen`` says what it was decided on: how many resources, the newest ``lastUpdated``
    and a SHA-256 over their type/id/version; ``as_of`` is the screening date the criteria's
    time windows count from.
    """

    __tablename__ = "screening_record"
    __table_args__ = (
        UniqueConstraint("study_id", "source", "patient_id"),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        check_in("outcome", codes.SCREENING_OUTCOMES),
        Index(None, "study_id", "site_id", "screened_at"),
        not_audited(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str] = mapped_column(String(64))
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_version.id"))
    screened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    as_of: Mapped[dt.date] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(16))
    failed: Mapped[int] = mapped_column()
    unknown: Mapped[int] = mapped_column()
    data_seen: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScreeningResultRow(Base):
    """The result of one criterion for one patient, with the evidence that decided it.

    ``evidence`` lists ``{"reference": "Observation/abc/_history/2", "what": ..., "value": ...,
    "date": ...}``; ``suggested`` is what the data suggest for a criterion the investigator
    judges (None when it has no expression).
    """

    __tablename__ = "screening_result"
    __table_args__ = (
        UniqueConstraint("screening_record_id", "criterion_id"),
        check_in("result", codes.CRITERION_RESULTS),
        check_in("suggested", codes.CRITERION_RESULTS, name="suggested"),
        not_audited(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_record_id: Mapped[int] = mapped_column(
        ForeignKey("screening_record.id", ondelete="CASCADE")
    )
    criterion_id: Mapped[str] = mapped_column(String(64))
    exclusion: Mapped[bool] = mapped_column()
    result: Mapped[str] = mapped_column(String(16))
    suggested: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ScreeningTallyRow(Base):
    """Counts kept from screening records purged by the retention rule (CONSORT numbers).

    ``failed_by_criterion`` maps a criterion id to how many purged patients failed it.
    """

    __tablename__ = "screening_tally"
    __table_args__ = (ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    purged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Records screened before this instant were purged.
    screened_before: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    eligible: Mapped[int] = mapped_column()
    ineligible: Mapped[int] = mapped_column()
    undetermined: Mapped[int] = mapped_column()
    failed_by_criterion: Mapped[dict[str, int]] = mapped_column(JSON)

"""FHIR resources exactly as exchanged, sync positions, published definitions, and problems.

``raw_resource`` is the record of truth the typed tables are derived from: the JSON text is kept
byte for byte with its SHA-256, and a re-delivered version is stored once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in, not_audited
from edc.warehouse.coltypes import BigId, UTCDateTime


class RawResourceRow(Base):
    """One version of one FHIR resource, received from or sent to a server (or read from a
    directory of NDJSON files). Write them with ``edc.warehouse.bulk.insert_raw_resources``.
    """

    __tablename__ = "raw_resource"
    __table_args__ = (
        # version_key is meta.versionId, or "sha256:<hash>" when the server gives no version,
        # so a re-delivered resource is recognised either way.
        UniqueConstraint("source", "resource_type", "logical_id", "version_key"),
        check_in("direction", codes.RESOURCE_DIRECTIONS),
        # A resource we create has no id until the server answers; received ones always do.
        CheckConstraint(
            "direction = 'sent' OR logical_id IS NOT NULL", name="received_has_logical_id"
        ),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
        Index(None, "resource_type", "logical_id"),
        Index(None, "source", "patient_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Server base URL, or the directory the NDJSON files came from.
    source: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(String(8))
    resource_type: Mapped[str] = mapped_column(String(64))
    logical_id: Mapped[str | None] = mapped_column(String(64))
    version_id: Mapped[str | None] = mapped_column(String(64))
    version_key: Mapped[str] = mapped_column(String(71))
    last_updated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The Patient the resource belongs to (its own id for a Patient), when sync could tell:
    # what enrollment and pre-screening look resources up by.
    patient_id: Mapped[str | None] = mapped_column(String(64))
    json_text: Mapped[str] = mapped_column(Text, info={"audit_digest": True})
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SyncCursorRow(Base):
    """How far a sync has read one resource type from one source, for one study.

    Bookkeeping, not trial data: it moves on every sync, so it is not audited.
    """

    __tablename__ = "sync_cursor"
    __table_args__ = (
        UniqueConstraint("source", "study_id", "resource_type"),
        not_audited(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    resource_type: Mapped[str] = mapped_column(String(64))
    # A lastUpdated high-water mark, or a Bulk export transactionTime.
    cursor_value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PublishedDefinitionRow(Base):
    """A definition resource (Questionnaire, PlanDefinition, ...) published to a FHIR server."""

    __tablename__ = "published_definition"
    __table_args__ = (
        UniqueConstraint(
            "protocol_version_id",
            "server_url",
            "resource_type",
            "canonical_url",
            name="uq_published_definition_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_version.id"))
    server_url: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(64))
    # Canonical URL (|version) of a definition, or the identifier of a ResearchStudy or Group.
    canonical_url: Mapped[str] = mapped_column(Text)
    server_id: Mapped[str] = mapped_column(String(64))
    server_version_id: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DataProblemRow(Base):
    """Something wrong with received data, found by sync (the data itself is kept as it came).

    A problem names the stored resource (``raw_resource_id``) or, for input that could not be
    stored as a resource at all (a line that is not JSON, a resource without an id), keeps that
    input in ``raw_text`` with where it was found (``source``, ``location``).
    """

    __tablename__ = "data_problem"
    __table_args__ = (
        check_in("status", codes.DATA_PROBLEM_STATUSES),
        CheckConstraint(
            "raw_resource_id IS NOT NULL OR raw_text IS NOT NULL", name="keeps_the_input"
        ),
        Index(None, "study_id", "status"),
        Index(None, "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    raw_resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("raw_resource.id"))
    # The study whose sync found it (NULL: found before the study was known).
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"))
    # The subject and site the problem concerns, when sync could tell (the resource's patient
    # is an enrolled subject of the study): what a monitor groups and filters problems by.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), default=None)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), default=None)
    # e.g. "invalid_resource", "unknown_questionnaire", "unmapped_code"; the set grows with sync.
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    # FHIRPath-like location of the problem in the resource, when there is one.
    field_path: Mapped[str | None] = mapped_column(Text)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Server base URL or directory, and where in it (file:line, page URL).
    source: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    # Input that is not a storable resource, exactly as received, and its SHA-256.
    raw_text: Mapped[str | None] = mapped_column(Text, info={"audit_digest": True})
    raw_sha256: Mapped[str | None] = mapped_column(String(64))

"""Studies, the protocol versions compiled for them, and their sites."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse.base import Base
from edc.warehouse.coltypes import UTCDateTime


class StudyRow(Base):
    """One trial, known by its study code (e.g. ``MWA-VA-OB``)."""

    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)


class ProtocolVersionRow(Base):
    """A protocol version as authored (YAML) and as compiled (FHIR Bundle JSON)."""

    __tablename__ = "protocol_version"
    __table_args__ = (
        UniqueConstraint("study_id", "version"),
        CheckConstraint("length(bundle_sha256) = 64", name="bundle_sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    version: Mapped[str] = mapped_column(String(64))
    # Large texts are recorded in the audit trail by digest, not copied (see edc.warehouse.audit).
    source_yaml: Mapped[str] = mapped_column(Text, info={"audit_digest": True})
    bundle_json: Mapped[str] = mapped_column(Text, info={"audit_digest": True})
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    compiled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SiteRow(Base):
    """A participating hospital."""

    __tablename__ = "site"
    __table_args__ = (
        UniqueConstraint("study_id", "code"),
        # Target of the composite foreign keys that keep a row's site inside the row's study.
        UniqueConstraint("study_id", "id"),
        CheckConstraint("length(country) = 2", name="country_alpha2"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    # ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2))

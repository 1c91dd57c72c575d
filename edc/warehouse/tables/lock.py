"""Database locks (freeze, lock, unlock) and the exports made from locked data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in
from edc.warehouse.coltypes import UTCDateTime


class LockEventRow(Base):
    """A change of lock state, for a whole study (subject NULL) or one subject.

    The current state is the latest event; events are never edited.
    """

    __tablename__ = "lock_event"
    __table_args__ = (check_in("state", codes.LOCK_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)


class ExportManifestRow(Base):
    """An export of locked data: its manifest (files and their checksums) and that file's hash."""

    __tablename__ = "export_manifest"
    __table_args__ = (
        check_in("format", codes.EXPORT_FORMATS),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    lock_event_id: Mapped[int] = mapped_column(ForeignKey("lock_event.id"))
    format: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    manifest_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))

"""Database locks (freeze, lock, unlock) and the exports made from locked data.

A lock applies to a unit: the whole study, one site, or one subject. ``lock_event`` keeps every
change of a unit's state with its electronic signature; ``lock_state`` holds each unit's current
state, which the lock triggers read (``edc.warehouse.lock_guard``): while a unit is frozen or
locked, the database refuses every write to the trial data of the subjects it covers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in
from edc.warehouse.coltypes import UTCDateTime


class LockEventRow(Base):
    """A signed change of lock state of a unit: the study (site and subject NULL), a site, or
    one subject. Events are never edited.

    The signature (21 CFR 11.50): ``actor`` signed, under ``signer_role``, with the ``meaning``,
    at ``at``; it is bound to the audit chain as it was (``audit_rows``, ``audit_head_hash``)
    by ``signature_sha256``, the SHA-256 of all of these (``edc.trial.locking.signature_text``).
    """

    __tablename__ = "lock_event"
    __table_args__ = (
        check_in("state", codes.LOCK_STATES),
        CheckConstraint("length(signature_sha256) = 64", name="signature_sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    signer_role: Mapped[str] = mapped_column(String(32))
    meaning: Mapped[str] = mapped_column(Text)
    audit_rows: Mapped[int] = mapped_column(Integer)
    audit_head_hash: Mapped[str] = mapped_column(String(64))
    signature_sha256: Mapped[str] = mapped_column(String(64))


class LockStateRow(Base):
    """The current lock state of one unit (``unit``: ``study``, ``site:<id>``, ``subject:<id>``).

    Written only with a ``lock_event``; the lock triggers refuse writes to the subjects of a
    unit whose state is ``frozen`` or ``locked``.
    """

    __tablename__ = "lock_state"
    __table_args__ = (
        check_in("state", codes.LOCK_STATES),
        UniqueConstraint("study_id", "unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    unit: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    state: Mapped[str] = mapped_column(String(16))
    lock_event_id: Mapped[int] = mapped_column(ForeignKey("lock_event.id"))


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


class StudyUnblindingRow(Base):
    """The study's arms revealed for the final analysis: once, after lock, signed.

    The unblinded statistician signs (21 CFR 11.50) as for a lock event: ``actor`` under
    ``signer_role`` with the ``meaning`` at ``at``, bound to the audit chain's head
    (``audit_rows``, ``audit_head_hash``) by ``signature_sha256``; ``lock_event_id`` is the
    study lock in force then. Until this row exists, exports show arms as masked codes.
    """

    __tablename__ = "study_unblinding"
    __table_args__ = (
        CheckConstraint("length(signature_sha256) = 64", name="signature_sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), unique=True)
    lock_event_id: Mapped[int] = mapped_column(ForeignKey("lock_event.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    signer_role: Mapped[str] = mapped_column(String(32))
    meaning: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    audit_rows: Mapped[int] = mapped_column(Integer)
    audit_head_hash: Mapped[str] = mapped_column(String(64))
    signature_sha256: Mapped[str] = mapped_column(String(64))

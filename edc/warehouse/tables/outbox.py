"""What edc has to write to the hospitals' FHIR servers, recorded in the transaction that caused it.

An enrollment, a consent or a randomization adds its resources here in its own transaction, so
it succeeds with the FHIR server down; ``edc push`` (or the scheduled push job) delivers them
later, each with a conditional write on its identifier, so delivering twice creates nothing
twice. Only the newest message per resource is delivered; older pending ones are superseded.
Bookkeeping, not trial data: the resources sent are kept in ``raw_resource`` (direction sent).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in, not_audited
from edc.warehouse.coltypes import UTCDateTime


class OutboxMessageRow(Base):
    """One resource to create or update on a site's FHIR server."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        check_in("status", codes.OUTBOX_STATUSES),
        check_in("operation", ("create", "upsert")),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index(None, "study_id", "status"),
        not_audited(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    resource_type: Mapped[str] = mapped_column(String(64))
    # The identifier the write is conditional on (system|value).
    identifier_system: Mapped[str] = mapped_column(Text)
    identifier_value: Mapped[str] = mapped_column(String(255))
    # create: POST with If-None-Exist (content never changes); upsert: PUT ?identifier=.
    operation: Mapped[str] = mapped_column(String(8))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Where it went: "<server base>/<type>/<id>/_history/<version>".
    delivered_to: Mapped[str | None] = mapped_column(Text, default=None)

"""Adverse events, graded with CTCAE v5.0 and coded as MedDRA lowest level terms."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in
from edc.warehouse.coltypes import BigId, UTCDateTime


class AdverseEventRow(Base):
    """One adverse event of one subject."""

    __tablename__ = "adverse_event"
    __table_args__ = (
        CheckConstraint("grade BETWEEN 1 AND 5", name="grade_1_to_5"),
        check_in("attribution", codes.AE_ATTRIBUTIONS),
        check_in("outcome", codes.AE_OUTCOMES),
        CheckConstraint(
            "resolution_date IS NULL OR resolution_date >= onset_date",
            name="resolution_after_onset",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    ctcae_term: Mapped[str] = mapped_column(Text)
    # The event as reported (AdverseEvent.event.text): what an "Other, specify" term stands for.
    verbatim: Mapped[str | None] = mapped_column(Text)
    # CTCAE v5.0 terms are MedDRA LLTs; MedDRA codes are 8 digits.
    meddra_llt_code: Mapped[str] = mapped_column(String(8))
    grade: Mapped[int] = mapped_column()
    serious: Mapped[bool] = mapped_column()
    attribution: Mapped[str] = mapped_column(String(16))
    # The day of onset/resolution in the source's own offset; ``onset_at``/``resolved_at``
    # keep the instant when the source gave a time (NULL: a date only, day precision).
    onset_date: Mapped[dt.date] = mapped_column()
    onset_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution_date: Mapped[dt.date | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(32))
    # When the site reported it to the sponsor: serious events have a reporting deadline.
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    raw_resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("raw_resource.id"))

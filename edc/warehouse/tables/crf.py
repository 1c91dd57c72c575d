"""Visits and case report form data: responses and their item values in long format."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in
from edc.warehouse.coltypes import BigId, ExactDecimal, UTCDateTime


class PlannedVisitRow(Base):
    """A visit the schedule of activities expects, with its allowed window.

    Made at randomization from the anchor events' planned dates, and moved when an anchor event
    actually happens (``anchor_actual``), e.g. the index procedure three days later than planned.
    """

    __tablename__ = "planned_visit"
    __table_args__ = (
        UniqueConstraint("subject_id", "visit_id"),
        CheckConstraint(
            "window_low <= target_date AND target_date <= window_high", name="window_order"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    # The protocol's visit id (e.g. "week-6").
    visit_id: Mapped[str] = mapped_column(String(64))
    target_date: Mapped[dt.date] = mapped_column()
    window_low: Mapped[dt.date] = mapped_column()
    window_high: Mapped[dt.date] = mapped_column()
    # The event (or visit) the target counts from, its date, and whether that date is the real
    # one (True) or still the planned one.
    anchor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    anchor_date: Mapped[dt.date | None] = mapped_column(default=None)
    anchor_actual: Mapped[bool] = mapped_column(default=False)


class VisitRow(Base):
    """A visit that took place."""

    __tablename__ = "visit"
    __table_args__ = (UniqueConstraint("subject_id", "visit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    visit_id: Mapped[str] = mapped_column(String(64))
    visit_date: Mapped[dt.date] = mapped_column()
    # e.g. "Encounter/77" on the site's FHIR server.
    encounter_reference: Mapped[str | None] = mapped_column(Text)


class FormResponseRow(Base):
    """One completed (or in-progress) CRF: a QuestionnaireResponse version."""

    __tablename__ = "form_response"
    __table_args__ = (
        check_in("status", codes.RESPONSE_STATUSES),
        # A subject's forms: monitoring views, and linking forms whose Encounter came late.
        Index(None, "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    # NULL for forms outside the visit schedule (e.g. an adverse event form).
    visit_id: Mapped[str | None] = mapped_column(String(64))
    questionnaire_url: Mapped[str] = mapped_column(Text)
    questionnaire_version: Mapped[str] = mapped_column(String(64))
    raw_resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("raw_resource.id"))
    fhir_version_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    authored: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ItemValueRow(Base):
    """One answer to one item, typed: exactly the ``value_*`` columns for its type are set.

    The questionnaire URL and version are repeated from the response so an analysis can read
    this table alone. Write many at once with ``edc.warehouse.bulk.insert_item_values``.
    """

    __tablename__ = "item_value"
    __table_args__ = (
        UniqueConstraint("response_id", "link_id", "answer_index"),
        check_in("value_type", codes.VALUE_TYPES),
        CheckConstraint("answer_index >= 0", name="answer_index_not_negative"),
        Index(None, "questionnaire_url", "link_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("form_response.id"))
    link_id: Mapped[str] = mapped_column(String(255))
    # Position among the answers recorded for this link_id in the response (repeats, groups).
    answer_index: Mapped[int] = mapped_column(default=0)
    value_type: Mapped[str] = mapped_column(String(16))
    value_number: Mapped[decimal.Decimal | None] = mapped_column(ExactDecimal())
    value_text: Mapped[str | None] = mapped_column(Text)
    value_code: Mapped[str | None] = mapped_column(String(255))
    value_system: Mapped[str | None] = mapped_column(Text)
    value_date: Mapped[dt.date | None] = mapped_column()
    value_datetime: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    value_bool: Mapped[bool | None] = mapped_column()
    unit: Mapped[str | None] = mapped_column(String(64))
    questionnaire_url: Mapped[str] = mapped_column(Text)
    questionnaire_version: Mapped[str] = mapped_column(String(64))

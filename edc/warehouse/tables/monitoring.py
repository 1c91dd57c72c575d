"""What monitors record: protocol deviations, data queries and source data verification."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in
from edc.warehouse.coltypes import UTCDateTime


class DeviationRow(Base):
    """A protocol deviation, found by a detector or recorded by an action (``origin``).

    ``evidence`` holds what the finding rests on: the resources it read (``refs``) and the
    dates or values it compared. ``status_reason`` is why a person confirmed or dismissed it;
    ``resolved_at`` when the engine found the cause gone.
    """

    __tablename__ = "deviation"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        # Detectors run again and again: the same finding keeps its one row.
        UniqueConstraint("study_id", "fingerprint"),
        check_in("kind", codes.DEVIATION_KINDS),
        check_in("severity", codes.DEVIATION_SEVERITIES),
        check_in("status", codes.DEVIATION_STATUSES),
        check_in("origin", codes.DEVIATION_ORIGINS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    # e.g. "visit_out_of_window:S-001:week-6"
    fingerprint: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    origin: Mapped[str] = mapped_column(String(16), default="recorded")
    evidence: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class DataQueryRow(Base):
    """A monitor's (or an edit check's) question about a data point, answered by the site."""

    __tablename__ = "data_query"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        check_in("status", codes.DATA_QUERY_STATUSES),
        check_in("origin", codes.DATA_QUERY_ORIGINS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    response_id: Mapped[int | None] = mapped_column(ForeignKey("form_response.id"))
    link_id: Mapped[str | None] = mapped_column(String(255))
    # The deviation the query asks about (a monitor's question about a late visit, say).
    deviation_id: Mapped[int | None] = mapped_column(
        ForeignKey("deviation.id"), index=True, default=None
    )
    # The received data problem it was opened for (a score the answers do not give).
    data_problem_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_problem.id"), index=True, default=None
    )
    origin: Mapped[str] = mapped_column(String(16))
    # The edit check that raised it, when origin is "edit_check".
    check_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class DataQueryMessageRow(Base):
    """One message in a data query's conversation."""

    __tablename__ = "data_query_message"
    __table_args__ = (check_in("role", codes.AUDIT_ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    data_query_id: Mapped[int] = mapped_column(ForeignKey("data_query.id"))
    author: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)


class SdvMarkRow(Base):
    """Source data verification of a whole form (link_id NULL) or of one item."""

    __tablename__ = "sdv_mark"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    response_id: Mapped[int] = mapped_column(ForeignKey("form_response.id"))
    link_id: Mapped[str | None] = mapped_column(String(255))
    verified_by: Mapped[str] = mapped_column(String(128))
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

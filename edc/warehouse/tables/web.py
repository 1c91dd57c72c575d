"""Logged-in sessions of the web application (bookkeeping, not trial data)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse.base import Base, not_audited
from edc.warehouse.coltypes import UTCDateTime


class WebSessionRow(Base):
    """One login: the browser holds a random token, the warehouse only its SHA-256.

    A session ends at ``expires_at`` (absolute) or after a period without requests (idle,
    measured from ``last_seen_at``), or at logout, which deletes the row. Every form and every
    state-changing API call must carry ``csrf_token``. Not audited: logins change no trial data,
    and the writes they make are named in the audit trail by the user they resolve to.
    """

    __tablename__ = "web_session"
    __table_args__ = (Index(None, "user_id"), not_audited())

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

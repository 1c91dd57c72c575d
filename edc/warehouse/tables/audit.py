"""The audit trail: one append-only, hash-chained row per change to trial data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in, not_audited
from edc.warehouse.coltypes import BigId, UTCDateTime

# prev_hash of the first row.
GENESIS_HASH = "0" * 64


class AuditEventRow(Base):
    """One change: who (actor, role), when, which record and field, old and new value, why.

    ``hash`` is SHA-256 over the row's content and ``prev_hash`` (the hash of row ``seq - 1``),
    see ``edc.warehouse.chain``. Database triggers (created by the migration) refuse UPDATE and
    DELETE, and refuse an INSERT whose ``prev_hash`` is not the ``hash`` of row ``seq - 1``
    (the genesis hash for row 1). With ``seq`` as primary key, two writers can never both
    commit a successor of the same row and no row can skip a link: the chain cannot fork or
    gap. (A trigger rather than UNIQUE(prev_hash): it checks more, and a unique index on random
    64-character keys cost more than half of each audit row's write.)
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        check_in("action", codes.AUDIT_ACTIONS),
        check_in("role", codes.AUDIT_ROLES),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="hash_length"),
        Index(None, "table_name", "record_id"),
        not_audited(),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(8))
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    # NULL for inserts and deletes, which record the whole row.
    field: Mapped[str | None] = mapped_column(String(64))
    # Canonical JSON (edc.warehouse.canonical): a whole row for insert/delete, a value for update.
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

"""Concealed randomization: the committed scheme, its allocation lists, and unblindings.

``randomization_scheme`` records the SHA-256 commitment to the secret seed and the design (the
audit trail keeps it from the moment the study opens). ``randomization_slot`` holds the
permuted-block lists expanded from the seed; it is not audited (the commitment proves it) and
only the randomize action and the unblinded statistician read it (``edc.trial.permissions``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in, not_audited
from edc.warehouse.coltypes import UTCDateTime


class RandomizationSchemeRow(Base):
    """How a study randomizes, fixed when it opens: method, design and the seed commitment."""

    __tablename__ = "randomization_scheme"
    __table_args__ = (
        check_in("method", codes.RANDOMIZATION_METHODS),
        CheckConstraint("length(commitment) = 64", name="commitment_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), unique=True)
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_version.id"))
    method: Mapped[str] = mapped_column(String(32))
    # Canonical JSON of the design the lists were made for (edc.trial.randomization.Design).
    design_json: Mapped[str] = mapped_column(Text)
    commitment: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RandomizationSlotRow(Base):
    """One position of a stratum's permuted-block list."""

    __tablename__ = "randomization_slot"
    __table_args__ = (
        UniqueConstraint("scheme_id", "stratum", "sequence_in_stratum"),
        not_audited(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("randomization_scheme.id"))
    stratum: Mapped[str] = mapped_column(String(255))
    sequence_in_stratum: Mapped[int] = mapped_column()
    block_number: Mapped[int] = mapped_column()
    block_size: Mapped[int] = mapped_column()
    position_in_block: Mapped[int] = mapped_column()
    arm: Mapped[str] = mapped_column(String(64), info={"blinded": True})


class RandomizationDrawRow(Base):
    """The stored draws of one minimization assignment (``sequence``), taken from the seed."""

    __tablename__ = "randomization_draw"
    __table_args__ = (UniqueConstraint("scheme_id", "sequence"), not_audited())

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("randomization_scheme.id"))
    sequence: Mapped[int] = mapped_column()
    # JSON list of the draws' shortest float reprs, e.g. ["0.125", "0.9"].
    draws: Mapped[str] = mapped_column(Text)


class UnblindingRow(Base):
    """An emergency unblinding of one subject: who (in the audit trail), when and why."""

    __tablename__ = "unblinding"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    unblinded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)

"""People who use edc and the roles they hold in each study (and site)."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from edc.warehouse import codes
from edc.warehouse.base import Base, check_in


class UserRow(Base):
    """A person who uses edc; every write names its actor.

    ``password_hash`` is an argon2 hash (``edc.actions.passwords``), NULL for a user who cannot
    log in to the web application; the audit trail records only its digest.
    """

    # "user" is reserved in PostgreSQL.
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(Text, info={"audit_digest": True})


class RoleAssignmentRow(Base):
    """A role held by a user in a study, at one site or (site NULL) study-wide."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        check_in("role", codes.ROLES),
        CheckConstraint(
            f"site_id IS NOT NULL OR role NOT IN ({', '.join(map(repr, codes.SITE_ROLES))})",
            name="site_role_has_site",
        ),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        UniqueConstraint("user_id", "study_id", "site_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int | None] = mapped_column()
    role: Mapped[str] = mapped_column(String(32))

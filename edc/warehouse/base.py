"""The declarative base every warehouse table derives from, and its constraint naming."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Alembic's recommended convention: constraint names come from here, never from the database,
# so a migration written against SQLite names the same constraint PostgreSQL will have.
# https://alembic.sqlalchemy.org/en/latest/naming.html (indexes name every column, so two
# indexes starting with the same column cannot collide). Names past PostgreSQL's 63 characters
# would be shortened differently per backend: give such a constraint an explicit name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Root of the ORM classes (``*Row``); ``Base.metadata`` is the schema migrations target."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if isinstance(table, Table) and all(
            c.autoincrement is not False for c in table.primary_key
        ):
            # SQLite reuses the ids of deleted rows unless a table is AUTOINCREMENT; an id seen in
            # the audit trail must name one record forever (PostgreSQL sequences never go back).
            table.dialect_options["sqlite"]["autoincrement"] = True


def not_audited() -> dict[str, object]:
    """Table options marking a table as bookkeeping that the audit trail does not record.

    Every other table is audited: a new table is covered unless someone opts it out here.
    """
    return {"info": {"audited": False}}


def table_of(row_class: type[Base]) -> Table:
    """The ``Table`` a ``*Row`` class maps (typed, for Core statements)."""
    table = row_class.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{row_class.__name__} does not map a plain table")
    return table


def check_in(column: str, values: tuple[str, ...], *, name: str | None = None) -> CheckConstraint:
    """A CHECK constraint limiting ``column`` to a fixed set of codes.

    :param column: the column name.
    :param values: the allowed codes (plain identifiers; they are written into the DDL).
    :param name: the constraint's short name; defaults to ``column``, so the naming convention
        gives ``ck_<table>_<column>``.
    """
    for value in values:
        if "'" in value:
            raise ValueError(f"code {value!r} cannot appear in a CHECK constraint")
    # Written as an OR chain, not ``IN (...)``: SQLite evaluates a constant IN list in a CHECK
    # by building a temporary table per row, which made inserts into item_value ~3x slower;
    # the OR chain is as cheap as no check and means the same on every backend.
    allowed = " OR ".join(f"{column} = '{value}'" for value in values)
    return CheckConstraint(f"({allowed})", name=name or column)

"""Date and JSON expressions that mean the same on SQLite and PostgreSQL.

The deviation detectors compare days and instants inside one SELECT each; SQLite keeps instants
as UTC text and PostgreSQL as ``timestamptz``, so the few operations they need are spelled per
dialect here, and only here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Float, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement


def day_of(dialect: str, instant: Any) -> ColumnElement[Any]:
    """The UTC calendar day of an instant column."""
    if dialect == "sqlite":
        return func.date(instant)
    return cast(func.timezone("UTC", instant), Date)


def hours_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """``end - start`` in hours (instants, or ISO text with an offset on SQLite)."""
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * literal(24.0)
    seconds = func.extract("epoch", end - start)
    return cast(seconds, Float) / literal(3600.0)


def days_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """``end - start`` in days, for two DATE columns (or a DATE and a date literal)."""
    if dialect == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return cast(end - start, Float)


def json_text(dialect: str, document: Any, *path: str) -> ColumnElement[str]:
    """The text at ``path`` (object keys) in a JSON document stored as text; NULL if absent."""
    if dialect == "sqlite":
        return func.json_extract(document, "$." + ".".join(path))
    from sqlalchemy.dialects.postgresql import JSONB

    found: ColumnElement[str] = func.jsonb_extract_path_text(cast(document, JSONB), *path)
    return found


def instant_of_text(dialect: str, text: Any) -> ColumnElement[Any]:
    """An ISO dateTime in text (with an offset) as something ``hours_between`` takes."""
    if dialect == "sqlite":
        as_text: ColumnElement[Any] = text
        return as_text
    from sqlalchemy.dialects.postgresql import TIMESTAMP

    return cast(text, TIMESTAMP(timezone=True))


def start_of_day(dialect: str, day: Any) -> ColumnElement[Any]:
    """00:00 UTC of a DATE column, as something ``hours_between`` takes."""
    if dialect == "sqlite":
        day_column: ColumnElement[Any] = day
        return day_column
    from sqlalchemy.dialects.postgresql import TIMESTAMP

    instant: ColumnElement[Any] = func.timezone("UTC", cast(day, TIMESTAMP()))
    return instant


def date_of_text(dialect: str, text: Any) -> ColumnElement[Any]:
    """The first ten characters of an ISO date or dateTime text as a day."""
    day = func.substr(text, 1, 10)
    if dialect == "sqlite":
        as_text: ColumnElement[Any] = day
        return as_text
    return cast(day, Date)

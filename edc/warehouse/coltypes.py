"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no timestamp-with-time-zone and no exact decimal: these decorators make both backends
return the same Python values, so code and tests never branch on the dialect.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY (the rowid alias), so
# large tables use BIGINT on PostgreSQL and INTEGER (which is 64-bit there anyway) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant: accepts only aware datetimes, stores UTC, and returns aware UTC datetimes.

    Naive datetimes are refused because their meaning depends on the machine's time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a time zone")
        utc = value.astimezone(dt.UTC)
        # SQLite's DATETIME keeps no offset: store the UTC wall time, re-attach UTC when read.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ExactDecimal(TypeDecorator[decimal.Decimal]):
    """A decimal number: NUMERIC on PostgreSQL, a float on SQLite, ``Decimal`` in Python.

    SQLite stores NUMERIC values as 8-byte floats (15 significant digits are exact). Values come
    back as the shortest decimal that round-trips, with trailing fractional zeros dropped on both
    backends so ``1.10`` reads as ``Decimal("1.1")`` everywhere (the raw FHIR JSON keeps the
    original precision).
    """

    impl = Numeric()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # asdecimal=False: read the float as is; SQLAlchemy's own float->Decimal conversion
            # pads to 10 places ("1.1000000000"), which would differ from PostgreSQL.
            return dialect.type_descriptor(Numeric(asdecimal=False))
        return dialect.type_descriptor(Numeric())

    def process_bind_param(self, value: Any, dialect: Dialect) -> decimal.Decimal | None:
        if value is None:
            return None
        return to_decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> decimal.Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            value = decimal.Decimal(repr(value))
        return strip_fraction_zeros(decimal.Decimal(value))


def to_decimal(value: object) -> decimal.Decimal:
    """Convert an int, float or Decimal to a finite Decimal.

    :raises TypeError: for booleans, strings and other types.
    :raises ValueError: for NaN and infinities, which neither backend stores portably.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    number = decimal.Decimal(repr(value)) if isinstance(value, float) else decimal.Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def strip_fraction_zeros(number: decimal.Decimal) -> decimal.Decimal:
    """``1.50`` -> ``1.5`` and ``2.0`` -> ``2``, leaving integers such as ``100`` alone."""
    if number.as_tuple().exponent < 0:  # type: ignore[operator]
        number = number.normalize()
        if number.as_tuple().exponent > 0:  # type: ignore[operator]
            number = number.quantize(decimal.Decimal(1))
    return number

"""Canonical JSON for audit values: one spelling per value, so hashes can be recomputed.

Instants are written as UTC with microseconds, decimals as their shortest exact text, and keys
sorted. The same value always yields the same bytes, whichever backend it was read from.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from edc.warehouse.coltypes import strip_fraction_zeros


def jsonable(value: Any) -> Any:
    """Turn a column value into plain JSON data in canonical form.

    :raises TypeError: for a type the warehouse does not store.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value.isoformat()} has no canonical form")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(strip_fraction_zeros(value))
    if isinstance(value, float):
        return str(strip_fraction_zeros(decimal.Decimal(repr(value))))
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    raise TypeError(f"no canonical JSON form for {type(value).__name__}")


def dumps(value: Any) -> str:
    """Canonical JSON text of ``value`` (see ``jsonable``)."""
    return orjson.dumps(jsonable(value), option=orjson.OPT_SORT_KEYS).decode()


def digest(text: str) -> str:
    """How a large text column is recorded in the audit trail: ``sha256:<hex>`` of its UTF-8."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

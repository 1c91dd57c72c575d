"""Answer values of a QuestionnaireResponse, checked against their item and typed.

One function per ``value[x]``: it refuses a value of the wrong JSON type, outside the item's
bounds or among no permitted option, and returns the ``item_value`` columns (``value_number``
.. ``unit``) and a comparable form of the answer (for ``enableWhen``). Partial dates and
date-only dateTimes keep their text in ``value_text``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from edc.sync.qindex import ItemRule

# R4 regexes for date, dateTime and time (http://hl7.org/fhir/R4/datatypes.html).
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_DATETIME = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$"
)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?$")


class AnswerProblem(ValueError):
    """An answer that does not fit its item (the message says why)."""


Row = tuple[Any, ...]  # value_number .. unit (VALUE_COLUMNS[3:])


def _bounded(rule: ItemRule, value: Any, shown: Any) -> None:
    if rule.low is not None and value < rule.low:
        raise AnswerProblem(f"{shown} is below the minimum {rule.low}")
    if rule.high is not None and value > rule.high:
        raise AnswerProblem(f"{shown} is above the maximum {rule.high}")


def _allowed(rule: ItemRule, key: tuple[str, Any], shown: Any) -> None:
    if rule.options is not None and key not in rule.options:
        raise AnswerProblem(f"{shown!r} is not a permitted answer")


def _boolean(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    if type(value) is not bool:
        raise AnswerProblem(f"{value!r} is not a boolean")
    return (None, None, None, None, None, None, value, None), value


def _number(rule: ItemRule, value: Any, integer: bool) -> tuple[Row, Any]:
    kind = type(value)
    if kind is int:
        number = Decimal(value)
    elif kind is float and not integer:
        number = Decimal(repr(value))
        if not number.is_finite():
            raise AnswerProblem(f"{value!r} is not a finite number")
    else:
        raise AnswerProblem(f"{value!r} is not {'an integer' if integer else 'a decimal'}")
    _bounded(rule, number, value)
    if rule.options is not None:
        _allowed(rule, ("", value), value)
    return (number, None, None, None, None, None, None, None), number


def _integer(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    return _number(rule, value, True)


def _decimal(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    return _number(rule, value, False)


def _date(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    if not isinstance(value, str) or not _DATE.match(value):
        raise AnswerProblem(f"{value!r} is not a FHIR date")
    if len(value) == 10:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise AnswerProblem(f"{value!r} is not a calendar date") from None
        _bounded(rule, value, value)
        return (None, None, None, None, day, None, None, None), value
    return (None, value, None, None, None, None, None, None), value


def _date_time(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise AnswerProblem(f"{value!r} is not a FHIR dateTime (a time needs a time zone)")
    if "T" not in value:
        return (None, value, None, None, None, None, None, None), value
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise AnswerProblem(f"{value!r} is not a valid instant") from None
    return (None, None, None, None, None, instant, None, None), value


def _time(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    if not isinstance(value, str) or not _TIME.match(value):
        raise AnswerProblem(f"{value!r} is not a FHIR time")
    return (None, value, None, None, None, None, None, None), value


def _string(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    if not isinstance(value, str) or not value.strip():
        raise AnswerProblem(f"{value!r} is not a non-empty string")
    if rule.max_length is not None and len(value) > rule.max_length:
        raise AnswerProblem(f"{len(value)} characters, more than the maximum {rule.max_length}")
    if rule.options is not None and rule.type == "choice":
        _allowed(rule, ("", value), value)
    return (None, value, None, None, None, None, None, None), value


def _uri(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise AnswerProblem(f"{value!r} is not a URI")
    return (None, value, None, None, None, None, None, None), value


def _coding(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    code = value.get("code") if isinstance(value, dict) else None
    system = value.get("system") if isinstance(value, dict) else None
    if not isinstance(code, str) or not code or not isinstance(system, str | None):
        raise AnswerProblem("a Coding needs a code (and a text system, if any)")
    if rule.options is not None:
        if system is None:
            if code not in rule.option_codes:
                raise AnswerProblem(f"code {code!r} is not a permitted answer")
        else:
            _allowed(rule, (system, code), f"{system}|{code}")
    return (None, None, code, system, None, None, None, None), (system or "", code)


def _quantity(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    number = value.get("value") if isinstance(value, dict) else None
    if isinstance(number, float):
        amount = Decimal(repr(number))
    elif isinstance(number, int) and not isinstance(number, bool):
        amount = Decimal(number)
    else:
        raise AnswerProblem("a Quantity needs a numeric value")
    if not amount.is_finite():
        raise AnswerProblem(f"{number!r} is not a finite number")
    unit = value.get("code") or value.get("unit")
    system = value.get("system")
    return (amount, None, value.get("code"), system, None, None, None, unit), amount


def _reference(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str) or not reference:
        raise AnswerProblem("a Reference needs a reference")
    return (None, reference, None, None, None, None, None, None), reference


def _attachment(rule: ItemRule, value: Any) -> tuple[Row, Any]:
    if not isinstance(value, dict):
        raise AnswerProblem("an Attachment must be an object")
    text = value.get("url") or value.get("title") or "attachment"
    return (None, str(text), None, None, None, None, None, None), text


CONVERT: Mapping[str, Callable[[ItemRule, Any], tuple[Row, Any]]] = {
    "valueBoolean": _boolean,
    "valueInteger": _integer,
    "valueDecimal": _decimal,
    "valueDate": _date,
    "valueDateTime": _date_time,
    "valueTime": _time,
    "valueString": _string,
    "valueUri": _uri,
    "valueCoding": _coding,
    "valueQuantity": _quantity,
    "valueReference": _reference,
    "valueAttachment": _attachment,
}

"""Build R4 QuestionnaireResponses from plain answers (representation: edc.library.answers).

A ``ResponseTemplate`` reads a compiled Questionnaire once (items by linkId, answer options
by code, the keys each level accepts) so that building many responses only walks dicts: the
synthetic data generator builds hundreds of thousands.

Choice answers become ``valueCoding`` copied from the Questionnaire's answerOption (system,
version, code, display) and carry the option's ``itemWeight``/``ordinalValue`` extension, as
other renderers do (LHC-Forms writes ``ordinalValue``). The calculatedExpressions do not depend
on it: they look the weight up in ``%questionnaire`` (MEDD, in a repeating group, reads either
extension from the answer; issue 12 item 1). Bounds (min/max, required) are not enforced:
out-of-range and missing data are exactly what edit checks must be tested with. Numbers are
JSON numbers (``int`` or ``float``), like the compiler's output, so the result serializes with
any JSON library.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from edc.library.answers import AnswerError, Answers

ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
_WEIGHT_URLS = (ITEM_WEIGHT, ORDINAL_VALUE)
STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    """One Questionnaire item, prepared for building answers."""

    link_id: str
    kind: str
    repeats: bool
    children: tuple[_Field, ...] = ()
    codings: Mapping[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    keys: frozenset[str] = frozenset()  # repeating groups: the answer keys of one repetition


def json_number(value: Decimal | int) -> int | float:
    """A JSON number for a FHIR decimal: integers stay ``int``, other values become ``float``
    (whose shortest repr is the decimal literal for the few digits scores and doses have)."""
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


class ResponseTemplate:
    """Everything needed to build responses to one Questionnaire, computed once.

    :param questionnaire: a compiled R4 Questionnaire (dict).
    :raises AnswerError: when an item uses a feature the builder does not support
        (answer options other than ``valueCoding``).
    """

    def __init__(self, questionnaire: Mapping[str, Any]) -> None:
        self.questionnaire = questionnaire
        self.canonical = f"{questionnaire.get('url', '')}|{questionnaire.get('version', '')}"
        self._fields = tuple(_field(item) for item in questionnaire.get("item", ()))
        self._keys = _scope_keys(self._fields)

    def build(
        self,
        answers: Answers,
        *,
        subject: str,
        authored: dt.datetime | str,
        status: str = "completed",
        encounter: str | None = None,
        author: str | None = None,
        identifier: Mapping[str, str] | None = None,
        response_id: str | None = None,
        canonical: str | None = None,
    ) -> dict[str, Any]:
        """One QuestionnaireResponse.

        :param answers: linkId -> answer (see edc.library.answers).
        :param subject: reference to the patient, e.g. ``Patient/123``.
        :param authored: when it was answered (an aware datetime, or FHIR dateTime text).
        :param status: the response status (``completed``, ``in-progress``, ...).
        :param encounter: optional reference to the visit's Encounter.
        :param author: optional reference to who answered (Patient/..., Practitioner/...).
        :param identifier: optional Identifier ``{"system", "value"}``.
        :param response_id: optional logical id.
        :param canonical: the Questionnaire as ``url|version`` (default: the template's).
        :raises AnswerError: unknown linkIds or codes, values of the wrong type, bad status.
        """
        if status not in STATUSES:
            raise AnswerError(f"unknown QuestionnaireResponse status {status!r}")
        if isinstance(authored, dt.datetime):
            if authored.tzinfo is None:
                raise AnswerError("authored needs a time zone (an aware datetime)")
            authored = authored.isoformat()
        _check_keys(self._keys, answers, "the form")
        response: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
        if response_id is not None:
            response["id"] = response_id
        if identifier is not None:
            response["identifier"] = dict(identifier)
        response["questionnaire"] = canonical or self.canonical
        response["status"] = status
        response["subject"] = {"reference": subject}
        if encounter is not None:
            response["encounter"] = {"reference": encounter}
        response["authored"] = authored
        if author is not None:
            response["author"] = {"reference": author}
        items = _build_items(self._fields, answers)
        if items:
            response["item"] = items
        return response


def build_response(
    questionnaire: Mapping[str, Any], answers: Answers, /, **kwargs: Any
) -> dict[str, Any]:
    """One response without keeping a template (see ``ResponseTemplate.build``)."""
    return ResponseTemplate(questionnaire).build(answers, **kwargs)


def _field(item: Mapping[str, Any]) -> _Field:
    link_id, kind = item["linkId"], item["type"]
    repeats = bool(item.get("repeats", False))
    children = tuple(_field(child) for child in item.get("item", ()))
    codings: dict[str, dict[str, Any]] = {}
    for option in item.get("answerOption", ()):
        if "valueCoding" not in option:
            raise AnswerError(f"{link_id}: only valueCoding answer options are supported")
        coding = dict(option["valueCoding"])
        weights = [e for e in option.get("extension", ()) if e.get("url") in _WEIGHT_URLS]
        if weights:
            coding = {"extension": weights, **coding}
        codings[coding["code"]] = coding
    keys = _scope_keys(children) if kind == "group" and repeats else frozenset()
    return _Field(link_id, kind, repeats, children, codings, keys)


def _scope_keys(fields: Sequence[_Field]) -> frozenset[str]:
    """Answer keys of one level: non-repeating groups are transparent."""
    keys: set[str] = set()
    for field in fields:
        if field.kind == "group" and not field.repeats:
            keys |= _scope_keys(field.children)
        elif field.kind != "display":
            keys.add(field.link_id)
    return frozenset(keys)


def _check_keys(keys: frozenset[str], answers: Answers, where: str) -> None:
    if not isinstance(answers, Mapping):
        raise AnswerError(f"{where}: expected a mapping of linkId to answer, got {answers!r}")
    unknown = answers.keys() - keys
    if unknown:
        raise AnswerError(f"{where}: unknown linkId(s) {', '.join(sorted(map(str, unknown)))}")


def _build_items(fields: Sequence[_Field], answers: Answers) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for field in fields:
        if field.kind == "display":
            continue
        if field.kind == "group":
            if not field.repeats:
                children = _build_items(field.children, answers)
                if children:
                    items.append({"linkId": field.link_id, "item": children})
                continue
            for repetition in _as_list(field, answers.get(field.link_id)):
                _check_keys(field.keys, repetition, field.link_id)
                children = _build_items(field.children, repetition)
                if children:  # an empty repetition has nothing to record
                    items.append({"linkId": field.link_id, "item": children})
            continue
        value = answers.get(field.link_id)
        if value is None:
            continue
        if not field.repeats and isinstance(value, list | tuple):
            raise AnswerError(f"{field.link_id}: does not repeat; give one answer, not a list")
        values = _as_list(field, value) if field.repeats else [value]
        if values:
            items.append({"linkId": field.link_id, "answer": [_answer(field, v) for v in values]})
    return items


def _as_list(field: _Field, value: Any) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise AnswerError(f"{field.link_id}: repeats; give a list, got {value!r}")
    return value


def _answer(field: _Field, value: Any) -> dict[str, Any]:
    convert = _CONVERTERS.get(field.kind)
    if convert is None:
        raise AnswerError(f"{field.link_id}: {field.kind} items are not supported")
    return convert(field, value)


def _wrong(field: _Field, value: Any) -> AnswerError:
    return AnswerError(f"{field.link_id}: {value!r} is not a valid {field.kind} answer")


def _choice(field: _Field, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        coding = field.codings.get(value)
        if coding is not None:
            # Copy: responses must not share mutable parts with the template or each other.
            if "extension" in coding:
                return {
                    "valueCoding": {**coding, "extension": [dict(e) for e in coding["extension"]]}
                }
            return {"valueCoding": dict(coding)}
        if field.kind == "open-choice":
            return {"valueString": value}
        if field.codings:
            raise AnswerError(
                f"{field.link_id}: unknown answer code {value!r} "
                f"(options: {', '.join(field.codings)})"
            )
    elif isinstance(value, Mapping) and not field.codings and isinstance(value.get("code"), str):
        return {"valueCoding": {k: v for k, v in value.items() if v is not None}}
    raise _wrong(field, value)


def _boolean(field: _Field, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    raise _wrong(field, value)


def _integer(field: _Field, value: Any) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"valueInteger": value}
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return {"valueInteger": int(value)}
    raise _wrong(field, value)


def _decimal(field: _Field, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        raise _wrong(field, value)
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return {"valueDecimal": value}
    if isinstance(value, Decimal) and value.is_finite():
        return {"valueDecimal": json_number(value)}
    raise _wrong(field, value)


def _date(field: _Field, value: Any) -> dict[str, Any]:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return {"valueDate": value.isoformat()}
    raise _wrong(field, value)


def _date_time(field: _Field, value: Any) -> dict[str, Any]:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise AnswerError(f"{field.link_id}: a dateTime with a time needs a time zone")
        return {"valueDateTime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"valueDateTime": value.isoformat()}
    raise _wrong(field, value)


def _string(field: _Field, value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value:
        return {"valueString": value}
    raise _wrong(field, value)


_CONVERTERS: Mapping[str, Callable[[_Field, Any], dict[str, Any]]] = {
    "choice": _choice,
    "open-choice": _choice,
    "boolean": _boolean,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "dateTime": _date_time,
    "string": _string,
    "text": _string,
}

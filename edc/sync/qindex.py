"""Compiled Questionnaires turned into lookup tables, so that responses are checked fast.

Checking a QuestionnaireResponse with the fhir.resources models or FHIRPath costs about a
millisecond; ingest must check thousands per second. A ``QuestionnaireIndex`` is built once per
Questionnaire version (``url|version``): for each item its type, the ``answer[x]`` key that type
takes, bounds, permitted codes (answerOption, or an answerValueSet expanded from the CodeSystems
in the same compiled Bundle), ``required``/``repeats`` and its ``enableWhen`` conditions.
``edc.sync.qcheck`` walks a response against it with dict lookups only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from edc.library import scoring
from edc.library.scoring import ScoreRule

EXT = "http://hl7.org/fhir/StructureDefinition"
MIN_VALUE, MAX_VALUE = f"{EXT}/minValue", f"{EXT}/maxValue"
CALCULATED_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)

# R4 Questionnaire.item.type -> the answer value[x] keys it accepts, and the item_value type of
# each (edc.warehouse.codes.VALUE_TYPES).
ANSWER_KEYS: Mapping[str, tuple[str, ...]] = {
    "boolean": ("valueBoolean",),
    "decimal": ("valueDecimal",),
    "integer": ("valueInteger",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
    "time": ("valueTime",),
    "string": ("valueString",),
    "text": ("valueString",),
    "url": ("valueUri",),
    "choice": ("valueCoding",),
    "open-choice": ("valueCoding", "valueString"),
    "attachment": ("valueAttachment",),
    "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
    "group": (),
    "display": (),
}
VALUE_TYPE = {
    "valueBoolean": "boolean",
    "valueDecimal": "decimal",
    "valueInteger": "integer",
    "valueDate": "date",
    "valueDateTime": "datetime",
    "valueTime": "time",
    "valueString": "string",
    "valueUri": "uri",
    "valueCoding": "coding",
    "valueAttachment": "attachment",
    "valueReference": "reference",
    "valueQuantity": "quantity",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """One ``enableWhen``: ``question`` compared with ``value`` (an answer's comparable form)."""

    question: str
    operator: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True)
class ItemRule:
    """What one Questionnaire item accepts.

    :ivar options: permitted ``(system, code)`` for codings, or permitted plain values
        (``("", value)``) for string/integer/date options; None when any value is allowed.
    :ivar low, high: bounds (Decimal for numbers, ISO text for dates), or None.
    """

    link_id: str
    type: str
    answer_keys: frozenset[str]
    required: bool
    repeats: bool
    max_length: int | None
    low: Decimal | str | None
    high: Decimal | str | None
    options: frozenset[tuple[str, Any]] | None
    option_codes: frozenset[str]
    conditions: tuple[Condition, ...]
    enable_any: bool
    children: Mapping[str, ItemRule]


@dataclasses.dataclass(frozen=True)
class QuestionnaireIndex:
    """Every item of one Questionnaire version, by linkId (top level in ``items``)."""

    url: str
    version: str
    items: Mapping[str, ItemRule]
    # Whether any item is required or conditional: responses to a form with neither skip the
    # second pass over the response.
    needs_second_pass: bool
    # (linkId, library rule) of the calculated items that ingest recomputes (edc.sync.scores).
    scores: tuple[tuple[str, ScoreRule], ...] = ()


def build_index(
    questionnaire: Mapping[str, Any], value_sets: Mapping[str, frozenset[tuple[str, str]]]
) -> QuestionnaireIndex:
    """Index a compiled Questionnaire.

    :param value_sets: ``url|version`` (and bare ``url``) of each expandable ValueSet to its
        codes (``value_set_codes``).
    """
    items = {rule.link_id: rule for rule in _rules(questionnaire.get("item", ()), value_sets)}
    return QuestionnaireIndex(
        url=str(questionnaire["url"]),
        version=str(questionnaire.get("version", "")),
        items=items,
        needs_second_pass=any(_needs_second_pass(rule) for rule in items.values()),
        scores=_score_rules(questionnaire),
    )


def _score_rules(questionnaire: Mapping[str, Any]) -> tuple[tuple[str, ScoreRule], ...]:
    """``(linkId, rule)`` of the root calculated items the instrument library can score
    (score linkIds are the library's score ids; the compiler puts scores at the root)."""
    rules = {rule.score_id: rule for rule in scoring.RULES.values()}
    found = []
    for item in questionnaire.get("item", ()):
        link_id = item.get("linkId")
        calculated = any(
            ext.get("url") == CALCULATED_EXPRESSION for ext in item.get("extension", ())
        )
        if calculated and link_id in rules:
            found.append((str(link_id), rules[link_id]))
    return tuple(found)


def value_set_codes(
    resources: Iterable[Mapping[str, Any]],
) -> dict[str, frozenset[tuple[str, str]]]:
    """Expand the ValueSets of a compiled Bundle that only include CodeSystems of that Bundle.

    A ValueSet whose ``compose.include`` names codes is those codes; one that includes a whole
    CodeSystem is every concept of it. ValueSets that need a terminology server are left out
    (their answers are then not checked against them).
    """
    systems: dict[str, frozenset[str]] = {}
    for resource in resources:
        if resource.get("resourceType") == "CodeSystem" and resource.get("content") == "complete":
            codes = frozenset(_concept_codes(resource.get("concept", ())))
            systems[f"{resource['url']}|{resource.get('version', '')}"] = codes
            systems.setdefault(str(resource["url"]), codes)
    expanded: dict[str, frozenset[tuple[str, str]]] = {}
    for resource in resources:
        if resource.get("resourceType") != "ValueSet":
            continue
        members = _expand(resource.get("compose"), systems)
        if members is not None:
            expanded[f"{resource['url']}|{resource.get('version', '')}"] = members
            expanded.setdefault(str(resource["url"]), members)
    return expanded


def _expand(
    compose: Any, systems: Mapping[str, frozenset[str]]
) -> frozenset[tuple[str, str]] | None:
    if not isinstance(compose, dict) or compose.get("exclude"):
        return None
    codes: set[tuple[str, str]] = set()
    for include in compose.get("include") or ():
        system = include.get("system")
        if not isinstance(system, str) or include.get("filter") or include.get("valueSet"):
            return None
        if include.get("concept"):
            codes |= {(system, str(c["code"])) for c in include["concept"]}
            continue
        known = systems.get(f"{system}|{include['version']}" if "version" in include else system)
        if known is None:
            return None
        codes |= {(system, code) for code in known}
    return frozenset(codes)


def _concept_codes(concepts: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for concept in concepts:
        yield str(concept["code"])
        yield from _concept_codes(concept.get("concept", ()))


def _rules(
    items: Iterable[Mapping[str, Any]], value_sets: Mapping[str, frozenset[tuple[str, str]]]
) -> list[ItemRule]:
    rules = []
    for item in items:
        item_type = str(item["type"])
        options, option_codes = _options(item, value_sets)
        low, high = _bound(item, MIN_VALUE), _bound(item, MAX_VALUE)
        rules.append(
            ItemRule(
                link_id=str(item["linkId"]),
                type=item_type,
                answer_keys=frozenset(ANSWER_KEYS.get(item_type, ())),
                required=bool(item.get("required", False)),
                repeats=bool(item.get("repeats", False)),
                max_length=item.get("maxLength"),
                low=low,
                high=high,
                options=options,
                option_codes=option_codes,
                conditions=tuple(_condition(c) for c in item.get("enableWhen", ())),
                enable_any=item.get("enableBehavior") == "any",
                children={r.link_id: r for r in _rules(item.get("item", ()), value_sets)},
            )
        )
    return rules


def _options(
    item: Mapping[str, Any], value_sets: Mapping[str, frozenset[tuple[str, str]]]
) -> tuple[frozenset[tuple[str, Any]] | None, frozenset[str]]:
    if "answerOption" in item:
        options: set[tuple[str, Any]] = set()
        for option in item["answerOption"]:
            coding = option.get("valueCoding")
            if isinstance(coding, dict):
                options.add((str(coding.get("system", "")), str(coding["code"])))
            else:
                options |= {("", value) for key, value in option.items() if key.startswith("value")}
        return frozenset(options), frozenset(code for _, code in options if isinstance(code, str))
    value_set = item.get("answerValueSet")
    if isinstance(value_set, str) and value_set in value_sets:
        codes = value_sets[value_set]
        return frozenset(codes), frozenset(code for _, code in codes)
    return None, frozenset()


def _bound(item: Mapping[str, Any], url: str) -> Decimal | str | None:
    for extension in item.get("extension", ()):
        if extension.get("url") != url:
            continue
        for key, value in extension.items():
            if key in ("valueInteger", "valueDecimal"):
                return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            if key in ("valueDate", "valueDateTime"):
                return str(value)
    return None


def _condition(enable_when: Mapping[str, Any]) -> Condition:
    value: Any = None
    for key, given in enable_when.items():
        if key == "answerCoding":
            value = (str(given.get("system", "")), str(given["code"]))
        elif key in ("answerInteger", "answerDecimal"):
            value = Decimal(repr(given)) if isinstance(given, float) else Decimal(given)
        elif key.startswith("answer"):
            value = given.isoformat() if isinstance(given, dt.date) else given
    return Condition(str(enable_when["question"]), str(enable_when["operator"]), value)


def _needs_second_pass(rule: ItemRule) -> bool:
    return (
        rule.required
        or bool(rule.conditions)
        or any(_needs_second_pass(child) for child in rule.children.values())
    )

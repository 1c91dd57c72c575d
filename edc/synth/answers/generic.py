"""Items no instrument generator knows: fixed answers from the profile, known facts, or plausible
values within the item's definition (options, min/max, type), honouring simple enableWhen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from edc.synth import clinical
from edc.synth.latent import PatientState
from edc.synth.rng import Draw
from edc.synth.trajectories import fallback

MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
NOT_ASKED = object()  # a fixed answer of null: the item stays unanswered

# Study-specific items named after a fact of the latent state are answered from it: the
# example studies stratify randomization by these (lesion region, lesion type).
FACTS: Mapping[str, Callable[[PatientState], str]] = {
    "index-region": lambda state: clinical.region(state.index_lesion.level),
    "lesion-type": lambda state: state.index_lesion.kind,
}


@dataclasses.dataclass(frozen=True)
class ItemSpec:
    """One Questionnaire item, as the generators need it."""

    link_id: str
    kind: str
    required: bool
    repeats: bool
    read_only: bool
    options: tuple[str, ...]
    weights: tuple[float | None, ...]  # each option's itemWeight (a KPS option: its value)
    low: float | None
    high: float | None
    enable_when: tuple[Mapping[str, Any], ...]
    any_enables: bool
    children: tuple[ItemSpec, ...]


def specs(items: Any) -> tuple[ItemSpec, ...]:
    """Item specs of a Questionnaire's ``item`` list (recursively)."""
    result = []
    for item in items:
        bounds = {
            e["url"]: e for e in item.get("extension", ()) if e["url"] in (MIN_VALUE, MAX_VALUE)
        }
        result.append(
            ItemSpec(
                link_id=item["linkId"],
                kind=item["type"],
                required=bool(item.get("required")),
                repeats=bool(item.get("repeats")),
                read_only=bool(item.get("readOnly")),
                options=tuple(
                    o["valueCoding"]["code"]
                    for o in item.get("answerOption", ())
                    if "valueCoding" in o
                ),
                weights=tuple(
                    _weight(o) for o in item.get("answerOption", ()) if "valueCoding" in o
                ),
                low=_bound(bounds.get(MIN_VALUE)),
                high=_bound(bounds.get(MAX_VALUE)),
                enable_when=tuple(item.get("enableWhen", ())),
                any_enables=item.get("enableBehavior") == "any",
                children=specs(item.get("item", ())),
            )
        )
    return tuple(result)


def walk(items: tuple[ItemSpec, ...]) -> Iterator[ItemSpec]:
    for item in items:
        yield item
        yield from walk(item.children)


def flat(items: tuple[ItemSpec, ...]) -> Iterator[ItemSpec]:
    """The items answered by linkId in a flat answers mapping: all but those inside a
    repeating group (answered per repetition, under the group's linkId)."""
    for item in items:
        yield item
        if not (item.kind == "group" and item.repeats):
            yield from flat(item.children)


def _weight(option: Mapping[str, Any]) -> float | None:
    extensions = [*option.get("extension", ()), *option.get("valueCoding", {}).get("extension", ())]
    for extension in extensions:
        if extension.get("url") == ITEM_WEIGHT:
            value = extension.get("valueDecimal", extension.get("valueInteger"))
            return float(value) if isinstance(value, int | float) else None
    return None


def nearest_option(item: ItemSpec, value: float) -> str | None:
    """The option whose weight is nearest ``value`` (None when the options have none)."""
    weighted = [
        (abs(w - value), code)
        for code, w in zip(item.options, item.weights, strict=True)
        if w is not None
    ]
    return min(weighted)[1] if weighted else None


def _bound(extension: Mapping[str, Any] | None) -> float | None:
    if extension is None:
        return None
    value = extension.get("valueDecimal", extension.get("valueInteger"))
    return float(value) if isinstance(value, int | float) else None


def enabled(item: ItemSpec, answers: Mapping[str, Any]) -> bool:
    """R4 enableWhen over plain answers (codes as text, numbers, booleans)."""
    if not item.enable_when:
        return True
    results = [_condition(condition, answers) for condition in item.enable_when]
    return any(results) if item.any_enables else all(results)


def _condition(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    actual = answers.get(condition["question"])
    operator = condition["operator"]
    expected = next(v for k, v in condition.items() if k.startswith("answer"))
    if operator == "exists":
        return (actual is not None) == bool(expected)
    if isinstance(expected, Mapping):
        expected = expected.get("code")
    if actual is None:
        return bool(operator == "!=")
    if isinstance(actual, Decimal):
        actual = float(actual)
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
    }
    return bool(comparisons[operator](actual, expected))


def fixed(value: Any, item: ItemSpec, draw: Draw) -> Any:
    """A profile answer (a value, or weights to pick from) as the item's answer."""
    if value is None:
        return NOT_ASKED
    if isinstance(value, Mapping):
        value = draw.pick([(key, float(weight)) for key, weight in value.items()])
    if item.kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if item.kind == "decimal":
        return Decimal(str(value))
    if item.kind == "integer":
        return int(value)
    return [value] if item.repeats else value


def number(item: ItemSpec, value: float) -> int | Decimal:
    """``value`` as the item's answer: rounded for integers, one decimal place otherwise,
    within the item's own min/max."""
    if item.low is not None:
        value = max(value, item.low)
    if item.high is not None:
        value = min(value, item.high)
    return round(value) if item.kind == "integer" else clinical.decimal_1(value)


def settle(
    items: tuple[ItemSpec, ...], answers: dict[str, Any], fill: Callable[[ItemSpec], Any]
) -> None:
    """Make ``answers`` a response a form filler accepts: no answer to an item its enableWhen
    disables (nor to anything inside a disabled group), and an answer to every enabled
    required item (from ``fill``). Repeated until stable, as one answer can enable or disable
    another (bounded: enableWhen chains are short).
    """
    for _ in range(8):
        changed = False
        for item in _enabled_walk(items, answers, enabled_parent=True):
            spec, on = item
            if not on:
                if spec.link_id in answers:
                    del answers[spec.link_id]
                    changed = True
            elif (
                spec.required
                and spec.link_id not in answers
                and not spec.read_only
                and spec.kind not in {"group", "display"}
            ):
                value = fill(spec)
                if value is not None and value is not NOT_ASKED:
                    answers[spec.link_id] = value
                    changed = True
        if not changed:
            return


def _enabled_walk(
    items: tuple[ItemSpec, ...], answers: Mapping[str, Any], *, enabled_parent: bool
) -> Iterator[tuple[ItemSpec, bool]]:
    for item in items:
        on = enabled_parent and enabled(item, answers)
        yield item, on
        if not (item.kind == "group" and item.repeats):
            yield from _enabled_walk(item.children, answers, enabled_parent=on)


def plausible(item: ItemSpec, draw: Draw, day: dt.date, state: PatientState) -> Any:
    """A value fitting the item's definition (None for kinds we leave blank)."""
    fact = FACTS.get(item.link_id)
    if fact is not None and fact(state) in item.options:
        return fact(state)
    if item.kind == "boolean":
        return draw.chance(0.5)
    if item.kind in {"choice", "open-choice"} and item.options:
        code = item.options[draw.integer(0, len(item.options) - 1)]
        return [code] if item.repeats else code
    if item.kind in {"integer", "decimal"}:
        # Without a target: centred in the item's range and tapering towards its ends, as
        # measurements are (a uniform draw put as many subjects at the extremes as mid-range).
        return number(item, fallback(item.low, item.high).at(draw.z()))
    if item.kind == "date":
        return day
    if item.kind in {"string", "text"} and item.required:
        return "synthetic entry"
    return None

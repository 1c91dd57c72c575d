"""Evaluate a Questionnaire's SDC scores (``variable`` + ``calculatedExpression``) on a response.

What a form filler would show, computed with our FHIRPath engine (edc.fhirpath):

* root ``variable`` extensions are evaluated in order, each visible to later ones and to
  every calculatedExpression as ``%name``; ``%resource`` is the response, ``%questionnaire``
  the Questionnaire;
* calculated items are evaluated in Questionnaire order and written into a working copy, so
  one score may read another. Their own answers in the incoming response are outputs, not
  inputs: they are removed first, and passes repeat until nothing changes (SDC re-evaluates
  calculations continuously), so the result does not depend on stale or hand-entered scores.

FHIR decimals are decimal literals, and Python reads JSON numbers as binary floats; with the
R4 model, fhirpathpy reads ``valueDecimal`` elements back as ``Decimal``, so arithmetic on
doses and weights is exact as the FHIRPath spec intends (0.2 x 0.1 = 0.02). A result that
still comes back as a float (``7 / 3`` on integers) is read from its shortest repr.

Variables and calculated items inside repeating groups (evaluated per repetition in SDC) are
not supported: the compiler puts scores at the root.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from edc import errors, fhirpath
from edc.forms.response import json_number

VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
CALCULATED_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
ScoreValue = int | Decimal | None


class ScoreError(errors.BadInputError):
    """A Questionnaire's score cannot be evaluated (bad expression, result of the wrong kind)."""


@dataclasses.dataclass(frozen=True)
class Calculation:
    """One calculated item: where it sits (linkIds of its groups) and its expression."""

    link_id: str
    item_type: str
    expression: str
    path: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ScoreProgram:
    """The variables and calculations of one Questionnaire, read once."""

    questionnaire: Mapping[str, Any]
    variables: tuple[tuple[str, str], ...]
    calculations: tuple[Calculation, ...]
    # (path of a group) -> linkId -> position among its siblings, to insert answers in order.
    positions: Mapping[tuple[str, ...], Mapping[str, int]]
    # Whether any expression names a calculated item (else one pass settles everything).
    chained: bool


def score_program(questionnaire: Mapping[str, Any]) -> ScoreProgram:
    """Read the variables and calculated items of ``questionnaire``.

    :raises ScoreError: for a variable or calculated item the evaluator does not support.
    """
    variables = tuple(
        (ext["valueExpression"]["name"], ext["valueExpression"]["expression"])
        for ext in questionnaire.get("extension", ())
        if ext.get("url") == VARIABLE
    )
    calculations: list[Calculation] = []
    positions: dict[tuple[str, ...], dict[str, int]] = {}
    _collect(questionnaire.get("item", ()), (), False, calculations, positions)
    expressions = [expr for _, expr in variables] + [c.expression for c in calculations]
    chained = any(c.link_id in expr for c in calculations for expr in expressions)
    return ScoreProgram(questionnaire, variables, tuple(calculations), positions, chained)


def _collect(
    items: Any,
    path: tuple[str, ...],
    in_repeating: bool,
    calculations: list[Calculation],
    positions: dict[tuple[str, ...], dict[str, int]],
) -> None:
    positions[path] = {item["linkId"]: index for index, item in enumerate(items)}
    for item in items:
        link_id = item["linkId"]
        for ext in item.get("extension", ()):
            url = ext.get("url")
            if url == VARIABLE:
                raise ScoreError(f"{link_id}: item-level variables are not supported")
            if url != CALCULATED_EXPRESSION:
                continue
            if in_repeating or item.get("repeats"):
                raise ScoreError(f"{link_id}: calculated items that repeat are not supported")
            if item["type"] not in ("integer", "decimal"):
                raise ScoreError(f"{link_id}: calculated {item['type']} items are not supported")
            expression = ext["valueExpression"]["expression"]
            calculations.append(Calculation(link_id, item["type"], expression, path))
        children = item.get("item", ())
        if children:
            repeating = in_repeating or bool(item.get("repeats"))
            _collect(children, (*path, link_id), repeating, calculations, positions)


def evaluate_scores(
    questionnaire: Mapping[str, Any] | ScoreProgram, response: Mapping[str, Any]
) -> dict[str, ScoreValue]:
    """Every calculated item's value (``int`` for integer items, ``Decimal`` for decimal ones,
    None when the expression gives nothing), by linkId.

    :raises ScoreError: when an expression fails or gives more than one value, or a value that
        does not fit its item.
    """
    program = _program(questionnaire)
    working = _copy(response)
    for calc in program.calculations:
        _set_answer(working, program, calc, None)
    results: dict[str, ScoreValue] = {}
    # Each pass settles one more level of scores reading scores; the last one confirms.
    passes = len(program.calculations) + 1 if program.chained else 1
    for _ in range(passes):
        env = _variables(program, working)
        changed = False
        for calc in program.calculations:
            value = _evaluate(calc, working, env)
            if calc.link_id not in results or results[calc.link_id] != value:
                changed = True
            results[calc.link_id] = value
            _set_answer(working, program, calc, value)
        if not changed or not program.chained:
            return results
    raise ScoreError("calculated items depend on each other in a cycle")


def write_scores(
    questionnaire: Mapping[str, Any] | ScoreProgram, response: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of ``response`` with every calculated item answered (or removed when empty).

    :raises ScoreError: as ``evaluate_scores``.
    """
    program = _program(questionnaire)
    scores = evaluate_scores(program, response)
    result: dict[str, Any] = _copy(response)
    for calc in program.calculations:
        value = scores[calc.link_id]
        _set_answer(result, program, calc, None if value is None else json_number(value))
    return result


def _program(questionnaire: Mapping[str, Any] | ScoreProgram) -> ScoreProgram:
    if isinstance(questionnaire, ScoreProgram):
        return questionnaire
    return score_program(questionnaire)


def _variables(program: ScoreProgram, working: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = {"resource": working, "questionnaire": program.questionnaire}
    for name, expression in program.variables:
        env[name] = _run(working, expression, env, f"variable %{name}")
    return env


def _run(working: dict[str, Any], expression: str, env: dict[str, Any], what: str) -> Any:
    try:
        return fhirpath.evaluate(working, expression, env)
    except fhirpath.FhirPathError as exc:
        raise ScoreError(f"{what}: {exc}") from exc


def _evaluate(calc: Calculation, working: dict[str, Any], env: dict[str, Any]) -> ScoreValue:
    result = _run(working, calc.expression, env, calc.link_id)
    if not result:
        return None
    if len(result) > 1:
        raise ScoreError(f"{calc.link_id}: the expression gave {len(result)} values: {result}")
    value = result[0]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ScoreError(f"{calc.link_id}: the expression gave {value!r}, not a number")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if calc.item_type == "decimal":
        return number
    if number != number.to_integral_value():
        raise ScoreError(f"{calc.link_id}: integer item, but the expression gave {number}")
    return int(number)


def _set_answer(
    response: dict[str, Any], program: ScoreProgram, calc: Calculation, value: Any
) -> None:
    """Set (or remove, for None) the answer of ``calc`` in ``response``, creating its groups
    when needed and dropping the ones left empty."""
    items: list[dict[str, Any]] = response.setdefault("item", [])
    trail: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
    for depth, group_id in enumerate(calc.path):
        group = next((i for i in items if i.get("linkId") == group_id), None)
        if group is None:
            group = {"linkId": group_id, "item": []}
            _insert(items, group, program.positions[calc.path[:depth]])
        trail.append((items, group))
        items = group.setdefault("item", [])
    items[:] = [i for i in items if i.get("linkId") != calc.link_id]
    if value is not None:
        key = "valueInteger" if calc.item_type == "integer" else "valueDecimal"
        answer = {"linkId": calc.link_id, "answer": [{key: value}]}
        _insert(items, answer, program.positions[calc.path])
    for container, group in reversed(trail):
        if not group["item"]:
            container.remove(group)
    if not response["item"]:
        del response["item"]


def _insert(items: list[dict[str, Any]], item: dict[str, Any], order: Mapping[str, int]) -> None:
    position = order.get(item["linkId"], len(order))
    index = next(
        (n for n, other in enumerate(items) if order.get(other.get("linkId", ""), -1) > position),
        len(items),
    )
    items.insert(index, item)


def _copy(node: Any) -> Any:
    """Deep copy of JSON data (dicts and lists), much faster than ``copy.deepcopy``."""
    if isinstance(node, dict):
        return {key: _copy(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copy(value) for value in node]
    return node

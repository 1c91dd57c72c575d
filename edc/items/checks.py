"""Checks of form items, variables and scores, shared by protocol forms and library instruments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from functools import partial

from edc import fhirpath
from edc.fhirpath import syntax_cache
from edc.items.model import (
    ANSWERABLE_TYPES,
    CHOICE_TYPES,
    NUMERIC_TYPES,
    EnableWhen,
    Item,
    Score,
    Variable,
)
from edc.located_yaml import Reporter

PathT = tuple[str | int, ...]


def check_items(
    report: Reporter, base: PathT, items: Sequence[Item], known: Mapping[str, Item]
) -> None:
    """Check ``items`` (and their children) found at ``base``; ``known`` maps every linkId of
    the form to its item, for enableWhen references."""
    for index, item in enumerate(items):
        path = (*base, index)
        _check_item(report, path, item, known)
        check_items(report, (*path, "items"), item.items, known)


def _check_item(report: Reporter, path: PathT, item: Item, known: Mapping[str, Item]) -> None:
    if item.type == "group" and not item.items:
        report.add((*path, "items"), "a group needs items")
    if item.type != "group" and item.items:
        report.add((*path, "items"), f"only group items have child items, not {item.type}")
    if item.type in CHOICE_TYPES:
        if not item.options and not item.answer_value_set:
            report.add(path, "a choice item needs options or an answer_value_set")
        codes = [option.code for option in item.options]
        for index, code in enumerate(codes):
            if code in codes[:index]:
                report.add((*path, "options", index, "code"), f"duplicate option code {code!r}")
    elif item.options or item.answer_value_set:
        report.add((*path, "options"), f"only choice items have answer options, not {item.type}")
    _check_bounds(report, path, item)
    if item.type not in ANSWERABLE_TYPES and (item.required or item.unit):
        report.add(
            path, f"a {item.type} item holds no answer: it cannot be required or have a unit"
        )
    for index, condition in enumerate(item.enable_when):
        _check_enable_when(report, (*path, "enable_when", index), item, condition, known)


def _check_bounds(report: Reporter, path: PathT, item: Item) -> None:
    for key in ("min", "max"):
        bound = getattr(item, key)
        if bound is None:
            continue
        if item.type in NUMERIC_TYPES:
            if not isinstance(bound, Decimal):
                report.add((*path, key), f"{key} of a {item.type} item must be a number")
            elif item.type == "integer" and bound != bound.to_integral_value():
                report.add((*path, key), f"{key} of an integer item must be a whole number")
        elif item.type == "date":
            if not isinstance(bound, dt.date):
                report.add((*path, key), f"{key} of a date item must be a date (YYYY-MM-DD)")
        else:
            report.add((*path, key), f"a {item.type} item cannot have a {key}")
    low, high = item.min, item.max
    if type(low) is type(high) and low is not None and high is not None and low > high:  # type: ignore[operator]
        report.add(path, f"min {low} is greater than max {high}")


def _check_enable_when(
    report: Reporter, path: PathT, item: Item, condition: EnableWhen, known: Mapping[str, Item]
) -> None:
    question = known.get(condition.question)
    if question is None:
        report.add((*path, "question"), f"unknown item {condition.question!r}")
        return
    if question.id == item.id:
        report.add((*path, "question"), "an item cannot depend on its own answer")
        return
    answer = condition.answer
    if condition.operator == "exists":
        if not isinstance(answer, bool):
            report.add((*path, "answer"), "the 'exists' operator takes true or false")
        return
    expected = _answer_kind(question)
    if expected is None:
        report.add((*path, "question"), f"item {question.id!r} ({question.type}) has no answer")
    elif not isinstance(answer, expected) or (isinstance(answer, bool) and expected is not bool):
        report.add(
            (*path, "answer"),
            f"{question.id!r} is a {question.type} item; {answer!r} is not a valid answer for it",
        )
    elif question.type in CHOICE_TYPES and question.options:
        if answer not in {option.code for option in question.options}:
            report.add((*path, "answer"), f"{answer!r} is not an option code of {question.id!r}")
    if condition.operator in {">", "<", ">=", "<="} and question.type not in (
        NUMERIC_TYPES | {"date", "dateTime"}
    ):
        report.add(
            (*path, "operator"),
            f"cannot compare a {question.type} answer with {condition.operator}",
        )


def _answer_kind(question: Item) -> type | tuple[type, ...] | None:
    kinds: dict[str, type | tuple[type, ...]] = {
        "boolean": bool,
        "integer": int,
        "decimal": (int, Decimal),
        "date": dt.date,
        "dateTime": dt.date,
        "string": str,
        "text": str,
        "choice": str,
        "open-choice": str,
    }
    return kinds.get(question.type)


def check_expressions(
    report: Reporter,
    base: PathT,
    variables: Sequence[Variable],
    scores: Sequence[Score],
    link_ids: Collection[str] = (),
) -> None:
    """FHIRPath syntax of variables and scores, unique variable names, and (given the form's
    ``link_ids``) that every linkId an expression compares with is in the form."""
    names: list[str] = []
    for index, variable in enumerate(variables):
        path = (*base, "variables", index)
        if variable.name in names:
            report.add((*path, "name"), f"duplicate variable {variable.name!r}")
        _expression(report, (*path, "expression"), variable.expression, names, link_ids)
        names.append(variable.name)
    for index, score in enumerate(scores):
        path = (*base, "scores", index, "expression")
        _expression(report, path, score.expression, names, link_ids)


# SDC: what a form's expressions see besides its own variables.
_FORM_VARIABLES = ("questionnaire", "qitem")


def _expression(
    report: Reporter, path: PathT, expression: str, variables: list[str], link_ids: Collection[str]
) -> None:
    syntax = fhirpath.syntax_problems(expression)
    for problem in syntax:
        report.add(path, problem)
    if not syntax:
        # Only variables defined earlier are visible (SDC evaluates them in order).
        visible = [*variables, *_FORM_VARIABLES]
        unknown = syntax_cache.remembered_clean(
            "variables:" + ",".join(sorted(visible)),
            expression,
            partial(_unknown_variables, expression, visible),
        )
        for name in unknown:
            report.add(path, f"unknown variable %{name} (not defined before this expression)")
        if link_ids:
            for link_id in _linked_ids(expression):
                if link_id not in link_ids:
                    report.add(path, f"linkId {link_id!r} is not an item of this form")


def _unknown_variables(expression: str, visible: list[str]) -> list[str]:
    # Imported here: it loads fhirpathpy, which a check whose results are all remembered
    # (edc.fhirpath.syntax_cache) never needs.
    from edc.fhirpath import names

    return names.unknown_variables(expression, visible)


def _linked_ids(expression: str) -> list[str]:
    from edc.fhirpath import names

    return list(names.linked_ids(expression))

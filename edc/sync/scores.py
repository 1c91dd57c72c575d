"""Calculated scores of a received QuestionnaireResponse, recomputed from its answers.

A form filler computes each score from the Questionnaire's FHIRPath; what arrives is whatever it
(or a person, or a broken renderer) put there. Ingest does not trust it: every calculated item
that has a rule in the instrument library (``edc.library.scoring``, written from the published
scoring rules and independent of the FHIRPath) is recomputed from the answers, and a received
score that differs is a problem of the response, which then stays raw: a wrong score is never
stored as the score. A response that leaves a score out is not a problem (not every renderer
computes scores); calculated items without a library rule (study-defined scores) are not
checked here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from edc.library.answers import AnswerError
from edc.sync.qindex import ItemRule, QuestionnaireIndex


def score_problems(index: QuestionnaireIndex, response: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field path, message)`` for each received score that the answers do not give.

    Call after the response passed ``qcheck.check_response`` (its shape is then known good).
    """
    if not index.scores:
        return []
    received = _received_scores(response, {link_id for link_id, _ in index.scores})
    if not received:
        return []
    answers = _answers(index.items, response.get("item"))
    problems = []
    for link_id, rule in index.scores:
        if link_id not in received:
            continue
        given = received[link_id]
        where = f"QuestionnaireResponse.item.where(linkId='{link_id}')"
        try:
            expected = rule(answers)
        except AnswerError as exc:
            problems.append((where, f"score {link_id}: received {given}, cannot be recomputed "
                             f"from the answers ({exc.message})"))  # fmt: skip
            continue
        if expected is None or given != expected:
            shown = "nothing (the answers give no score)" if expected is None else str(expected)
            problems.append(
                (where, f"score {link_id}: received {given}, recomputed from the answers {shown}")
            )
    return problems


def _received_scores(response: Mapping[str, Any], wanted: set[str]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for item in response.get("item") or ():
        link_id = item.get("linkId")
        if link_id not in wanted:
            continue
        for answer in item.get("answer") or ():
            for key in ("valueDecimal", "valueInteger"):
                value = answer.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    # A JSON number stands for the decimal literal it prints as.
                    found[link_id] = (
                        Decimal(repr(value)) if isinstance(value, float) else (Decimal(value))
                    )
    return found


def _answers(rules: Mapping[str, ItemRule], items: Any) -> dict[str, Any]:
    """The answers in the library's representation (``edc.library.answers``)."""
    answers: dict[str, Any] = {}
    for item in items or ():
        rule = rules.get(item.get("linkId"))
        if rule is None:
            continue
        if rule.type == "group":
            inner = _answers(rule.children, item.get("item"))
            if rule.repeats:
                answers.setdefault(rule.link_id, []).append(inner)
            else:
                answers.update(inner)
            continue
        values = [_plain(answer) for answer in item.get("answer") or ()]
        answers[rule.link_id] = values if rule.repeats else (values[0] if values else None)
        for answer in item.get("answer") or ():
            answers.update(_answers(rule.children, answer.get("item")))
        answers.update(_answers(rule.children, item.get("item")))
    return answers


def _plain(answer: Mapping[str, Any]) -> Any:
    for key, value in answer.items():
        if not key.startswith("value"):
            continue
        if key == "valueCoding":
            return value.get("code")
        if isinstance(value, float):
            return Decimal(repr(value))
        return value
    return None


__all__: Sequence[str] = ["score_problems"]

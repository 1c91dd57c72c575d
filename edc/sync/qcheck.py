"""Check a QuestionnaireResponse against its ``QuestionnaireIndex``; type its answers.

One pass walks the response: every item must be known at its level, every answer must have the
``value[x]`` its item's type takes, lie within bounds and among the permitted codes. A second
pass (only for forms with required or conditional items) evaluates ``enableWhen`` and finds
required answers that are missing and answers given to disabled items.

The result is either typed values in long format (one tuple per answer, in ``VALUE_COLUMNS``
order) or problems (field path, message): a response with any problem is never half-loaded.
Each answer value is checked and typed by ``edc.sync.answers``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from edc.sync.answers import CONVERT, AnswerProblem
from edc.sync.qindex import VALUE_TYPE, Condition, ItemRule, QuestionnaireIndex

# Columns of edc.warehouse.tables.ItemValueRow after response_id, before questionnaire url/version.
VALUE_COLUMNS = (
    "link_id",
    "answer_index",
    "value_type",
    "value_number",
    "value_text",
    "value_code",
    "value_system",
    "value_date",
    "value_datetime",
    "value_bool",
    "unit",
)


@dataclasses.dataclass(slots=True)
class Checked:
    """Typed values (when ``problems`` is empty) and problems as ``(field path, message)``."""

    values: list[tuple[Any, ...]]
    problems: list[tuple[str, str]]


def check_response(index: QuestionnaireIndex, response: Mapping[str, Any]) -> Checked:
    """Check the items of ``response`` (a parsed QuestionnaireResponse) against ``index``."""
    walk = _Walk()
    walk.items(response.get("item"), index.items, "QuestionnaireResponse.item")
    if index.needs_second_pass:
        for rules, present, path, scope in walk.levels:
            walk.enablement(rules, present, path, scope)
    return Checked([] if walk.problems else walk.values, walk.problems)


@dataclasses.dataclass(slots=True)
class _Scope:
    """Answers given within one instance of a repeating group (or the whole response).

    R4 resolves an enableWhen question in the closest enclosing instance: in a repeating group,
    "medd-dose is enabled unless medd-opioid = fentanyl" looks at this entry's opioid only.
    """

    answers: dict[str, list[Any]]
    parent: _Scope | None
    # linkIds defined inside the group: unanswered here means unanswered, not "look outside".
    defines: frozenset[str] = frozenset()


class _Walk:
    def __init__(self) -> None:
        self.values: list[tuple[Any, ...]] = []
        self.problems: list[tuple[str, str]] = []
        self.answers: dict[str, list[Any]] = {}  # linkId -> comparable answers, all scopes
        self.scope = _Scope({}, None)
        self.counters: dict[str, int] = {}
        self.levels: list[tuple[Mapping[str, ItemRule], dict[str, list[Any]], str, _Scope]] = []

    def items(self, items: Any, rules: Mapping[str, ItemRule], path: str) -> None:
        present: dict[str, list[Any]] = {}
        self.levels.append((rules, present, path, self.scope))
        if items is None:
            return
        if not isinstance(items, list):
            self.problems.append((path, "must be a list of items"))
            return
        for position, item in enumerate(items):
            where = f"{path}[{position}]"
            if not isinstance(item, dict):
                self.problems.append((where, "must be an object"))
                continue
            link_id = item.get("linkId")
            rule = rules.get(link_id) if isinstance(link_id, str) else None
            if rule is None or not isinstance(link_id, str):
                self.problems.append((f"{where}.linkId", f"unknown linkId {link_id!r} here"))
                continue
            if link_id in present and not (rule.type == "group" and rule.repeats):
                self.problems.append((where, f"linkId {link_id!r} appears twice"))
            present.setdefault(link_id, []).append(item)
            if rule.type == "group" or rule.type == "display":
                if "answer" in item:
                    self.problems.append((f"{where}.answer", f"a {rule.type} item has no answer"))
                if rule.type == "group":
                    outer = self.scope
                    if rule.repeats:
                        self.scope = _Scope({}, outer, _link_ids(rule.children))
                    self.items(item.get("item"), rule.children, f"{where}.item")
                    self.scope = outer
                continue
            self.item_answers(rule, item, where)

    def item_answers(self, rule: ItemRule, item: Mapping[str, Any], where: str) -> None:
        answers = item.get("answer")
        if answers is None:
            if "item" in item:
                self.items(item["item"], rule.children, f"{where}.item")
            return
        if not isinstance(answers, list):
            self.problems.append((f"{where}.answer", "must be a list"))
            return
        if len(answers) > 1 and not rule.repeats:
            self.problems.append((f"{where}.answer", f"{len(answers)} answers to an item that "
                                  "does not repeat"))  # fmt: skip
        comparable = self.answers.setdefault(rule.link_id, [])
        scoped = self.scope.answers.setdefault(rule.link_id, [])
        for position, answer in enumerate(answers):
            at = f"{where}.answer[{position}]"
            if not isinstance(answer, dict):
                self.problems.append((at, "must be an object"))
                continue
            keys = [key for key in answer if key.startswith("value")]
            if len(keys) != 1 or keys[0] not in rule.answer_keys:
                expected = " or ".join(sorted(rule.answer_keys))
                self.problems.append((at, f"a {rule.type} item takes {expected}, got "
                                      f"{', '.join(keys) or 'no value'}"))  # fmt: skip
                continue
            key = keys[0]
            try:
                row, compare = CONVERT[key](rule, answer[key])
            except AnswerProblem as exc:
                self.problems.append((f"{at}.{key}", str(exc)))
                continue
            index = self.counters.get(rule.link_id, 0)
            self.counters[rule.link_id] = index + 1
            self.values.append((rule.link_id, index, VALUE_TYPE[key], *row))
            comparable.append(compare)
            scoped.append(compare)
            if "item" in answer:
                self.items(answer["item"], rule.children, f"{at}.item")

    def enablement(
        self,
        rules: Mapping[str, ItemRule],
        present: dict[str, list[Any]],
        path: str,
        scope: _Scope,
    ) -> None:
        for rule in rules.values():
            enabled = self.enabled(rule, scope)
            given = present.get(rule.link_id)
            answered = given is not None and any(
                item.get("answer") or item.get("item") for item in given
            )
            where = f"{path}.where(linkId='{rule.link_id}')"
            if not enabled and answered:
                self.problems.append((where, "answered, but its enableWhen disables it"))
            elif enabled and rule.required and not answered:
                self.problems.append((where, "required, but has no answer"))

    def enabled(self, rule: ItemRule, scope: _Scope) -> bool:
        if not rule.conditions:
            return True
        results = (self.holds(condition, scope) for condition in rule.conditions)
        return any(results) if rule.enable_any else all(results)

    def holds(self, condition: Condition, scope: _Scope) -> bool:
        answers = self._answers_of(condition.question, scope)
        if condition.operator == "exists":
            return bool(answers) == bool(condition.value)
        if condition.operator == "!=":
            # R4 Questionnaire.item.enableWhen.operator: "!=" is true when *no* answer equals
            # the value, so it holds for an unanswered question too.
            return not any(_compare(answer, "=", condition.value) for answer in answers)
        return any(_compare(answer, condition.operator, condition.value) for answer in answers)

    def _answers_of(self, link_id: str, scope: _Scope) -> list[Any]:
        """The question's answers in the closest scope that has it (else anywhere)."""
        current: _Scope | None = scope
        while current is not None:
            if link_id in current.answers or link_id in current.defines:
                return current.answers.get(link_id, [])
            current = current.parent
        return self.answers.get(link_id, [])


def _link_ids(rules: Mapping[str, ItemRule]) -> frozenset[str]:
    found: set[str] = set()
    for link_id, rule in rules.items():
        found.add(link_id)
        found |= _link_ids(rule.children)
    return frozenset(found)


def _compare(answer: Any, operator: str, expected: Any) -> bool:
    if isinstance(expected, tuple) and isinstance(answer, tuple):
        # A coding matches on code, and on system when the condition names one.
        same = answer[1] == expected[1] and (not expected[0] or answer[0] == expected[0])
        return same if operator == "=" else not same if operator == "!=" else False
    try:
        if operator == "=":
            return bool(answer == expected)
        if operator == "!=":
            return bool(answer != expected)
        if operator == ">":
            return bool(answer > expected)
        if operator == "<":
            return bool(answer < expected)
        if operator == ">=":
            return bool(answer >= expected)
        if operator == "<=":
            return bool(answer <= expected)
    except TypeError:
        return False
    return False

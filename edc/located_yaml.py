"""User-authored YAML read with the place of every value, so errors can name file:line.

PyYAML's composer gives each node its start mark; we build plain Python data from the nodes
ourselves and keep a map from data path (keys and list indexes) to 1-based line numbers.
Duplicate keys, which PyYAML would silently overwrite, are reported as problems.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from edc import errors

Path = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML data plus the line of every value in it."""

    name: str
    data: Any
    lines: Mapping[Path, int]

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of ``path``, or of its nearest ancestor that was written in the file."""
        key = tuple(path)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def where(self, path: Sequence[str | int]) -> str:
        return f"{self.name}:{self.line_of(path)}"

    def problem(self, path: Sequence[str | int], message: str) -> errors.Problem:
        return errors.Problem(self.where(path), format_path(path), message)


def format_path(path: Sequence[str | int]) -> str:
    """``("arms", 1, "id")`` -> ``arms[1].id``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_yaml(text: str, name: str) -> YamlDocument:
    """Parse one YAML document.

    :param text: the YAML source.
    :param name: how to name the file in messages.
    :raises errors.ProblemsError: on a syntax error, an empty document or duplicate keys.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = errors.Problem(f"{name}:{line}", "", f"invalid YAML: {exc.problem or exc}")
        raise errors.ProblemsError(f"{name} is not valid YAML", [problem]) from None
    if root is None:
        raise errors.ProblemsError(
            f"{name} is empty", [errors.Problem(f"{name}:1", "", "the file holds no YAML document")]
        )
    builder = _Builder(name)
    data = builder.build(root, ())
    if builder.problems:
        raise errors.ProblemsError(f"{name} has duplicate keys", builder.problems)
    return YamlDocument(name=name, data=data, lines=builder.lines)


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[Path, int] = {}
        self.problems: list[errors.Problem] = []
        self._constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self._constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int):
                    key = str(key)
                child = (*path, key)
                if key in result:
                    self.problems.append(
                        errors.Problem(
                            f"{self.name}:{key_node.start_mark.line + 1}",
                            format_path(child),
                            "duplicate key (an earlier value would be silently replaced)",
                        )
                    )
                self.lines[child] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)


_MESSAGES = {
    "extra_forbidden": "unknown key (not part of the format; check the spelling)",
    "missing": "missing required key",
}


def validation_problems(document: YamlDocument, exc: ValidationError) -> list[errors.Problem]:
    """Turn pydantic's errors into located problems (one per field, union branches merged)."""
    merged: dict[Path, list[str]] = {}
    for error in exc.errors(include_url=False):
        path = _data_path(document.data, error["loc"], missing=error["type"] == "missing")
        message = _MESSAGES.get(error["type"], error["msg"])
        if error["type"] not in _MESSAGES and "input" in error and _is_scalar(error["input"]):
            message = f"{message} (got {error['input']!r})"
        messages = merged.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    return [document.problem(path, "; ".join(msgs)) for path, msgs in merged.items()]


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _data_path(data: Any, loc: Sequence[str | int], *, missing: bool) -> Path:
    """The part of a pydantic ``loc`` that exists in the data (drops union-branch names)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            if missing and isinstance(node, dict):
                path.append(part)
            break
        path.append(part)
    return tuple(path)


class Reporter:
    """Collects located problems while checks walk a parsed document."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.problems: list[errors.Problem] = []

    def add(self, path: Sequence[str | int], message: str) -> None:
        self.problems.append(self.document.problem(path, message))

    def duplicates(self, base: Sequence[str | int], ids: Iterable[str], what: str) -> None:
        """Report every id seen before at ``base[index].id``."""
        seen: set[str] = set()
        for index, item_id in enumerate(ids):
            if item_id in seen:
                self.add((*base, index, "id"), f"duplicate {what} id {item_id!r}")
            seen.add(item_id)

"""User-authored YAML read with the place of every value, so errors can name file:line.

PyYAML's composer gives each node its start mark; we build plain Python data from the nodes
ourselves and keep a map from data path (keys and list indexes) to 1-based line numbers.
Duplicate keys, which PyYAML would silently overwrite, are reported as problems.

The files come from people we do not control, so reading them is bounded: at most
``MAX_BYTES`` are read (``/dev/zero`` is refused, not read until memory runs out), nesting is
checked on the event stream before anything recursive runs (5,000 brackets would overflow
Python's stack), and the size of the data once aliases and merge keys are expanded is computed on
the node graph, shared nodes counted once per use but visited once, before any of it is built (a
500-byte "billion laughs" file would expand to gigabytes). Every refusal, and every value PyYAML
cannot construct (``2027-02-30``, a NUL character, an unknown tag), is a located problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path as FilePath
from typing import Any

import yaml
from pydantic import ValidationError

from edc import errors, yaml_mistakes

Path = tuple[str | int, ...]

# Far above any real protocol, profile or instrument (the largest example is about 30 KB,
# 2,000 values, 8 levels deep), far below what would take edc more than a second or two.
MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_VALUES = 200_000
# libyaml's parser when PyYAML was built with it (the wheels are): about ten times faster than
# the pure-Python one on large input, which keeps the worst case within a couple of seconds.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML data plus the line of every value in it."""

    name: str
    data: Any
    lines: Mapping[Path, int]
    # Bare keys in flow mappings that are most likely the rest of a value cut at a comma.
    comma_splits: Mapping[Path, yaml_mistakes.CommaSplit] = dataclasses.field(default_factory=dict)

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


def read_text(path: FilePath, what: str = "file") -> str:
    """The text of a YAML file of at most ``MAX_BYTES``, UTF-8 encoded (parse it with
    :func:`parse_yaml`).

    :param what: how to name the file in messages ("protocol file").
    :raises errors.BadInputError: when it cannot be read.
    :raises errors.ProblemsError: when it is too large or not UTF-8, with file:line.
    """
    name = str(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise errors.BadInputError(f"{what} not found: {name}") from None
    except OSError as exc:
        raise errors.BadInputError(f"cannot read {what} {name}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise _refused(name, 1, f"larger than {MAX_BYTES:,} bytes; a {what} is far smaller")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _refused(name, line, f"not UTF-8 text (byte {raw[exc.start]:#04x})") from None
    return text


def parse_yaml(text: str, name: str) -> YamlDocument:
    """Parse one YAML document, within the limits above.

    :param text: the YAML source.
    :param name: how to name the file in messages.
    :raises errors.ProblemsError: on a syntax error, a character YAML forbids (NUL), an empty
        document, duplicate keys, a value that cannot be constructed (an invalid date, an
        unknown tag), or a document that is too large, too deep or expands too much.
    """
    if len(text) > MAX_BYTES:
        raise _refused(name, 1, f"larger than {MAX_BYTES:,} characters")
    try:
        _check_size(text, name)
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        if yaml_mistakes.is_colon_in_value_error(exc.problem):
            _raise_colons_in_values(text, name, line)
        raise _refused(name, line, f"invalid YAML: {exc.problem or exc}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL
        # libyaml counts the position in UTF-8 bytes, PyYAML's own reader in characters.
        if _LOADER is yaml.SafeLoader:
            line = text.count("\n", 0, exc.position) + 1
        else:
            line = text.encode().count(b"\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise _refused(name, line, f"invalid YAML: character U+{code:04X} is not allowed") from None
    if root is None:
        raise errors.ProblemsError(
            f"{name} is empty", [errors.Problem(f"{name}:1", "", "the file holds no YAML document")]
        )
    _check_expansion(root, name)
    builder = _Builder(name)
    data = builder.build(root, ())
    if builder.problems:
        raise errors.ProblemsError(f"{name}: {len(builder.problems)} problem(s)", builder.problems)
    return YamlDocument(
        name=name, data=data, lines=builder.lines, comma_splits=builder.comma_splits
    )


def _raise_colons_in_values(text: str, name: str, parser_line: int) -> None:
    """Report every ``key: text: more`` line at once (the parser stops at the first)."""
    found = yaml_mistakes.colons_in_values(text)
    if not any(colon.line == parser_line for colon in found):
        return  # not the mistake we know: the parser's own message is the better one
    problems = [errors.Problem(f"{name}:{c.line}", c.key, c.message()) for c in found]
    raise errors.ProblemsError(f"{name}: {len(problems)} problem(s)", problems) from None


def _refused(name: str, line: int, message: str) -> errors.ProblemsError:
    problem = errors.Problem(f"{name}:{line}", "", message)
    return errors.ProblemsError(f"{name}: {message}", [problem])


def _check_size(text: str, name: str) -> None:
    # The event parser is iterative; PyYAML's composer (and our builder) recurse per level.
    depth = events = 0
    for event in yaml.parse(text, Loader=_LOADER):
        events += 1
        if events > MAX_VALUES:
            line = event.start_mark.line + 1 if event.start_mark else 1
            raise _refused(name, line, f"holds more than {MAX_VALUES:,} values")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise _refused(name, line, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Refuse a node graph that expands too much or too deep, or that refers to itself.

    Sizes and depths are computed bottom-up, each distinct node once (an iterative walk:
    aliases can make the graph far deeper than the text looks), so the check costs the file's
    size, not the expanded size.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            total = 1 + sum(sizes[id(child)] for child in children)
            depth = 1 + max((depths[id(child)] for child in children), default=0)
            line = node.start_mark.line + 1
            if total > MAX_VALUES:
                message = f"expands to more than {MAX_VALUES:,} values (aliases or merge keys)"
                raise _refused(name, line, message)
            if depth > MAX_DEPTH + 1:  # + 1: scalars count as a level here, not in events
                raise _refused(name, line, f"aliases nest more than {MAX_DEPTH} levels deep")
            sizes[key], depths[key] = total, depth
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _refused(name, node.start_mark.line + 1, "an alias refers to its own anchor")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[Path, int] = {}
        self.problems: list[errors.Problem] = []
        self.comma_splits: dict[Path, yaml_mistakes.CommaSplit] = {}
        self._constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            return self._unconstructable(node, path, f"unsupported tag {node.tag}")
        if isinstance(node, yaml.MappingNode):
            try:
                self._constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
            except yaml.MarkedYAMLError as exc:
                return self._unconstructable(node, path, exc.problem or str(exc))
            result: dict[Any, Any] = {}
            splits = yaml_mistakes.comma_splits(node)
            for index, (key_node, value_node) in enumerate(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    self._problem(key_node, path, "a key must be a plain value, not a list or map")
                    continue
                key = self._scalar(key_node, path)
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
                if index in splits:
                    self.comma_splits[child] = splits[index]
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:  # an unknown or unsafe tag (!!python/object, ...)
            return self._unconstructable(node, path, exc.problem or str(exc))
        except (ValueError, OverflowError) as exc:  # 2027-02-30, a 5,000-digit integer, ...
            shown = repr(node.value) if len(node.value) <= 40 else repr(node.value[:40]) + "..."
            return self._unconstructable(node, path, f"{shown} is not a valid value ({exc})")

    def _unconstructable(self, node: yaml.Node, path: Path, message: str) -> None:
        self._problem(node, path, message)
        return None

    def _problem(self, node: yaml.Node, path: Path, message: str) -> None:
        where = f"{self.name}:{node.start_mark.line + 1}"
        self.problems.append(errors.Problem(where, format_path(path), message))


_MESSAGES = {
    "extra_forbidden": "unknown key (not part of the format; check the spelling)",
    "missing": "missing required key",
}


def validation_problems(document: YamlDocument, exc: ValidationError) -> list[errors.Problem]:
    """Turn pydantic's errors into located problems (one per field, union branches merged)."""
    merged: dict[Path, list[str]] = {}
    all_errors = exc.errors(include_url=False)
    for error in all_errors:
        if error["type"] == "too_short" and _has_inner_error(error["loc"], all_errors):
            continue  # pydantic counts the items left after dropping the invalid ones
        path = _data_path(document.data, error["loc"], missing=error["type"] == "missing")
        message = _MESSAGES.get(error["type"], error["msg"])
        split = document.comma_splits.get(path)
        if split is not None and error["type"] == "extra_forbidden":
            message = split.message(str(path[-1]))
        if error["type"] not in _MESSAGES and "input" in error and _is_scalar(error["input"]):
            message = f"{message} (got {error['input']!r})"
        messages = merged.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    return [document.problem(path, "; ".join(msgs)) for path, msgs in merged.items()]


def _has_inner_error(loc: Sequence[str | int], all_errors: Sequence[Any]) -> bool:
    depth = len(loc)
    return any(
        len(other["loc"]) > depth and tuple(other["loc"][:depth]) == tuple(loc)
        for other in all_errors
    )


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

"""The YAML mistakes people make when writing protocols by hand, explained in their terms.

Two are common enough to recognize, because what YAML reports for them sends the author looking
in the wrong place:

* **A comma inside an unquoted value in a flow mapping**: ``{id: A, text: Pain, worst}`` is a
  mapping with a key ``worst`` (and no value), so the format reports an unknown key ``worst``
  and suggests checking its spelling. The value has to be quoted.
* **``: `` inside an unquoted text value**: ``text: Consent: written`` is not valid YAML
  ("mapping values are not allowed here"), and the parser stops at the first one, so a file
  with five such lines takes five rounds to fix. The lines are found by a scan of the text and
  reported all at once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import yaml


@dataclasses.dataclass(frozen=True)
class CommaSplit:
    """A bare key in a flow mapping that was most likely the rest of the value before it."""

    value_key: str  # the key whose value the comma cut short
    whole_value: str  # what the author meant: "<value before the comma>, <the bare key>"

    def message(self, bare_key: str) -> str:
        return (
            f"unknown key {bare_key!r}: a comma ends an unquoted value inside {{...}}, so "
            f"{bare_key!r} was read as a key; quote the value: "
            f'{self.value_key}: "{self.whole_value}"'
        )


def comma_splits(node: yaml.MappingNode) -> dict[int, CommaSplit]:
    """For a flow mapping, the indexes of its pairs that are a comma-split value's remainder.

    A pair is one when its key is plain text with nothing after it (no ``:``, no value) and the
    pair before it has a plain text value, as in ``{text: Pain, worst}``.
    """
    found: dict[int, CommaSplit] = {}
    if not node.flow_style:
        return found
    pairs: Sequence[tuple[yaml.Node, yaml.Node]] = node.value
    for index in range(1, len(pairs)):
        key, value = pairs[index]
        before_key, before_value = pairs[index - 1]
        if (
            isinstance(key, yaml.ScalarNode)
            and not key.style  # plain: None (PyYAML) or "" (libyaml)
            and isinstance(value, yaml.ScalarNode)
            and value.value == ""
            and value.start_mark.index == value.end_mark.index  # nothing written at all
            and isinstance(before_key, yaml.ScalarNode)
            and isinstance(before_value, yaml.ScalarNode)
            and not before_value.style
            and before_value.value != ""
        ):
            found[index] = CommaSplit(str(before_key.value), f"{before_value.value}, {key.value}")
    return found


def is_colon_in_value_error(problem: str | None) -> bool:
    """Whether a YAML parser error is the one ``key: text: more`` gives (PyYAML or libyaml)."""
    return bool(problem) and "mapping values are not allowed" in str(problem)


# ``key: value`` on one line, the value plain (not quoted, not a block or flow collection, not
# an alias, anchor or tag), optionally as a list item.
_PLAIN_PAIR = re.compile(
    r"^(?P<indent>\s*(?:-\s+)?)(?P<key>[^\s#'\"{}\[\],&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?)"
    r":\s+(?P<value>[^\s'\"|>{\[&*!%@`#].*)$"
)


@dataclasses.dataclass(frozen=True)
class ColonInValue:
    line: int  # 1-based
    key: str
    value: str

    def message(self) -> str:
        quoted = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return (
            "unquoted text contains ': ', which YAML reads as the start of another key; quote "
            f'the value: {self.key}: "{quoted}"'
        )


def colons_in_values(text: str) -> list[ColonInValue]:
    """Every line ``key: text`` whose unquoted text holds ``: `` (or ends with ``:``)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _PLAIN_PAIR.match(line)
        if match is None:
            continue
        value = match["value"]
        comment = value.find(" #")
        if comment >= 0:
            value = value[:comment]
        value = value.rstrip()
        if ": " in value or value.endswith(":"):
            found.append(ColonInValue(number, match["key"].strip(), value))
    return found

"""Which resources, values and dates decided an expression over a patient's record.

A criterion reads the record through chains such as
``entry.resource.ofType(Observation).where(<filters>).value.value`` or ``%patient.birthDate``.
Each such chain splits in two at the point where it stops selecting whole resources:

* the *selection* - from the root up to the last ``resource``/``ofType``/``where``/``first``...
  link (for ``%patient``, the Patient itself): the resources the criterion looked at after its
  own filters (codes, time windows) were applied;
* the *value path* - the member navigation that follows (``value.value``, ``birthDate``), up to
  the first function that summarizes (``count()``, ``exists()``, ``aggregate(...)``).

The evidence of an evaluation is every resource the selections return, each with the value its
value path reads (or, without one, the resource's own ``value[x]``) and its clinical date. This
reads the protocol's own expressions, so it works for any protocol written in the record form
the criteria are specified in (mapping guide 4.1), not only the examples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from edc.fhirpath import tree

RECORD_ROOTS = frozenset({"entry"})
RESOURCE_ROOTS = frozenset({"%patient"})
# Functions after which a collection of resources is still a collection of those resources.
SELECTING = frozenset(
    {"ofType", "where", "first", "last", "tail", "take", "skip", "single", "distinct"}
)
# Functions a value path may pass through (they pick among values without summarizing them).
PICKING = frozenset({"ofType", "where", "first", "last", "single"})
# Where a resource keeps the date that matters clinically, in order of preference.
DATE_ELEMENTS = (
    "effectiveDateTime",
    "effectiveInstant",
    "effectivePeriod",
    "issued",
    "onsetDateTime",
    "onsetPeriod",
    "performedDateTime",
    "performedPeriod",
    "occurrenceDateTime",
    "authoredOn",
    "recordedDate",
    "dateTime",
    "date",
)
MAX_ITEMS = 20  # evidence items kept per criterion (newest first)

Compile = Callable[[str], Callable[..., list[Any]]]


@dataclasses.dataclass(frozen=True)
class Evidence:
    """One resource that took part in a decision.

    :ivar reference: ``Observation/abc/_history/2`` (no ``_history`` without a version).
    :ivar what: what the resource is (its code's display or text, or the element read).
    :ivar value: the value read from it, as text (a unit follows a quantity).
    :ivar date: its clinical date (``YYYY-MM-DD``), when it has one.
    """

    reference: str
    what: str
    value: str | None
    date: str | None

    def __str__(self) -> str:
        parts = [self.reference, self.what]
        if self.value is not None:
            parts.append(self.value)
        if self.date:
            parts.append(f"on {self.date}")
        return " ".join(part for part in parts if part)

    def as_json(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            str(data["reference"]),
            str(data.get("what") or ""),
            data.get("value"),
            data.get("date"),
        )


@dataclasses.dataclass(frozen=True)
class _Selection:
    select: Callable[..., list[Any]]
    value_path: Callable[..., list[Any]] | None
    value_name: str | None


class EvidenceReader:
    """The selections of one expression, compiled once."""

    def __init__(self, text: str, compile_fn: Compile) -> None:
        self._selections: list[_Selection] = []
        seen: set[tuple[str, str]] = set()
        for chain in tree.chains(tree.parse(text)):
            split = _split(text, chain)
            if split is None or split in seen:
                continue
            seen.add(split)
            selection, value_path = split
            self._selections.append(
                _Selection(
                    compile_fn(selection),
                    compile_fn(value_path) if value_path else None,
                    value_path.rsplit(".", 1)[-1] if value_path else None,
                )
            )

    def read(self, record: Mapping[str, Any], variables: Mapping[str, Any]) -> list[Evidence]:
        """The evidence in ``record`` (evaluation errors give no evidence, never an exception)."""
        found: dict[str, Evidence] = {}
        for selection in self._selections:
            try:
                selected = selection.select(record, dict(variables))
            except Exception:
                selected = []
            for resource in selected:
                if isinstance(resource, dict) and "resourceType" in resource:
                    item = _describe(resource, selection)
                    found.setdefault(item.reference, item)
        ordered = sorted(found.values(), key=lambda e: (e.date or "", e.reference), reverse=True)
        return ordered[:MAX_ITEMS]


def _split(text: str, chain: tree.Chain) -> tuple[str, str] | None:
    """(selection text, value path text) of a chain rooted at the record, else None."""
    name = chain.root_name
    links = chain.links
    if name in RESOURCE_ROOTS:
        start = 0
    elif name in RECORD_ROOTS:
        at = next((i for i, link in enumerate(links) if tree.member_name(link) == "resource"), None)
        if at is None:
            return None
        start = at + 1
    else:
        return None
    end = start
    while end < len(links) and tree.function_name(links[end]) in SELECTING:
        end += 1
    root_start = tree.span(chain.root)[0]
    selection = (
        text[root_start : tree.span(chain.ends[end - 1])[1] + 1]
        if end
        else (tree.text_of(text, chain.root))
    )
    stop = end
    while stop < len(links) and (
        tree.member_name(links[stop]) is not None or tree.function_name(links[stop]) in PICKING
    ):
        stop += 1
    value_path = ""
    if stop > end:
        value_path = text[tree.span(links[end])[0] : tree.span(chain.ends[stop - 1])[1] + 1]
    return selection, value_path


def _describe(resource: Mapping[str, Any], selection: _Selection) -> Evidence:
    kind = str(resource["resourceType"])
    reference = f"{kind}/{resource.get('id', '?')}"
    version = (resource.get("meta") or {}).get("versionId")
    if version:
        reference += f"/_history/{version}"
    value = None
    if selection.value_path is not None:
        try:
            values = selection.value_path(resource, {})
        except Exception:
            values = []
        value = _format_values(values, resource)
    if value is None:
        value = _own_value(resource)
    what = _what(resource) or selection.value_name or kind
    return Evidence(reference, what, value, _date(resource))


def _format_values(values: Sequence[Any], resource: Mapping[str, Any]) -> str | None:
    shown = [_format(value) for value in values]
    shown = [text for text in shown if text]
    if not shown:
        return None
    unit = _unit(resource)
    joined = ", ".join(shown[:5]) + (", ..." if len(shown) > 5 else "")
    numeric = all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values)
    return f"{joined} {unit}" if unit and numeric else joined


def _format(value: Any) -> str:
    if isinstance(value, Mapping):
        if "value" in value:
            unit = value.get("unit") or value.get("code")
            return f"{value['value']} {unit}".strip() if unit else str(value["value"])
        codings = value.get("coding")
        if isinstance(codings, list) and codings:
            return ", ".join(str(c.get("code")) for c in codings if isinstance(c, Mapping))
        return str(value.get("code") or value.get("display") or value.get("text") or "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _own_value(resource: Mapping[str, Any]) -> str | None:
    for key, value in resource.items():
        if key.startswith("value") and len(key) > 5 and key[5].isupper():
            return _format(value)
    components = resource.get("component")
    if isinstance(components, list):
        parts = []
        for component in components[:6]:
            if not isinstance(component, Mapping):
                continue
            label = _what(component) or "component"
            own = _own_value(component)
            if own is not None:
                parts.append(f"{label}={own}")
        return "; ".join(parts) or None
    return None


def _what(element: Mapping[str, Any]) -> str | None:
    for key in ("code", "medicationCodeableConcept"):
        concept = element.get(key)
        if isinstance(concept, Mapping):
            codings = [c for c in concept.get("coding") or () if isinstance(c, Mapping)]
            for coding in codings:
                if coding.get("display"):
                    return str(coding["display"])
            if concept.get("text"):
                return str(concept["text"])
            if codings and codings[0].get("code"):
                return str(codings[0]["code"])
    return None


def _unit(resource: Mapping[str, Any]) -> str | None:
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, Mapping):
        unit = quantity.get("unit") or quantity.get("code")
        return str(unit) if unit else None
    return None


def _date(resource: Mapping[str, Any]) -> str | None:
    for key in DATE_ELEMENTS:
        value = resource.get(key)
        if isinstance(value, Mapping):
            value = value.get("start") or value.get("end")
        if isinstance(value, str) and value:
            return value[:10]
    return None


__all__ = ["Evidence", "EvidenceReader"]

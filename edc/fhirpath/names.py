"""Names a FHIRPath expression relies on: ``%variables`` and FHIR elements (``edc protocol
check``, issue 12 item 8).

An unknown ``%variable`` or an element that the resource type does not have is not a syntax
error, and FHIRPath evaluates both to an empty collection: a criterion that names
``%screening_date`` or ``Observation.valu`` is silently "unknown" for every patient. These
checks find them before the protocol is used.

Element checking follows invocation chains whose type is known: from ``%patient`` (a Patient)
and after ``ofType(<Resource>)``, through member names and the functions that keep the type
(``where``, ``first``...). It stops, without a complaint, at anything it cannot type (choice
elements such as ``value``, other functions): it reports only names that surely do not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from fhirpathpy.models import models

from edc.fhirpath import tree

# Environment variables every FHIRPath engine provides (FHIRPath §"Environment variables").
BUILT_IN = frozenset({"resource", "rootResource", "context", "ucum", "sct", "loinc"})
# Functions after which the collection keeps its type.
_SAME_TYPE = frozenset(
    {"where", "first", "last", "single", "tail", "skip", "take", "distinct", "intersect"}
)


def unknown_variables(text: str, known: Iterable[str]) -> list[str]:
    """``%names`` in ``text`` that are neither in ``known`` nor built in (in order, once)."""
    allowed = BUILT_IN | set(known)
    found: list[str] = []
    for node in tree.walk(tree.parse(text)):
        if isinstance(node, tree.P.ExternalConstantContext):
            name = node.getText()[1:].strip("`'\"")
            if not name.startswith("vs-") and name not in allowed and name not in found:
                found.append(name)
    return found


@functools.cache
def _model() -> tuple[Mapping[str, str], frozenset[str], Mapping[str, list[str]]]:
    r4 = models["r4"]
    paths = r4["path2Type"]
    # Backbone elements have no entry of their own, only their children do.
    prefixes = frozenset(
        ".".join(key.split(".")[:n]) for key in paths for n in range(2, key.count(".") + 1)
    )
    return paths, prefixes, r4["choiceTypePaths"]


def missing_elements(text: str, roots: Mapping[str, str]) -> list[str]:
    """Element names that the type reached at that point does not have, as
    ``"'valu' is not an element of Observation"``. ``roots`` types ``%variables``
    (``{"%patient": "Patient"}``)."""
    paths, prefixes, choices = _model()
    problems: list[str] = []
    for chain in tree.chains(tree.parse(text)):
        path = roots.get(chain.root_name or "")
        for link in chain.links:
            function = tree.function_name(link)
            if function == "ofType":
                (argument,) = tree.params(link) or [None]
                name = argument.getText() if argument is not None else ""
                path = name if f"{name}.id" in paths else None
                continue
            if path is None:
                continue
            if function is not None:
                if function not in _SAME_TYPE:
                    path = None
                continue
            member = tree.member_name(link)
            candidate = f"{path}.{member}"
            if candidate in choices:
                path = None  # value[x]: the type depends on the data
            elif candidate in prefixes:
                path = candidate  # a backbone element
            elif candidate in paths:
                kind = paths[candidate]
                path = None if kind.startswith("System.") or kind[:1].islower() else kind
            else:
                problems.append(f"{member!r} is not an element of {path}")
                path = None
    return problems


def linked_ids(text: str) -> list[str]:
    """The linkIds an expression names: the string compared with ``linkId`` (``linkId = 'x'``)
    or listed after ``linkId in (...)`` (in order, once)."""
    found: list[str] = []
    for node in tree.walk(tree.parse(text)):
        if isinstance(node, tree.P.EqualityExpressionContext | tree.P.MembershipExpressionContext):
            left_side, right_side = node.expression(0), node.expression(1)
            if left_side.getText() == "linkId":
                strings = right_side
            elif right_side.getText() == "linkId" and isinstance(
                node, tree.P.EqualityExpressionContext
            ):
                strings = left_side
            else:
                continue
            for leaf in tree.walk(strings):
                if isinstance(leaf, tree.P.StringLiteralContext):
                    value = leaf.getText()[1:-1]
                    if value not in found:
                        found.append(value)
    return found

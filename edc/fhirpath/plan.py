"""Expressions rewritten for speed without changing their meaning, and dates compared as dates.

Screening runs every criterion over every patient of a hospital. In fhirpathpy almost all of
that time goes into ``where()`` filters over the patient's resources, e.g.
``entry.resource.ofType(Observation).where(code.coding.exists(system = 'http://loinc.org' and
code = '777-3') and effective.toDate() >= %screeningDate.toDate() - 30 days)``, which test every
Observation against every criterion. Two rewrites cut that down, each exact:

* ``where(A and B)`` becomes ``where(A).where(B)``: ``where`` keeps an item only when its
  criterion is true, and ``A and B`` is true exactly when both are, so the two filters keep the
  same items in the same order; ``B`` then runs only on the items ``A`` kept. (Not done when the
  criterion uses ``$index``, whose value depends on the collection filtered.)
* A conjunct over resources (the filter follows ``ofType``) that reads only elements of the
  resource itself - no ``%variable``, no ``$this``, ``$index`` or ``$total`` of the outer scope,
  no ``today()``, ``now()`` or ``resolve()`` - depends on nothing but those elements: its value is
  memoized, keyed by the resource type and the canonical JSON of the elements it reads (for the
  coded filter above, ``code``, which thousands of patients' Observations share).

* At the top of an expression (not inside an iterating function's argument),
  ``entry.resource.ofType(T).where(<memoizable conjuncts> and <others>)`` becomes
  ``%_edcSelN.where(<others>)``: the record's resources of type T that pass the memoizable
  conjuncts, worked out once per record for every expression (``Planner.prepare``) in plain
  Python over the memo tables, instead of fhirpathpy walking every entry for every criterion.
  ``ofType`` of a resource type matches the resources of that type (FHIR resources have no
  subtypes); the order of the entries is kept.

``toDate()`` here truncates a dateTime to its date (the date as recorded, in the resource's own
offset): fhirpathpy 2.2.4 keeps the time, so ``effective.toDate() >= %screeningDate.toDate() -
14 days`` was empty - "unknown" - for a fact dated exactly 14 days before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from fhirpathpy.engine import nodes

from edc.fhirpath import tree
from edc.fhirpath.tree import P

# Functions whose arguments are evaluated once per input item (a new $this).
ITERATING = frozenset({"where", "select", "exists", "all", "repeat", "aggregate", "any"})
# Functions whose value depends on something other than their input and arguments.
IMPURE = frozenset({"today", "now", "resolve", "trace", "children", "descendants", "extension"})
MEMO_FUNCTION = "_edcMemo"
SELECTION = "_edcSel"
_MEMO_LIMIT = 100_000  # entries per memoized conjunct before its cache is cleared
_SCOPE_VARIABLES = (P.ThisInvocationContext, P.IndexInvocationContext, P.TotalInvocationContext)


def to_date(values: list[Any]) -> list[Any]:
    """FHIRPath ``toDate()`` comparing as dates: a dateTime's date part, a date as it is.

    :raises Exception: for a collection of more than one item (as fhirpathpy does).
    """
    if len(values) > 1:
        raise Exception(f"toDate() on a collection of {len(values)} items")
    if not values:
        return []
    text = values[0] if isinstance(values[0], str) else str(values[0])
    day = nodes.FP_DateTime(text[:10])  # type: ignore[no-untyped-call]
    return [day] if day else []


class Planner:
    """Rewrites expressions and owns the memo tables their rewritten forms call.

    One planner serves a set of expressions (a protocol's criteria) so that a conjunct shared
    by several criteria shares its memo.
    """

    def __init__(self, compile_fn: Callable[[str], Callable[..., list[Any]]]) -> None:
        self._compile = compile_fn
        self._index: dict[str, int] = {}
        self._memos: list[tuple[Callable[..., list[Any]], tuple[str, ...]]] = []
        self._caches: list[dict[tuple[str, bytes], list[Any]]] = []
        # Selections: (resource type, memoized conjuncts) -> variable name.
        self._selections: dict[tuple[str, tuple[int, ...]], str] = {}

    def invocations(self) -> dict[str, Any]:
        """The user invocation table the rewritten expressions need (fhirpathpy options)."""
        return {
            "toDate": {"fn": to_date, "arity": {0: []}},
            MEMO_FUNCTION: {"fn": self._memo, "arity": {1: ["Integer"]}},
        }

    def rewrite(self, text: str) -> str:
        """``text`` with its filters split and memoized (the same result on every input)."""
        return _Rewriter(self, text).render(tree.parse(text))

    def memo_index(self, conjunct: str, names: tuple[str, ...]) -> int:
        """The memo table of a conjunct (compiled on first sight)."""
        index = self._index.get(conjunct)
        if index is None:
            index = len(self._memos)
            self._index[conjunct] = index
            self._memos.append((self._compile(conjunct), names))
            self._caches.append({})
        return index

    def memo_call(self, conjunct: str, names: tuple[str, ...]) -> str:
        """The call that stands for a memoized conjunct."""
        return f"{MEMO_FUNCTION}({self.memo_index(conjunct, names)})"

    def selection(self, resource_type: str, memos: tuple[int, ...]) -> str:
        """The variable holding the record's resources of a type that pass these conjuncts."""
        key = (resource_type, memos)
        name = self._selections.get(key)
        if name is None:
            name = self._selections[key] = f"{SELECTION}{len(self._selections)}"
        return name

    def prepare(self, record: Mapping[str, Any]) -> dict[str, list[Any]]:
        """The selection variables of one record (pass them with the expression's own)."""
        by_type: dict[str, list[dict[str, Any]]] = {}
        for entry in record.get("entry") or ():
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, dict):
                by_type.setdefault(str(resource.get("resourceType")), []).append(resource)
        prepared = {}
        for (resource_type, memos), name in self._selections.items():
            prepared[name] = [
                resource
                for resource in by_type.get(resource_type, ())
                if all(self._value(index, resource) == [True] for index in memos)
            ]
        return prepared

    def _memo(self, items: list[Any], index: int) -> list[Any]:
        if len(items) != 1 or not isinstance(items[0], dict):
            raise Exception("a memoized filter runs on one resource at a time")
        return self._value(index, items[0])

    def _value(self, index: int, resource: dict[str, Any]) -> list[Any]:
        compiled, names = self._memos[index]
        selected = {
            key: value
            for key, value in resource.items()
            if any(_element_key(key, name) for name in names)
        }
        key = (
            str(resource.get("resourceType")),
            orjson.dumps(selected, option=orjson.OPT_SORT_KEYS),
        )
        cache = self._caches[index]
        found = cache.get(key)
        if found is None:
            if len(cache) >= _MEMO_LIMIT:
                cache.clear()
            found = cache[key] = list(compiled(resource, {}))
        return found


def _element_key(key: str, name: str) -> bool:
    """Whether a JSON key holds element ``name``: itself, its ``_name`` twin, or a choice
    (``value`` -> ``valueQuantity``)."""
    if key == name or key == f"_{name}":
        return True
    return key.startswith(name) and len(key) > len(name) and key[len(name)].isupper()


class _Rewriter:
    def __init__(self, planner: Planner, text: str) -> None:
        self.planner = planner
        self.text = text

    def render(self, node: Any, top: bool = True) -> str:
        """The node's text rewritten; ``top``: not inside an iterating function's argument."""
        if isinstance(node, P.InvocationExpressionContext):
            invocation = tree.invocation(node)
            name = tree.function_name(invocation)
            parameters = tree.params(invocation) if name else []
            if name == "where" and len(parameters) == 1 and _after_of_type(tree.left(node)):
                selected = self._selection(tree.left(node), parameters[0]) if top else None
                if selected is not None:
                    return selected
                return f"{self.render(tree.left(node), top)}.{self._split(parameters[0])}"
            if name in ITERATING:
                # The receiver stays in this scope; the arguments run per item.
                receiver = self.render(tree.left(node), top)
                inner = self._raw_call(invocation, parameters)
                return f"{receiver}.{inner}"
        start, stop = tree.span(node)
        position, pieces = start, []
        for child in tree.children(node):
            child_start, child_stop = tree.span(child)
            if child_start > child_stop:  # an empty node (e.g. a missing optional part)
                continue
            pieces.append(self.text[position:child_start])
            inside = top and not _iterating_term(child)
            pieces.append(self.render(child, inside) if tree.children(child) else self._raw(child))
            position = child_stop + 1
        pieces.append(self.text[position : stop + 1])
        return "".join(pieces)

    def _raw(self, node: Any) -> str:
        return tree.text_of(self.text, node)

    def _raw_call(self, invocation: Any, parameters: list[Any]) -> str:
        """``name(arg, ...)`` with the arguments rewritten as inner scopes."""
        name = tree.function_name(invocation)
        arguments = ", ".join(self.render(p, False) for p in parameters)
        return f"{name}({arguments})"

    def _selection(self, receiver: Any, criterion: Any) -> str | None:
        """``%_edcSelN.where(rest)`` for ``entry.resource.ofType(T).where(criterion)``."""
        resource_type = _record_of_type(receiver)
        if resource_type is None or any(
            isinstance(n, P.IndexInvocationContext) for n in tree.walk(criterion)
        ):
            return None
        memos, rest = [], []
        for conjunct in _conjuncts(criterion):
            names = _own_elements(conjunct)
            if names is None:
                rest.append(f"where({self.render(conjunct, False)})")
            else:
                memos.append(self.planner.memo_index(self._raw(conjunct), tuple(sorted(names))))
        if not memos:
            return None
        variable = self.planner.selection(resource_type, tuple(sorted(set(memos))))
        return ".".join([f"%{variable}", *rest])

    def _split(self, criterion: Any) -> str:
        conjuncts = _conjuncts(criterion)
        if any(isinstance(n, P.IndexInvocationContext) for n in tree.walk(criterion)):
            return f"where({self.render(criterion, False)})"
        filters = []
        for conjunct in conjuncts:
            names = _own_elements(conjunct)
            if names is None:
                filters.append(f"where({self.render(conjunct, False)})")
            else:
                call = self.planner.memo_call(self._raw(conjunct), tuple(sorted(names)))
                filters.append(f"where({call})")
        return ".".join(filters)


def _iterating_term(node: Any) -> bool:
    """A function term of the implicit $this that iterates (``exists(...)`` with no receiver)."""
    return isinstance(node, P.FunctionInvocationContext) and (tree.function_name(node) in ITERATING)


def _record_of_type(receiver: Any) -> str | None:
    """T, when ``receiver`` is exactly ``entry.resource.ofType(T)`` (from the record's root)."""
    chain = tree.unroll(receiver)
    if chain is None or chain.root_name != "entry" or len(chain.links) != 2:
        return None
    resource, of_type = chain.links
    if tree.member_name(resource) != "resource" or tree.function_name(of_type) != "ofType":
        return None
    arguments = tree.params(of_type)
    return str(arguments[0].getText()).strip("`") if len(arguments) == 1 else None


def _after_of_type(receiver: Any) -> bool:
    """Whether a ``where`` filters resources: its receiver ends with ``ofType(...)``."""
    return isinstance(receiver, P.InvocationExpressionContext) and (
        tree.function_name(tree.invocation(receiver)) == "ofType"
    )


def _conjuncts(criterion: Any) -> list[Any]:
    while isinstance(criterion, P.TermExpressionContext) and isinstance(
        tree.term(criterion), P.ParenthesizedTermContext
    ):
        criterion = tree.inner(tree.term(criterion))
    if isinstance(criterion, P.AndExpressionContext):
        return [*_conjuncts(tree.operand(criterion, 0)), *_conjuncts(tree.operand(criterion, 1))]
    return [criterion]


def _own_elements(conjunct: Any) -> set[str] | None:
    """The top-level elements of ``$this`` a conjunct reads, or None when it reads anything else."""
    found: set[str] = set()
    return found if _reads_only_own(conjunct, True, found) else None


def _reads_only_own(node: Any, outer: bool, found: set[str]) -> bool:
    if isinstance(node, P.ExternalConstantTermContext):
        return False
    if isinstance(node, _SCOPE_VARIABLES):
        return not outer
    if isinstance(node, P.TermExpressionContext) and isinstance(
        tree.term(node), P.InvocationTermContext
    ):
        invocation = tree.invocation(tree.term(node))
        name = tree.member_name(invocation)
        if name is not None:
            if outer:
                found.add(name)
            return True
        if tree.function_name(invocation) is not None:
            # A function of the implicit $this reads the whole item: not memoizable at the top.
            return not outer and _function_reads_only_own(invocation, outer, found)
        return _reads_only_own(invocation, outer, found)
    if isinstance(node, P.InvocationExpressionContext):
        if not _reads_only_own(tree.left(node), outer, found):
            return False
        invocation = tree.invocation(node)
        if tree.function_name(invocation) is not None:
            return _function_reads_only_own(invocation, outer, found)
        return True
    return all(_reads_only_own(child, outer, found) for child in tree.children(node))


def _function_reads_only_own(invocation: Any, outer: bool, found: set[str]) -> bool:
    name = tree.function_name(invocation)
    if name is None or name in IMPURE or name == MEMO_FUNCTION:
        return False
    arguments = tree.params(invocation)
    if name in ITERATING:
        return all(_reads_only_own(argument, False, found) for argument in arguments)
    for argument in arguments:
        # Other functions evaluate arguments in the enclosing scope: allow only arguments that
        # navigate nothing (literals, arithmetic over them).
        navigated: set[str] = set()
        if not _reads_only_own(argument, outer, navigated) or navigated:
            return False
    return True

"""FHIRPath for edc: the one place that knows fhirpathpy (eligibility criteria and SDC scores).

Modules: ``syntax_cache`` (expressions checked before), ``tree`` (the parse tree), ``plan``
(exact rewrites for speed, dates compared as dates), ``evidence`` (which resources decided a
result), ``compiled`` (expressions compiled once, with their evidence). This module: syntax
checking and one-off evaluation.

Two fhirpathpy behaviours shape this module:

* ``fhirpathpy.compile`` does not report syntax errors (its ANTLR error listener is a no-op),
  so ``syntax_problems`` runs the grammar with a listener that collects them, requires the
  whole text to be consumed, and checks function names against the engine's registry.
* Choice elements (``value``, ``effective``) only resolve with the R4 model passed in, and
  typed navigation (``ofType``) only works on the root resource, not on ``%variables``: we
  always evaluate against a root resource (a patient record Bundle, a QuestionnaireResponse).
  ``sum()``, ``min()``, ``max()`` and ``avg()`` fail on FHIR nodes (TypeError in 2.2.4), so
  the checker rejects them and tells authors to use ``aggregate()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# fhirpathpy (with its ANTLR runtime) is imported on first use, not with this package: a protocol
# check whose expressions are all in the syntax cache never needs it (0.2 s of start-up).


def r4_model() -> Any:
    """The R4 model fhirpathpy resolves choice elements (``value``, ``effective``) with."""
    from fhirpathpy.models import models

    return models["r4"]


def __getattr__(name: str) -> Any:
    if name == "R4_MODEL":  # kept for ``from edc.fhirpath import R4_MODEL``
        return r4_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Functions fhirpathpy registers but cannot evaluate over FHIR element nodes.
_BROKEN_ON_NODES = {"sum", "min", "max", "avg"}


class FhirPathError(Exception):
    """An expression could not be evaluated."""


def syntax_problems(expression: str) -> list[str]:
    """Problems that make ``expression`` unusable (empty list when it is fine).

    Expressions found fine before are remembered across runs (``syntax_cache``).
    """
    from edc.fhirpath.syntax_cache import known_good

    if expression in known_good():
        return []
    problems = _parse_problems(expression)
    if not problems:
        known_good().add(expression)
    return problems


def _parse_problems(expression: str) -> list[str]:
    from antlr4 import CommonTokenStream, InputStream  # fhirpathpy's own parser runtime
    from antlr4.error.ErrorListener import ErrorListener
    from fhirpathpy.engine import base_invocation_registry  # type: ignore[attr-defined]
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    class CollectingListener(ErrorListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.messages: list[str] = []

        def syntaxError(
            self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any
        ) -> None:
            # ANTLR lists every token it would have accepted; that list helps nobody.
            message = msg.split(" expecting ", 1)[0]
            if message == "mismatched input '<EOF>'":
                message = "unexpected end of expression"
            self.messages.append(f"column {column + 1}: {message}")

    listener = CollectingListener()
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    # entireExpression = expression EOF, so trailing junk is an error too.
    tree = parser.entireExpression()  # type: ignore[no-untyped-call]
    if listener.messages:
        return [f"invalid FHIRPath: {message}" for message in listener.messages]
    problems = []
    for name in sorted(_function_names(tree)):
        if name in _BROKEN_ON_NODES:
            problems.append(
                f"FHIRPath function {name}() cannot be evaluated by our engine over FHIR "
                "elements; write it with aggregate(), e.g. aggregate($this + $total, 0)"
            )
        elif name not in base_invocation_registry:
            problems.append(f"unknown FHIRPath function {name}()")
    return problems


def _function_names(tree: Any) -> set[str]:
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    names: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, FHIRPathParser.FunctnContext):
            names.add(node.identifier().getText().strip("`"))  # type: ignore[no-untyped-call]
        stack.extend(getattr(node, "children", None) or [])
    return names


def evaluate(
    resource: Mapping[str, Any], expression: str, variables: Mapping[str, Any]
) -> list[Any]:
    """Evaluate ``expression`` with ``resource`` as root and ``%name`` variables.

    :raises FhirPathError: when the engine fails on the expression.
    """
    import fhirpathpy

    try:
        result = fhirpathpy.evaluate(dict(resource), expression, dict(variables), model=r4_model())
    except Exception as exc:  # fhirpathpy raises bare Exception/KeyError/TypeError
        raise FhirPathError(f"cannot evaluate {expression!r}: {exc}") from exc
    return list(result)

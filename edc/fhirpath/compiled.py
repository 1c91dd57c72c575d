"""Expressions compiled once and evaluated many times, with the evidence behind each result.

``ExpressionSet`` compiles a family of expressions (a protocol's criteria) with one planner
(``edc.fhirpath.plan``: exact rewrites, shared memo tables, dates compared as dates) and an
evidence reader for each (``edc.fhirpath.evidence``). A compiled expression holds no patient
data between calls; its memo tables hold only values of coded elements such as ``code``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import fhirpathpy

from edc.fhirpath import R4_MODEL, FhirPathError
from edc.fhirpath.evidence import Evidence, EvidenceReader
from edc.fhirpath.plan import Planner


class CompiledExpression:
    """One expression, parsed once: ``evaluate`` and ``evidence`` over any number of records."""

    def __init__(self, text: str, expressions: ExpressionSet) -> None:
        self.text = text
        self._evaluate = expressions.compile_planned(text)
        self._evidence = EvidenceReader(text, expressions.compile_planned)
        self._prepare = expressions.prepare

    def evaluate(
        self,
        root: Mapping[str, Any],
        variables: Mapping[str, Any],
        prepared: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """The expression's value with ``root`` as the root resource.

        :param prepared: ``ExpressionSet.prepare(root)``, when the caller evaluates several
            expressions on one record (computed here otherwise).
        :raises FhirPathError: when the engine fails on this input.
        """
        env = {**variables, **(prepared if prepared is not None else self._prepare(root))}
        try:
            return list(self._evaluate(root, env))
        except Exception as exc:  # fhirpathpy raises bare Exception/KeyError/TypeError
            raise FhirPathError(f"cannot evaluate {self.text!r}: {exc}") from exc

    def evidence(
        self,
        root: Mapping[str, Any],
        variables: Mapping[str, Any],
        prepared: Mapping[str, Any] | None = None,
    ) -> list[Evidence]:
        """The resources the expression selected in ``root``, with their values and dates."""
        env = {**variables, **(prepared if prepared is not None else self._prepare(root))}
        return self._evidence.read(root, env)


class ExpressionSet:
    """Compiles expressions that share one planner (and so its memo tables)."""

    def __init__(self) -> None:
        self.planner = Planner(self._compile_text)

    def compile(self, text: str) -> CompiledExpression:
        """:raises ValueError: on a syntax error (protocols are checked before this)."""
        return CompiledExpression(text, self)

    def prepare(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """What the planned expressions read from a record, worked out once for all of them."""
        return self.planner.prepare(record)

    def compile_planned(self, text: str) -> Callable[..., list[Any]]:
        """``text`` rewritten by the planner, then compiled."""
        return self._compile_text(self.planner.rewrite(text))

    def _compile_text(self, text: str) -> Callable[..., list[Any]]:
        options = {"userInvocationTable": self.planner.invocations()}
        compiled: Callable[..., list[Any]] = fhirpathpy.compile(
            text, model=R4_MODEL, options=options
        )
        return compiled

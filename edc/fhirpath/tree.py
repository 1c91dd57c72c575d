"""The parse tree of a FHIRPath expression, read with fhirpathpy's own ANTLR grammar.

Helpers to locate a node's text in the expression (``text_of``), and to read invocation chains
such as ``entry.resource.ofType(Observation).where(...).value`` link by link (``Chain``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from antlr4 import CommonTokenStream, InputStream  # fhirpathpy's own parser runtime
from antlr4.error.ErrorListener import ErrorListener
from antlr4.tree.Tree import TerminalNode
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

P = FHIRPathParser


class _Raise(ErrorListener):  # type: ignore[misc]
    def syntaxError(
        self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        raise ValueError(f"column {column + 1}: {msg.split(' expecting ', 1)[0]}")


def parse(text: str) -> Any:
    """The ``expression`` node of ``text``.

    :raises ValueError: on a syntax error (protocols are checked before they get here).
    """
    lexer = FHIRPathLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Raise())
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_Raise())
    return parser.entireExpression().expression()  # type: ignore[no-untyped-call]


# Accessors for the generated (untyped) parser contexts.
def left(node: Any) -> Any:
    """The expression an invocation expression is invoked on."""
    return node.expression()


def operand(node: Any, index: int) -> Any:
    """Operand ``index`` of a binary expression (e.g. ``and``)."""
    return node.expression(index)


def term(node: Any) -> Any:
    """The term of a term expression."""
    return node.term()


def inner(node: Any) -> Any:
    """The expression inside a parenthesized term."""
    return node.expression()


def invocation(node: Any) -> Any:
    """The invocation of an invocation expression or term."""
    return node.invocation()


def span(node: Any) -> tuple[int, int]:
    """First and last character index of a node in the expression text."""
    if isinstance(node, TerminalNode):
        return node.symbol.start, node.symbol.stop
    return node.start.start, node.stop.stop


def text_of(text: str, node: Any) -> str:
    start, stop = span(node)
    return text[start : stop + 1]


def children(node: Any) -> list[Any]:
    return list(getattr(node, "children", None) or [])


def walk(node: Any) -> Iterator[Any]:
    """Every node under ``node`` (itself first), depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def function_name(invocation: Any) -> str | None:
    """The function's name for a function invocation, else None."""
    if isinstance(invocation, P.FunctionInvocationContext):
        return str(invocation.functn().identifier().getText()).strip("`")  # type: ignore[no-untyped-call]
    return None


def member_name(invocation: Any) -> str | None:
    """The element's name for a member invocation, else None."""
    if isinstance(invocation, P.MemberInvocationContext):
        return str(invocation.getText()).strip("`")
    return None


def params(invocation: Any) -> list[Any]:
    """The argument expressions of a function invocation."""
    param_list = invocation.functn().paramList()
    return list(param_list.expression()) if param_list else []


@dataclasses.dataclass(frozen=True)
class Chain:
    """``root.link.link...``: the root term (a member, function, ``%constant``, ...) and the
    invocations that follow it, each with the expression node that ends with it."""

    root: Any  # the TermContext
    links: tuple[Any, ...]  # InvocationContexts
    ends: tuple[Any, ...]  # the expression node ending with each link

    @property
    def root_name(self) -> str | None:
        """``entry``, ``%patient``... (None for literals and parenthesized terms)."""
        if isinstance(self.root, P.ExternalConstantTermContext):
            return str(self.root.getText())
        if isinstance(self.root, P.InvocationTermContext):
            return member_name(invocation(self.root))
        return None


def chains(expression: Any) -> Iterator[Chain]:
    """Every maximal invocation chain in an expression tree (including nested ones)."""
    for node in walk(expression):
        if isinstance(node, P.InvocationExpressionContext) and not _continued(node):
            found = unroll(node)
            if found is not None:
                yield found


def unroll(node: Any) -> Chain | None:
    """The chain an invocation expression ends; None when it does not start at a term."""
    links: list[Any] = []
    ends: list[Any] = []
    current = node
    while isinstance(current, P.InvocationExpressionContext):
        links.append(invocation(current))
        ends.append(current)
        current = left(current)
    if not isinstance(current, P.TermExpressionContext):
        return None
    return Chain(term(current), tuple(reversed(links)), tuple(reversed(ends)))


def _continued(node: Any) -> bool:
    parent = node.parentCtx
    return isinstance(parent, P.InvocationExpressionContext) and left(parent) is node

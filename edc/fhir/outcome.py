"""What the server said: OperationOutcome issues (and OAuth errors) turned into readable text."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import orjson

# OperationOutcome issue codes that mean "try again later" (mapping guide §9.6; R4 issue-type
# "transient" and the children we have seen vendors use). "exception" is also a child of
# "transient" in R4, but servers use it for their own bugs, so it is not on this list.
TRANSIENT_CODES = frozenset({"transient", "throttled", "timeout", "lock-error"})


@dataclasses.dataclass(frozen=True)
class Issue:
    """One R4 ``OperationOutcome.issue``: severity, code, details.text, diagnostics, expression."""

    severity: str
    code: str
    details: str = ""
    diagnostics: str = ""
    expression: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = "; ".join(part for part in (self.details, self.diagnostics) if part)
        where = f" at {', '.join(self.expression)}" if self.expression else ""
        return f"{self.severity} {self.code}: {text or '(no text)'}{where}"

    @property
    def is_error(self) -> bool:
        """True for ``fatal`` and ``error`` (not ``warning`` / ``information``)."""
        return self.severity in ("fatal", "error")


def issues_from_json(body: object) -> list[Issue]:
    """The issues of an OperationOutcome given as parsed JSON; [] for anything else.

    An OAuth token-endpoint error (``{"error": ..., "error_description": ...}``, RFC 6749 §5.2)
    is turned into one issue so that auth failures read the same way.
    """
    if not isinstance(body, dict):
        return []
    if body.get("resourceType") == "OperationOutcome":
        return [_issue(raw) for raw in body.get("issue") or [] if isinstance(raw, dict)]
    if isinstance(body.get("error"), str):
        return [Issue("error", body["error"], str(body.get("error_description") or ""))]
    return []


def issues_from_bytes(raw: bytes) -> list[Issue]:
    """Like :func:`issues_from_json`, for a response body that may not be JSON at all."""
    try:
        return issues_from_json(orjson.loads(raw)) if raw else []
    except orjson.JSONDecodeError:
        return []


def describe(issues: Sequence[Issue]) -> str:
    """All issues on one line, errors first, for messages and logs."""
    ordered = sorted(issues, key=lambda issue: not issue.is_error)
    return " | ".join(str(issue) for issue in ordered)


def has_transient_code(issues: Sequence[Issue]) -> bool:
    """Whether the server marked the failure as transient (see :data:`TRANSIENT_CODES`)."""
    return any(issue.code in TRANSIENT_CODES for issue in issues)


def _issue(raw: dict[str, object]) -> Issue:
    details = raw.get("details")
    text = details.get("text") if isinstance(details, dict) else None
    expression = raw.get("expression")
    if not isinstance(expression, list):
        # R4 deprecated "location" for "expression"; older servers still fill only "location".
        location = raw.get("location")
        expression = location if isinstance(location, list) else []
    return Issue(
        severity=str(raw.get("severity") or "error"),
        code=str(raw.get("code") or "unknown"),
        details=str(text or ""),
        diagnostics=str(raw.get("diagnostics") or ""),
        expression=tuple(str(e) for e in expression),
    )

"""Errors raised by edc, and the exit codes the command line turns them into.

The hierarchy::

    EdcError                    root of everything edc raises on purpose
    └── UserError               shown to the user as a message (no traceback), with an exit code
        ├── BadInputError       exit 2: a file, flag or resource the user gave us is wrong
        │   ├── ProblemsError   exit 2: several located problems, all reported at once
        │   ├── NotFoundError   exit 2: what the user named does not exist (or is not theirs)
        │   └── NotPermittedError exit 2: the user's role does not allow this action
        ├── CheckFailedError    exit 1: a check ran and found a failure (e.g. audit chain broken)
        └── ExternalSystemError exit 3: a FHIR server or database failed after retries

Anything else that escapes is a bug and keeps its traceback. Only ``edc.cli`` turns a
``UserError`` into a message and an exit code; tests assert the code, not the prose.
"""

from __future__ import annotations

import dataclasses

from edc.redact import mask_secrets

# Exit codes are part of the interface: never reuse a number, keep retired ones commented out.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_EXTERNAL_FAILURE = 3


class EdcError(Exception):
    """Root of the errors edc raises on purpose."""


class UserError(EdcError):
    """An error the user can act on.

    :param message: one line saying what went wrong.
    :param details: how to fix it, or the list of problems (printed indented below the message).

    Passwords in either (a database URL quoted in a message) are masked here, once for all.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, details: str = "") -> None:
        message, details = mask_secrets(message), mask_secrets(details)
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.message}\n{self.details}" if self.details else self.message


class BadInputError(UserError):
    """Something the user gave us (file, flag, resource) is wrong; nothing was changed."""

    exit_code = EXIT_BAD_INPUT


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """One located problem: where (``file:line``, resource id, ...), which field, and what."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        field = f" {self.field}" if self.field else ""
        return f"{self.where}{field}: {self.message}"


class ProblemsError(BadInputError):
    """Several located problems found in one input, all reported at once."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_sort_key)
        super().__init__(message, "\n".join(f"  {p}" for p in self.problems))


def _problem_sort_key(problem: Problem) -> tuple[str, int, str, str]:
    # Sort "file.yaml:12" by file then line number, not as text ("file:9" before "file:10").
    where, _, line = problem.where.rpartition(":")
    if where and line.isdigit():
        return (where, int(line), problem.field, problem.message)
    return (problem.where, 0, problem.field, problem.message)


class NotFoundError(BadInputError):
    """What the user named (a subject, a form, a record) does not exist, or lies outside what
    the user may see: the two are not told apart, so a site never learns another's ids."""


class NotPermittedError(BadInputError):
    """The user's role in the study does not allow this action (nothing was changed)."""


class ConflictError(BadInputError):
    """The record's current state does not allow this change (closing a closed query,
    confirming a confirmed deviation); nothing was changed."""


class CheckFailedError(UserError):
    """A check ran to completion and found a failure (exit 1)."""

    exit_code = EXIT_CHECK_FAILED


class ExternalSystemError(UserError):
    """A system we depend on (FHIR server, database) failed after retries (exit 3)."""

    exit_code = EXIT_EXTERNAL_FAILURE

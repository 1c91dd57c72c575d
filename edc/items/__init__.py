"""The form-item language shared by protocol forms and library instruments, and its checks."""

from edc.items.model import (
    AnswerOption,
    Coding,
    EnableWhen,
    Item,
    Score,
    Strict,
    Variable,
)

__all__ = ["AnswerOption", "Coding", "EnableWhen", "Item", "Score", "Strict", "Variable"]

"""Form items: what a question is, in protocol forms and library instruments alike.

A study form is a library instrument and/or study-specific items; both are written with these
models, which the compiler turns into SDC Questionnaire items (types, required, enableWhen,
answer options with itemWeight, min/max, units, calculatedExpression scores).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Strict(BaseModel):
    """Base of every protocol model: unknown keys are errors and parsed values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Identifiers authored in protocol files end up in FHIR ids, linkIds and URLs: keep them to
# characters that are legal in all three (FHIR id: [A-Za-z0-9-.]{1,64}).
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1)]

ItemType = Literal[
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "string",
    "text",
    "choice",
    "open-choice",
    "group",
    "display",
]
ANSWERABLE_TYPES = frozenset(ItemType.__args__) - {"group", "display"}  # type: ignore[attr-defined]
NUMERIC_TYPES = frozenset({"decimal", "integer"})
CHOICE_TYPES = frozenset({"choice", "open-choice"})


class Coding(Strict):
    """A code from a code system (LOINC, SNOMED CT, NCIt, ...)."""

    system: Text
    code: Text
    display: str | None = None


class AnswerOption(Strict):
    """One permitted answer of a choice item; ``weight`` becomes the SDC itemWeight."""

    code: Text
    display: Text
    weight: Decimal | None = None
    system: str | None = Field(
        default=None, description="code system; default: the form's own answer code system"
    )


AnswerValue = bool | int | Decimal | dt.date | str


class EnableWhen(Strict):
    """Skip logic: the item is enabled when another item's answer satisfies ``operator``."""

    question: Code
    operator: Literal["exists", "=", "!=", ">", "<", ">=", "<="]
    answer: AnswerValue


class Item(Strict):
    """A question (or group of questions) on a form."""

    id: Code = Field(description="the linkId; unique within the form")
    text: Text
    type: ItemType
    required: bool = False
    repeats: bool = False
    code: Coding | None = None
    unit: str | None = Field(default=None, description="UCUM unit code, e.g. mm, mg/d, 10*9/L")
    min: Decimal | dt.date | None = None
    max: Decimal | dt.date | None = None
    max_length: int | None = Field(default=None, gt=0)
    options: tuple[AnswerOption, ...] = ()
    answer_value_set: str | None = Field(
        default=None, description="canonical URL of a ValueSet holding the permitted answers"
    )
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: Literal["all", "any"] | None = None
    items: tuple[Item, ...] = ()
    visits: tuple[Code, ...] = Field(
        default=(), description="asked only at these visits of a form used at several"
    )


class Variable(Strict):
    """A named FHIRPath expression (SDC ``variable``) that scores can refer to as ``%name``."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*$")]
    expression: Text


class Score(Strict):
    """A calculated, read-only item: SDC ``calculatedExpression`` written in FHIRPath."""

    id: Code
    text: Text
    type: Literal["decimal", "integer"]
    expression: Text
    unit: str | None = None
    code: Coding | None = None

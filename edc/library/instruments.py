"""The instrument model: a scored questionnaire kept as data in fhir_mappings/instruments/."""

from __future__ import annotations

from pydantic import Field

from edc.items.model import Code, Coding, Item, Score, Strict, Text, Variable


class Instrument(Strict):
    """A reusable, scored instrument (NRS, ODI, SINS, ...) that protocol forms refer to by id.

    Copyrighted instruments (ODI, EORTC QLQ-BM22) ship their structure and scoring with
    neutral labels in place of the item text (``neutral_labels``); a licensed site supplies
    the text.
    """

    id: Code
    title: Text
    version: Text
    description: str | None = None
    code: Coding | None = None
    reference: Text
    license: Text
    copyright: str | None = None
    neutral_labels: bool = False
    answer_system: str | None = Field(
        default=None,
        description="code system of answer options without one; default: our own per instrument",
    )
    items: tuple[Item, ...] = Field(min_length=1)
    variables: tuple[Variable, ...] = ()
    scores: tuple[Score, ...] = ()

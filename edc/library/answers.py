"""The plain answer representation shared by Python scoring and QuestionnaireResponse building.

The answers to one form are a mapping from linkId to answer:

* ``choice`` with answer options: the option ``code`` (``"s1-3"``, ``"LA29175-9"``).
  ``open-choice``: an option code, or any other text (kept as free text).
  A choice bound to a value set (no options): a Coding mapping ``{"system", "code", "display"}``.
* ``boolean``: ``bool``; ``integer``: ``int`` (an integral ``Decimal`` is accepted);
  ``decimal``: ``Decimal`` (``int`` and ``float`` are accepted).
* ``date``: ``datetime.date``; ``dateTime``: an aware ``datetime.datetime`` (or a ``date``).
* ``string`` / ``text``: ``str``.
* An item with ``repeats: true``: a list of such values.
* A non-repeating group is transparent: its children's linkIds sit in the same mapping
  (linkIds are unique within a form).
* A repeating group: a list of mappings, one per repetition, each in this same form.
* Unanswered: the key is absent, or its value is ``None``.

Example (MEDD)::

    {"medd-none": False,
     "medd-entry": [{"medd-opioid": "oxycodone", "medd-dose": Decimal("20")},
                    {"medd-opioid": "fentanyl-transdermal", "medd-patch": Decimal("25")}]}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TypeAlias

from edc import errors

Scalar: TypeAlias = bool | int | float | Decimal | str | dt.date
Coding: TypeAlias = Mapping[str, str]
Answer: TypeAlias = "Scalar | Coding | Sequence[Scalar | Coding] | Sequence[Answers] | None"
Answers: TypeAlias = Mapping[str, Answer]


class AnswerError(errors.BadInputError):
    """Answers that do not fit the form: unknown linkId or code, or a value of the wrong type."""

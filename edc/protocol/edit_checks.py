"""The protocol's ``edit_checks:`` section: data rules that open a query when they fail.

::

    edit_checks:
      - id: odi-sections
        form: odi                       # the form the query lands on; its response is %resource
        item: odi-complete              # the linkId the query lands on (default: first named)
        expression: "%resource.item.where(linkId='odi-complete').answer.value = true"
        severity: error                 # error | warning (the SDC constraint severities)
        message: All ODI sections must be answered.

The expression is true when the data are consistent. It sees the form's own ``variables`` and,
to compare across a subject's forms, every other form as ``%<form id>`` (the subject's responses
to that form). A check that names no other form is compiled into its Questionnaire as the SDC
``questionnaire-constraint`` extension, so a form filler shows it while the data are entered;
one that does is evaluated only by the EDC, which holds all of the subject's forms.

Kept apart from ``edc.protocol.model`` so the edit-check rules change in one module.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from edc.items.model import Code, Strict, Text

# linkIds an expression names: ``linkId = 'x'`` (either quote, any spacing). FHIRPath has no
# other way to pick an answer out of a QuestionnaireResponse.
_LINK_ID = re.compile(r"""linkId\s*=\s*(['"])(.*?)\1""")


class EditCheck(Strict):
    id: Code
    form: Code = Field(description="the form the query lands on; its response is %resource")
    item: Code | None = Field(
        default=None, description="linkId the query lands on (default: the first one named)"
    )
    expression: Text = Field(description="FHIRPath, true when the data are consistent")
    severity: Literal["error", "warning"] = "error"
    message: Text

    def link_ids(self) -> list[str]:
        """linkIds the expression names, in order, once each."""
        found: list[str] = []
        for match in _LINK_ID.finditer(self.expression):
            if match.group(2) not in found:
                found.append(match.group(2))
        return found

    def target_item(self) -> str | None:
        """The linkId a failing check's query is opened on."""
        named = self.link_ids()
        return self.item or (named[0] if named else None)


def other_forms(check: EditCheck, form_ids: set[str]) -> list[str]:
    """The other forms ``check`` reads (``%<form id>``); empty for a single-form check."""
    found = [a or b for a, b in _VARIABLE.findall(check.expression)]
    return [name for name in dict.fromkeys(found) if name in form_ids and name != check.form]


# ``%name`` or ``%`name-with-dashes``` (a FHIRPath identifier has no dash unless quoted).
_VARIABLE = re.compile(r"%(?:`([^`]+)`|([A-Za-z_][A-Za-z0-9_]*))")

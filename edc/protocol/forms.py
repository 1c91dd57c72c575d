"""A form's full content: its library instrument's items and scores plus study-specific ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from edc.items.model import Item, Score, Variable
from edc.library import Instrument, Library
from edc.protocol.model import Form, Protocol

# Forms every protocol has without declaring them: built by the compiler from the eligibility
# criteria and the adverse-event settings. Visits list them like any other form.
ELIGIBILITY_FORM_ID = "eligibility"


@dataclasses.dataclass(frozen=True)
class FormContent:
    """Everything a form asks and computes, in questionnaire order."""

    form_id: str
    title: str
    instrument: Instrument | None
    items: tuple[Item, ...]
    variables: tuple[Variable, ...]
    scores: tuple[Score, ...]

    def link_ids(self) -> Iterator[str]:
        """Every linkId: items (depth first), then scores."""
        for item in walk_items(self.items):
            yield item.id
        for score in self.scores:
            yield score.id


def walk_items(items: tuple[Item, ...]) -> Iterator[Item]:
    """Items depth first, groups before their children."""
    for item in items:
        yield item
        yield from walk_items(item.items)


def form_content(form: Form, library: Library) -> FormContent:
    """Combine a form with its instrument (an unknown instrument contributes nothing)."""
    instrument = library.find_instrument(form.instrument) if form.instrument else None
    if instrument is None:
        return FormContent(
            form.id, form.title or form.id, None, form.items, form.variables, form.scores
        )
    return FormContent(
        form_id=form.id,
        title=form.title or instrument.title,
        instrument=instrument,
        items=instrument.items + form.items,
        variables=instrument.variables + form.variables,
        scores=instrument.scores + form.scores,
    )


def builtin_form_ids(protocol: Protocol) -> frozenset[str]:
    return frozenset({ELIGIBILITY_FORM_ID, protocol.adverse_events.form_id})

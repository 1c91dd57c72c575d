"""A form's full content: its library instrument's items and scores plus study-specific ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from edc.items.model import EnableWhen, Item, Score, Variable
from edc.library import Instrument, Library
from edc.protocol.model import Form, Protocol

# Forms every protocol has without declaring them: built by the compiler from the eligibility
# criteria and the adverse-event settings. Visits list them like any other form.
ELIGIBILITY_FORM_ID = "eligibility"
# The hidden, read-only item a form with visit-specific items carries: the visit id, written
# by edc (entry and generator); a visit-specific item is enabled when it names its visit.
VISIT_ITEM = "edc-visit"


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


def has_visit_items(items: tuple[Item, ...]) -> bool:
    return any(item.visits for item in walk_items(items))


def _visit_enabled(item: Item) -> Item:
    """An item asked at some visits only, as enableWhen on the visit item (its own
    enableWhen, if any, is refused by the checks)."""
    update: dict[str, object] = {"items": tuple(_visit_enabled(child) for child in item.items)}
    if item.visits:
        update["enable_when"] = tuple(
            EnableWhen(question=VISIT_ITEM, operator="=", answer=visit) for visit in item.visits
        )
        update["enable_behavior"] = "any" if len(item.visits) > 1 else None
        update["visits"] = ()
    return item.model_copy(update=update)


def study_items(form: Form) -> tuple[Item, ...]:
    """The form's own items, visit-specific ones resolved (plus the visit item at the end)."""
    if not has_visit_items(form.items):
        return form.items
    visit = Item(id=VISIT_ITEM, text="Visit", type="string")
    return (*(_visit_enabled(item) for item in form.items), visit)


def form_content(form: Form, library: Library) -> FormContent:
    """Combine a form with its instrument (an unknown instrument contributes nothing)."""
    instrument = library.find_instrument(form.instrument) if form.instrument else None
    own = study_items(form)
    if instrument is None:
        return FormContent(form.id, form.title or form.id, None, own, form.variables, form.scores)
    return FormContent(
        form_id=form.id,
        title=form.title or instrument.title,
        instrument=instrument,
        items=instrument.items + own,
        variables=instrument.variables + form.variables,
        scores=instrument.scores + form.scores,
    )


def builtin_form_ids(protocol: Protocol) -> frozenset[str]:
    return frozenset({ELIGIBILITY_FORM_ID, protocol.adverse_events.form_id})

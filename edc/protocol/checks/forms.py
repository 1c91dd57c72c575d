"""Checks of the study's forms: instruments exist, linkIds are unique, items are consistent."""

from __future__ import annotations

import difflib

from edc.items import checks as item_checks
from edc.items.model import Item
from edc.library import Library
from edc.located_yaml import Reporter
from edc.protocol import forms as protocol_forms
from edc.protocol.model import Form, Protocol


def check(protocol: Protocol, library: Library, report: Reporter) -> None:
    report.duplicates(("forms",), (form.id for form in protocol.forms), "form")
    builtin = protocol_forms.builtin_form_ids(protocol)
    for index, form in enumerate(protocol.forms):
        path = ("forms", index)
        if form.id in builtin:
            report.add(
                (*path, "id"),
                f"{form.id!r} is a built-in form (eligibility checklist or adverse events); "
                "rename this form",
            )
        _check_form(report, path, form, library)
        listing = {v.id for v in protocol.schedule.visits if form.id in v.forms}
        _check_visit_items(report, (*path, "items"), form.items, listing)


def _check_visit_items(
    report: Reporter, path: tuple[str | int, ...], items: tuple[Item, ...], listing: set[str]
) -> None:
    """Visit-specific items: at visits that list the form, and not also with enable_when (the
    two would be one enableWhen list: put the item in a group that has ``visits``)."""
    for index, item in enumerate(items):
        here = (*path, index)
        if item.id == protocol_forms.VISIT_ITEM:
            report.add((*here, "id"), f"{item.id!r} is reserved for the visit item; rename it")
        for number, visit in enumerate(item.visits):
            if visit not in listing:
                known = ", ".join(sorted(listing)) or "none"
                report.add(
                    (*here, "visits", number),
                    f"visit {visit!r} does not list this form (visits that do: {known})",
                )
        if item.visits and item.enable_when:
            report.add(
                (*here, "visits"),
                "an item with visits cannot also have enable_when; put it in a group that "
                "has the visits",
            )
        _check_visit_items(report, (*here, "items"), item.items, listing)


def _check_form(report: Reporter, path: tuple[str, int], form: Form, library: Library) -> None:
    if form.instrument is None and not form.items:
        report.add(path, "a form needs an instrument or items")
    if form.instrument is not None and library.find_instrument(form.instrument) is None:
        names = sorted(library.instruments)
        close = difflib.get_close_matches(form.instrument, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (library: {', '.join(names)})"
        report.add((*path, "instrument"), f"unknown instrument {form.instrument!r}{hint}")
    content = protocol_forms.form_content(form, library)
    instrument_ids = set()
    if content.instrument is not None:
        instrument_ids = {item.id for item in protocol_forms.walk_items(content.instrument.items)}
        instrument_ids |= {score.id for score in content.instrument.scores}
    seen = set(instrument_ids)
    for index, item in enumerate(protocol_forms.walk_items(form.items)):
        if item.id in seen:
            report.add((*path, "items"), f"linkId {item.id!r} (item {index + 1}) is used twice")
        seen.add(item.id)
    for index, score in enumerate(form.scores):
        if score.id in seen:
            report.add((*path, "scores", index, "id"), f"linkId {score.id!r} is used twice")
        seen.add(score.id)
    known = {item.id: item for item in protocol_forms.walk_items(content.items)}
    item_checks.check_items(report, (*path, "items"), form.items, known)
    item_checks.check_expressions(report, path, form.variables, form.scores, seen)

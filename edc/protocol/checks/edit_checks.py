"""Checks of ``edit_checks:``: the form, the linkIds and the ``%variables`` each check names
exist, and the FHIRPath parses. A check naming something unknown would evaluate to empty for
every subject, silently never opening a query."""

from __future__ import annotations

import difflib
from functools import partial

from edc import fhirpath
from edc.fhirpath import syntax_cache
from edc.library import Library
from edc.located_yaml import Reporter
from edc.protocol import forms as protocol_forms
from edc.protocol.edit_checks import EditCheck, other_forms
from edc.protocol.model import Protocol

# What every check sees besides the forms and the form's variables (SDC names).
_CHECK_VARIABLES = ("questionnaire", "qitem")


def check(protocol: Protocol, library: Library, report: Reporter) -> None:
    report.duplicates(("edit_checks",), (c.id for c in protocol.edit_checks), "edit check")
    contents = {form.id: protocol_forms.form_content(form, library) for form in protocol.forms}
    for index, edit_check in enumerate(protocol.edit_checks):
        path = ("edit_checks", index)
        content = contents.get(edit_check.form)
        if content is None:
            close = difflib.get_close_matches(edit_check.form, list(contents), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (forms: {', '.join(contents)})"
            report.add((*path, "form"), f"unknown form {edit_check.form!r}{hint}")
            continue
        own = set(content.link_ids())
        for link_id in edit_check.link_ids():
            if link_id in own or _in_other_form(edit_check, link_id, contents):
                continue
            # The built-in forms (eligibility, adverse events) are made by the compiler: a
            # check reading one is trusted with its linkIds.
            if not other_forms(edit_check, set(protocol_forms.builtin_form_ids(protocol))):
                report.add(
                    (*path, "expression"),
                    f"unknown linkId {link_id!r} (not in form {content.form_id!r} "
                    "nor in a form the check names)",
                )
        if edit_check.item is not None and edit_check.item not in own:
            report.add(
                (*path, "item"), f"unknown linkId {edit_check.item!r} in form {content.form_id!r}"
            )
        variables = [v.name for v in content.variables]
        builtin = sorted(protocol_forms.builtin_form_ids(protocol))
        _check_expression(
            report, (*path, "expression"), edit_check, [*variables, *contents, *builtin]
        )


def _in_other_form(
    edit_check: EditCheck, link_id: str, contents: dict[str, protocol_forms.FormContent]
) -> bool:
    return any(
        link_id in set(contents[form_id].link_ids())
        for form_id in other_forms(edit_check, set(contents))
    )


def _check_expression(
    report: Reporter, path: tuple[str | int, ...], edit_check: EditCheck, visible: list[str]
) -> None:
    syntax = fhirpath.syntax_problems(edit_check.expression)
    for problem in syntax:
        report.add(path, problem)
    if syntax:
        return
    known = [*visible, *_CHECK_VARIABLES]
    unknown = syntax_cache.remembered_clean(
        "edit-check-variables:" + ",".join(sorted(known)),
        edit_check.expression,
        partial(_unknown_variables, edit_check.expression, known),
    )
    for name in unknown:
        report.add(
            path, f"unknown variable %{name} (a check sees its form's variables and the forms)"
        )


def _unknown_variables(expression: str, known: list[str]) -> list[str]:
    from edc.fhirpath import names  # loads fhirpathpy: only when not remembered (syntax_cache)

    return names.unknown_variables(expression, known)

"""Checks of eligibility criteria and adverse-event settings."""

from __future__ import annotations

import re
from functools import partial

from edc import fhirpath
from edc.fhirpath import syntax_cache
from edc.library import Library, ctcae_suggest
from edc.located_yaml import Reporter
from edc.protocol.model import Protocol

# What an eligibility expression is evaluated with (edc.protocol.model.Criterion).
CRITERION_VARIABLES = ("patient", "screeningDate")
# ``value.value``: the number of a valueQuantity (or of a component's), read whatever its unit.
_UNITLESS_NUMBER = re.compile(r"\bvalue\s*\.\s*value\b")


def check(protocol: Protocol, library: Library, report: Reporter) -> None:
    _check_eligibility(protocol, report)
    _check_adverse_events(protocol, library, report)


def _check_eligibility(protocol: Protocol, report: Reporter) -> None:
    seen: set[str] = set()
    for group in ("inclusion", "exclusion"):
        for index, criterion in enumerate(getattr(protocol.eligibility, group)):
            path = ("eligibility", group, index)
            if criterion.id in seen:
                report.add((*path, "id"), f"duplicate criterion id {criterion.id!r}")
            seen.add(criterion.id)
            if criterion.expression is None:
                if criterion.assessment == "ehr":
                    report.add(
                        path,
                        "a criterion judged from EHR data needs an expression; "
                        "otherwise set assessment: investigator",
                    )
                continue
            syntax = fhirpath.syntax_problems(criterion.expression)
            for problem in syntax:
                report.add((*path, "expression"), problem)
            if not syntax:
                found = syntax_cache.remembered_clean(
                    "criterion-names",
                    criterion.expression,
                    partial(_name_problems, criterion.expression),
                )
                for problem in found:
                    report.add((*path, "expression"), problem)
                for problem in unit_problems(criterion.expression):
                    report.add((*path, "expression"), problem)


def unit_problems(expression: str) -> list[str]:
    """A Quantity's number compared without its unit (issue 12 item 8): a VAS recorded as
    35 mm passes ``>= 4`` meant in cm, platelets in 10*3/uL or 10*9/L look alike by luck.
    The expression must name the unit it expects, or convert."""
    if not _UNITLESS_NUMBER.search(expression):
        return []
    return [
        "reads a Quantity's number (value.value) whatever its unit, so a VAS of 35 mm passes "
        "'>= 4' meant in cm: name the unit, e.g. value.where(code = '10*9/L').value, or "
        "convert, e.g. value.select(iif(code = 'mm', value / 10, iif(code = 'cm', value, {})))"
    ]


def _name_problems(expression: str) -> list[str]:
    """Unknown ``%variables`` and elements the resource type does not have (both evaluate to
    nothing, so the criterion would silently be unknown for everyone)."""
    from edc.fhirpath import names  # loads fhirpathpy: only when not remembered (syntax_cache)

    unknown = names.unknown_variables(expression, CRITERION_VARIABLES)
    known = ", ".join(f"%{name}" for name in CRITERION_VARIABLES)
    problems = [f"unknown variable %{name} (criteria have {known})" for name in unknown]
    return problems + names.missing_elements(expression, {"%patient": "Patient"})


def _check_adverse_events(protocol: Protocol, library: Library, report: Reporter) -> None:
    settings = protocol.adverse_events
    ctcae = library.find_ctcae(settings.ctcae_version)
    if ctcae is None:
        report.add(
            ("adverse_events", "ctcae_version"),
            f"CTCAE {settings.ctcae_version} is not in the terminology library",
        )
        return
    seen: set[tuple[str, str | None]] = set()
    for index, expected in enumerate(settings.expected):
        path = ("adverse_events", "expected", index)
        key = (expected.term, expected.specify)
        if key in seen:
            report.add((*path, "term"), f"{expected.term!r} is listed twice")
        seen.add(key)
        term = ctcae.find_term(expected.term)
        if term is None:
            synonyms = library.ctcae_synonyms(ctcae.version)
            message = ctcae_suggest.unknown_term_message(expected.term, ctcae, synonyms)
            report.add((*path, "term"), message)
        elif term.needs_specify and not expected.specify:
            report.add(path, f"{term.term!r} needs 'specify' (the verbatim description)")
        elif expected.specify and not term.needs_specify:
            report.add((*path, "specify"), "only '... - Other, specify' terms take 'specify'")

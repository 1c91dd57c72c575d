"""Checks of eligibility criteria and adverse-event settings."""

from __future__ import annotations

from edc import fhirpath
from edc.library import Library, ctcae_suggest
from edc.located_yaml import Reporter
from edc.protocol.model import Protocol


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
            for problem in fhirpath.syntax_problems(criterion.expression):
                report.add((*path, "expression"), problem)


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

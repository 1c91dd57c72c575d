"""Adverse-event settings -> the CTCAE CodeSystem, the study's AE ValueSets and the AE form.

CTCAE terms are MedDRA Lowest Level Terms (mapping guide 6.2): the CodeSystem's codes are the
MedDRA LLT codes with the CTCAE term as display and the grade definitions as properties; when
sent to an EHR an AdverseEvent codes ``event`` with MedDRA itself. Grade, seriousness criteria,
relatedness and outcome use the NCIt codes of the AE Clinical Research R4 backport value sets.
"""

from __future__ import annotations

from typing import Any

from edc.compiler.context import CompileContext
from edc.compiler.datatypes import NCIT
from edc.compiler.naming import shared_id
from edc.items.model import AnswerOption, EnableWhen, Item
from edc.library import CtcaeTerminology
from edc.protocol.forms import FormContent

R4_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
GRADES = (
    ("C41338", "Grade 1 Mild Adverse Event"),
    ("C41339", "Grade 2 Moderate Adverse Event"),
    ("C41340", "Grade 3 Severe Adverse Event"),
    ("C41337", "Grade 4 Life Threatening or Disabling Adverse Event"),
    ("C48275", "Grade 5 Death Related to Adverse Event"),
)
SEVERITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"


def severity(grade: int) -> dict[str, Any]:
    """Core ``AdverseEvent.severity`` for a CTCAE grade, for EHRs that ignore the grade
    extension: 1 mild, 2 moderate, 3 and above severe (R4 has no stronger code)."""
    code = {1: "mild", 2: "moderate"}.get(grade, "severe")
    return {"coding": [{"system": SEVERITY_SYSTEM, "code": code, "display": code.capitalize()}]}


SERIOUSNESS_CRITERIA = (
    ("C48275", "Results in Death"),
    ("C84266", "Is Life Threatening"),
    ("C83052", "Requires Inpatient Hospitalization or Prolongation of Existing Hospitalization"),
    ("C11338", "Persistent or Significant Disability or Incapacity"),
    ("C83117", "Congenital Anomaly or Birth Defect"),
    ("C82521", "Other Medically Important Serious Event"),
)
RELATEDNESS = (
    ("C53256", "Not Related"),
    ("C53257", "Unlikely Related"),
    ("C53258", "Possibly Related"),
    ("C53260", "Related"),
)
OUTCOMES = (
    ("C49498", "Recovered/Resolved"),
    ("C49496", "Recovering/Resolving"),
    ("C49494", "Not Recovered/Not Resolved"),
    ("C49495", "Recovered/Resolved with Sequelae"),
    ("C48275", "Fatal"),
)
RESOLVED_OUTCOMES = ("C49498", "C49495")


def ctcae_url(ctx: CompileContext) -> str:
    return ctx.naming.shared_canonical("CodeSystem", "ctcae")


def terminology(ctx: CompileContext) -> CtcaeTerminology:
    ctcae = ctx.library.find_ctcae(ctx.protocol.adverse_events.ctcae_version)
    if ctcae is None:  # the protocol checks reject this before compiling
        raise LookupError(f"CTCAE {ctx.protocol.adverse_events.ctcae_version} is not shipped")
    return ctcae


def ctcae_code_system(ctx: CompileContext) -> dict[str, Any]:
    ctcae = terminology(ctx)
    properties = [{"code": "soc", "description": "MedDRA system organ class", "type": "string"}]
    properties += [
        {"code": f"grade-{grade}", "description": f"Grade {grade} definition", "type": "string"}
        for grade in range(1, 6)
    ]
    concepts = []
    for term in ctcae.terms:
        concept: dict[str, Any] = {"code": str(term.meddra_code), "display": term.term}
        if term.definition:
            concept["definition"] = term.definition
        concept["property"] = [{"code": "soc", "valueString": term.soc}] + [
            {"code": f"grade-{grade}", "valueString": text}
            for grade, text in sorted(term.grades.items())
            if text is not None
        ]
        concepts.append(concept)
    return {
        "resourceType": "CodeSystem",
        "id": shared_id("ctcae", ctcae.version),
        "url": ctcae_url(ctx),
        "version": ctcae.version,
        "name": "CTCAE",
        "title": f"Common Terminology Criteria for Adverse Events v{ctcae.version}",
        "status": "active",
        "publisher": "US National Cancer Institute (CTEP)",
        "description": (
            f"Each code is the MedDRA {ctcae.meddra_version} Lowest Level Term code of the "
            "CTCAE term; properties hold the SOC and the grade definitions."
        ),
        "copyright": ctcae.source,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "property": properties,
        "concept": concepts,
    }


# When NCI published each CTCAE version: the expansion's timestamp when the protocol has no date.
CTCAE_PUBLISHED = {"5.0": "2017-11-27"}


def terms_value_set(ctx: CompileContext) -> dict[str, Any]:
    """Every CTCAE term of the study's version: what the AE form's term question offers.

    It ships its expansion (issue 12 item 7): a form renderer without a terminology server
    (LHC-Forms, most EHR form engines) can only offer the terms listed in ``expansion``.
    """
    ctcae = terminology(ctx)
    value_set = {
        "resourceType": "ValueSet",
        "id": ctx.naming.resource_id("ae-terms"),
        "url": ctx.naming.canonical("ValueSet", "ae-terms"),
        "version": ctx.version,
        "name": ctx.naming.computable_name("AE", "terms"),
        "title": f"{ctx.protocol.study.short_title} adverse event terms (CTCAE {ctcae.version})",
        "status": "active",
        "compose": {"include": [{"system": ctcae_url(ctx), "version": ctcae.version}]},
    }
    timestamp = ctx.date or CTCAE_PUBLISHED.get(ctcae.version)
    if timestamp is not None:
        value_set["expansion"] = {
            "timestamp": timestamp,
            "total": len(ctcae.terms),
            "contains": [
                {
                    "system": ctcae_url(ctx),
                    "version": ctcae.version,
                    "code": str(term.meddra_code),
                    "display": term.term,
                }
                for term in ctcae.terms
            ],
        }
    return value_set


def expected_value_set(ctx: CompileContext) -> dict[str, Any]:
    """The adverse events the protocol anticipates (expectedness for SAE reporting)."""
    ctcae = terminology(ctx)
    concepts: dict[str, str] = {}
    for expected in ctx.protocol.adverse_events.expected:
        term = ctcae.find_term(expected.term)
        if term is not None:
            concepts.setdefault(str(term.meddra_code), term.term)
    include: dict[str, Any] = {"system": ctcae_url(ctx), "version": ctcae.version}
    if concepts:
        include["concept"] = [{"code": code, "display": text} for code, text in concepts.items()]
    value_set = {
        "resourceType": "ValueSet",
        "id": ctx.naming.resource_id("expected-aes"),
        "url": ctx.naming.canonical("ValueSet", "expected-aes"),
        "version": ctx.version,
        "name": ctx.naming.computable_name("expected", "AEs"),
        "title": f"{ctx.protocol.study.short_title} expected adverse events",
        "status": "active",
        "description": "; ".join(_expected_text(ctx)),
        "compose": {"include": [include]},
    }
    if not concepts:
        del value_set["compose"]
    return value_set


def _expected_text(ctx: CompileContext) -> list[str]:
    texts = []
    for expected in ctx.protocol.adverse_events.expected:
        text = expected.term + (f" ({expected.specify})" if expected.specify else "")
        texts.append(text + (f": {expected.note}" if expected.note else ""))
    return texts or ["none listed"]


def _options(codes: tuple[tuple[str, str], ...], system: str = NCIT) -> tuple[AnswerOption, ...]:
    return tuple(AnswerOption(code=code, display=display, system=system) for code, display in codes)


def ae_form(ctx: CompileContext) -> FormContent:
    """One adverse event per response (a log form, collected at any visit)."""
    settings = ctx.protocol.adverse_events
    terms_url = f"{ctx.naming.canonical('ValueSet', 'ae-terms')}|{ctx.version}"
    serious = EnableWhen(question="ae-serious", operator="=", answer=True)
    items = (
        Item(
            id="ae-term",
            text=f"CTCAE {settings.ctcae_version} term",
            type="choice",
            required=True,
            answer_value_set=terms_url,
        ),
        Item(
            id="ae-verbatim",
            text="Verbatim description as reported (required for 'Other, specify' terms)",
            type="string",
            required=True,
        ),
        Item(id="ae-onset", text="Onset date", type="date", required=True),
        Item(
            id="ae-grade",
            text="CTCAE grade",
            type="choice",
            required=True,
            options=tuple(
                AnswerOption(
                    code=code, display=display, system=NCIT, weight=grade
                )  # weight = the grade number
                for grade, (code, display) in enumerate(GRADES, 1)
            ),
        ),
        Item(id="ae-serious", text="Serious adverse event?", type="boolean", required=True),
        Item(
            id="ae-seriousness",
            text="Seriousness criteria",
            type="choice",
            repeats=True,
            required=True,
            enable_when=(serious,),
            options=_options(SERIOUSNESS_CRITERIA),
        ),
        Item(
            id="ae-aware-date",
            text="Date the site became aware of the serious adverse event "
            f"(report to the sponsor within {settings.serious_report_hours} hours)",
            type="date",
            required=True,
            enable_when=(serious,),
        ),
        Item(
            id="ae-relatedness",
            text="Relationship to the study procedure",
            type="choice",
            required=True,
            options=_options(RELATEDNESS),
        ),
        Item(
            id="ae-outcome",
            text="Outcome",
            type="choice",
            required=True,
            options=_options(OUTCOMES) + _options((("unknown", "Unknown"),), R4_OUTCOME),
        ),
        Item(
            id="ae-resolution-date",
            text="Date resolved",
            type="date",
            required=True,
            enable_when=tuple(
                EnableWhen(question="ae-outcome", operator="=", answer=code)
                for code in RESOLVED_OUTCOMES
            ),
            enable_behavior="any",
        ),
    )
    return FormContent(
        form_id=settings.form_id,
        title=f"Adverse event (CTCAE {settings.ctcae_version})",
        instrument=None,
        items=items,
        variables=(),
        scores=(),
    )

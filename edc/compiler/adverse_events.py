"""Adverse-event settings -> the CTCAE CodeSystem, the study's AE ValueSets and the AE form.

CTCAE terms are MedDRA Lowest Level Terms (mapping guide 6.2), and MedDRA is the one code
system of the term codes everywhere (issue 12 item 4): the ValueSets, so the AE form's answers,
and the AdverseEvents (``event``) code them with ``https://www.meddra.org``. The CTCAE
CodeSystem is a supplement of MedDRA: the LLT codes with the CTCAE term as display and the SOC
and grade definitions as properties. (Before, the ValueSets used the supplement's own URL as
the system; the sync still accepts that system for AdverseEvents, ``edc.sync.scope``.) Grade,
seriousness criteria, relatedness and outcome use the NCIt codes of the AE Clinical Research R4
backport value sets.
"""

from __future__ import annotations

from typing import Any

from edc.compiler.context import CompileContext
from edc.compiler.datatypes import EXT, NCIT, SDC
from edc.compiler.naming import shared_id
from edc.items.model import AnswerOption, EnableWhen, Item
from edc.library import CtcaeTerminology
from edc.library.ctcae import MEDDRA
from edc.protocol.edit_checks import EditCheck
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
            f"A supplement of MedDRA {ctcae.meddra_version}: each code is the Lowest Level Term "
            "code of a CTCAE term (system https://www.meddra.org in ValueSets and "
            "AdverseEvents); properties hold the SOC and the grade definitions."
        ),
        "copyright": ctcae.source,
        "caseSensitive": True,
        "content": "supplement",
        "supplements": f"{MEDDRA}|{ctcae.meddra_version}",
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
        "compose": {
            "include": [
                {
                    "system": MEDDRA,
                    "version": ctcae.meddra_version,
                    "concept": [
                        {"code": str(term.meddra_code), "display": term.term}
                        for term in ctcae.terms
                    ],
                }
            ]
        },
    }
    timestamp = ctx.date or CTCAE_PUBLISHED.get(ctcae.version)
    if timestamp is not None:
        value_set["expansion"] = {
            "timestamp": timestamp,
            "total": len(ctcae.terms),
            "contains": [
                {
                    "system": MEDDRA,
                    "version": ctcae.meddra_version,
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
    include: dict[str, Any] = {"system": MEDDRA, "version": ctcae.meddra_version}
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


TOGGLE = f"{SDC}/sdc-questionnaire-answerOptionsToggleExpression"
CONSTRAINT = f"{EXT}/questionnaire-constraint"
# The chosen term's code in the response being filled (SDC: %resource is the response).
TERM_CODE = "%resource.item.where(linkId='ae-term').answer.value.code"
GRADE_CODES = "item.where(linkId='ae-grade').answer.value.code"


def _lacking(ctcae: CtcaeTerminology, grade: int) -> str:
    """A FHIRPath string of the terms that do not define ``grade``: '|code|code|...|'."""
    codes = sorted(str(t.meddra_code) for t in ctcae.terms if grade not in t.allowed_grades())
    return "'|" + "|".join(codes) + "|'"


def _defines(ctcae: CtcaeTerminology, grade: int, term: str) -> str:
    """FHIRPath: true unless ``term`` (an expression) is a term that lacks ``grade``; true when
    no term is chosen yet."""
    return f"{_lacking(ctcae, grade)}.contains('|' & {term} & '|').not()"


def grade_checks(ctcae: CtcaeTerminology, form: str) -> list[EditCheck]:
    """The AE form's rules (issue 12 item 4), evaluated on its response: the grade is one the
    chosen CTCAE term defines, and grade 5 goes with outcome fatal and the seriousness
    criterion "results in death". The compiled form carries them as SDC
    ``questionnaire-constraint`` for form fillers; ``edc monitor run`` checks AE responses
    with them (edit-check queries); AdverseEvents meet the same rules on ingest
    (``edc.sync.safety``) and on the web entry page (``edc.actions.adverse_events``)."""
    per_grade = " and ".join(
        f"($this = '{code}' implies {_defines(ctcae, grade, TERM_CODE)})"
        for grade, (code, _) in enumerate(GRADES, 1)
    )
    death = GRADES[4][0]
    return [
        EditCheck(
            id="ae-grade-defined",
            form=form,
            item="ae-grade",
            expression=f"{GRADE_CODES}.all({per_grade})",
            message=(
                f"The grade must be one CTCAE {ctcae.version} defines for the chosen term "
                "(for example Back pain has grades 1 to 3 only)"
            ),
        ),
        EditCheck(
            id="ae-grade-5-death",
            form=form,
            item="ae-grade",
            expression=(
                f"({GRADE_CODES} contains '{death}') = "
                f"(item.where(linkId='ae-outcome').answer.value.code contains '{death}') and "
                f"(({GRADE_CODES} contains '{death}') implies "
                f"(item.where(linkId='ae-seriousness').answer.value.code contains '{death}'))"
            ),
            message=(
                "Grade 5 (death) goes with outcome fatal and the seriousness criterion "
                "'results in death', and the reverse"
            ),
        ),
    ]


def toggle_grades(ctx: CompileContext, questionnaire: dict[str, Any]) -> None:
    """Offer on the AE form's grade question only the grades the chosen term defines: SDC
    ``answerOptionsToggleExpression`` (an option stays enabled while its expression is true).
    Renderers without it still offer grades 1-5; ``grade_checks`` then refuses the response."""
    ctcae = terminology(ctx)
    for item in questionnaire["item"]:
        if item["linkId"] != "ae-grade":
            continue
        item.setdefault("extension", []).extend(
            {
                "url": TOGGLE,
                "extension": [
                    {"url": "option", "valueCoding": option["valueCoding"]},
                    {
                        "url": "expression",
                        "valueExpression": {
                            "language": "text/fhirpath",
                            "expression": _defines(ctcae, grade, TERM_CODE),
                        },
                    },
                ],
            }
            for grade, option in enumerate(item["answerOption"], 1)
        )

"""Adverse events of one subject: which occur, graded and dated, and their R4 AdverseEvents.

Occurrence, grade, onset window and relatedness come from the profile (``adverse_events``),
per patient or per treated vertebra (cement leakage in seed 004 is counted per vertebra). A
protocol without a profile gets each expected term at 2% (ASSUMPTION), at its lowest grade.
Grade >= 3 is serious (hospitalization; grade 4 also life-threatening). Serious events reach
the sponsor within the protocol's ``serious_report_hours`` except a ``late_sae_share`` of them
(and the sentinel one, so every run has a late report): those are recorded after the deadline.

Resources are the CORE-ONLY R4 variant for EHRs (mapping guide 6.3): no modifierExtension,
CTCAE term as MedDRA LLT in ``event``, grade in the ``ae-grade`` extension, dual-coded outcome
and causality, the site ResearchStudy in ``study``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from edc.compiler.adverse_events import GRADES, OUTCOMES
from edc.library import CtcaeTerm, CtcaeTerminology
from edc.library.ctcae import MEDDRA
from edc.protocol.model import AdverseEvents
from edc.synth import clinical, ids
from edc.synth.profile import AdverseEventRate, TestSae
from edc.synth.rng import Draw
from edc.trial.expectedness import is_expected

BACKPORT = "http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
_R4_OUTCOME = {
    "C49498": "resolved",
    "C49496": "recovering",
    "C49494": "ongoing",
    "C49495": "resolvedWithSequelae",
    "C48275": "fatal",
}
_CAUSALITY = {
    "related": ("Certain", "C53260", "Related"),
    "possible": ("Possible", "C53258", "Possibly Related"),
    "unlikely": ("Unlikely", "C53257", "Unlikely Related"),
    "not-related": (None, "C53256", "Not Related"),
}
DEFAULT_RATE = 0.02


@dataclasses.dataclass(frozen=True)
class Occurrence:
    term: CtcaeTerm
    verbatim: str
    grade: int
    onset: dt.date
    detected_minute: int
    report_delay_hours: int  # from detection to the record
    serious: bool
    outcome: str  # NCIt outcome code
    resolved_on: dt.date | None
    relatedness: str
    expected: bool
    late: bool  # a serious event recorded after the protocol's deadline
    level: int | None = None
    form_flag: str | None = None


def rates(
    profile_rates: Sequence[AdverseEventRate], settings: AdverseEvents
) -> list[AdverseEventRate]:
    """The profile's rates, or a default for each expected term when it has none."""
    if profile_rates:
        return list(profile_rates)
    return [
        AdverseEventRate(
            term=e.term,
            specify=e.specify,
            rate={"*": DEFAULT_RATE},
            grades={1: 1.0},
            source="default (no profile)",
        )
        for e in settings.expected
    ]


def draw_events(
    draw: Draw,
    *,
    table: Sequence[AdverseEventRate],
    ctcae: CtcaeTerminology,
    settings: AdverseEvents,
    arm: str,
    index_day: dt.date,
    levels: Sequence[int],
    last_day: dt.date,
    late_share: float,
    sentinel: bool,
    test_sae: TestSae | None = None,
) -> list[Occurrence]:
    """Every AE of one subject, by onset."""
    events: list[Occurrence] = []
    for rate in table:
        term = ctcae.find_term(rate.term)
        if term is None:
            continue
        allowed = set(term.allowed_grades())
        grades = [(g, w) for g, w in rate.grades.items() if g in allowed] or [(min(allowed), 1.0)]
        places: Sequence[int | None] = levels if rate.per == "vertebra" else [None]
        for level in places:
            if not draw.chance(rate.rate_for(arm)):
                continue
            grade = draw.pick(grades)
            onset = index_day + dt.timedelta(days=draw.integer(*rate.onset_days))
            if onset > last_day:
                continue
            events.append(
                _occurrence(
                    draw,
                    rate,
                    term,
                    grade,
                    onset,
                    level,
                    late_share,
                    settings,
                    is_expected(settings.expected, term.term, rate.specify),
                )
            )
    if sentinel:
        pick = sentinel_event(table, ctcae, arm, test_sae or TestSae())
        if pick is not None:
            rate, term = pick
            onset = min(index_day + dt.timedelta(days=1), last_day)
            event = _occurrence(
                draw,
                rate,
                term,
                3,
                onset,
                None,
                1.0,
                settings,
                is_expected(settings.expected, term.term, rate.specify),
            )
            events.append(event)
    return sorted(events, key=lambda e: (e.onset, e.detected_minute))


def sentinel_event(
    table: Sequence[AdverseEventRate], ctcae: CtcaeTerminology, arm: str, test_sae: TestSae
) -> tuple[AdverseEventRate, CtcaeTerm] | None:
    """The test SAE a subject of ``arm`` gets (None: the profile puts none in this arm)."""
    if test_sae.arm is not None and arm != test_sae.arm:
        return None
    if test_sae.term is not None:
        term = ctcae.find_term(test_sae.term)
        if term is None or 3 not in term.allowed_grades():
            return None
        named = next((r for r in table if r.term == test_sae.term), None)
        rate = named or AdverseEventRate(
            term=term.term,
            specify=test_sae.specify,
            rate={arm: 0.0},
            grades={3: 1.0},
            source=test_sae.source or "profile test_sae",
        )
        return rate, term
    for rate in table:
        term = ctcae.find_term(rate.term)
        if (
            term is not None
            and 3 in term.allowed_grades()
            and rate.per == "patient"
            and rate.rate_for(arm) > 0
        ):
            return rate, term
    return None


def _occurrence(
    draw: Draw,
    rate: AdverseEventRate,
    term: CtcaeTerm,
    grade: int,
    onset: dt.date,
    level: int | None,
    late_share: float,
    settings: AdverseEvents,
    expected: bool,
) -> Occurrence:
    serious = grade >= 3
    hours = settings.serious_report_hours
    late = serious and draw.chance(late_share)
    if not serious:
        delay = draw.integer(2, 24 * 7)
    elif late:
        delay = hours + draw.integer(1, 72)
    else:
        delay = draw.integer(1, max(1, hours - 1))
    outcome, resolved = _outcome(draw, rate, grade, onset)
    verbatim = rate.specify or term.term
    if level is not None:
        verbatim = f"{verbatim} ({clinical.vertebra(level)})"
    return Occurrence(
        term=term,
        verbatim=verbatim,
        grade=grade,
        onset=onset,
        detected_minute=draw.integer(480, 1200),
        report_delay_hours=delay,
        serious=serious,
        outcome=outcome,
        resolved_on=resolved,
        relatedness=rate.relatedness,
        expected=expected,
        late=late,
        level=level,
        form_flag=rate.form_flag,
    )


def _outcome(
    draw: Draw, rate: AdverseEventRate, grade: int, onset: dt.date
) -> tuple[str, dt.date | None]:
    # ASSUMPTION: grade 1-2 resolve within two weeks; grade 3 mostly within a month.
    if rate.outcome == "not-resolved":
        return "C49494", None
    if grade <= 2:
        return "C49498", onset + dt.timedelta(days=draw.integer(1, 14))
    outcome = draw.pick([("C49498", 0.7), ("C49496", 0.2), ("C49495", 0.1)])
    resolved = onset + dt.timedelta(days=draw.integer(7, 30))
    return outcome, None if outcome == "C49496" else resolved


@dataclasses.dataclass(frozen=True)
class AeContext:
    run: ids.RunIds
    study_id: str
    subject_id: str
    patient_id: str
    research_subject_id: str
    procedure_id: str
    site_study_id: str
    tz: dt.timezone
    meddra_version: str


def resource(event: Occurrence, number: int, ctx: AeContext) -> dict[str, Any]:
    """The core-only R4 AdverseEvent of one occurrence (``number``: 1-based per subject)."""
    detected = dt.datetime.combine(
        event.onset, dt.time(event.detected_minute // 60, event.detected_minute % 60), ctx.tz
    )
    recorded = (detected + dt.timedelta(hours=event.report_delay_hours)).isoformat()
    rid = ids.resource_id(ctx.patient_id, "ae", str(number))
    code, display = GRADES[event.grade - 1]
    extensions: list[dict[str, Any]] = [
        {
            "url": f"{BACKPORT}/ae-grade",
            "valueCodeableConcept": {
                "coding": [{"system": NCIT, "code": code, "display": display}],
                "text": f"CTCAE Grade {event.grade}",
            },
        },
    ]
    if event.serious:
        criteria = [("C83052", "Requires Inpatient Hospitalization")]
        if event.grade >= 4:
            criteria.append(("C84266", "Is Life Threatening"))
        extensions += [
            {
                "url": f"{BACKPORT}/seriousness-criteria",
                "extension": [
                    {
                        "url": "criterionCode",
                        "valueCodeableConcept": {
                            "coding": [{"system": NCIT, "code": c, "display": d}]
                        },
                    },
                    {"url": "criterionPresent", "valueBoolean": True},
                ],
            }
            for c, d in criteria
        ]
    extensions.append(
        {"url": f"{BACKPORT}/expected-in-research-study", "valueBoolean": event.expected}
    )
    if event.resolved_on is not None:
        extensions.append(
            {"url": f"{BACKPORT}/resolve-date", "valueDateTime": event.resolved_on.isoformat()}
        )
    subject = {"reference": f"ResearchSubject/{ctx.research_subject_id}"}
    extensions.append({"url": f"{BACKPORT}/research-subject-ref", "valueReference": subject})
    outcome_display = dict(OUTCOMES)[event.outcome]
    r4_code, nci_code, nci_display = _CAUSALITY[event.relatedness]
    assessment = [{"system": NCIT, "code": nci_code, "display": nci_display}]
    if r4_code is not None:
        assessment.insert(
            0,
            {
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess",
                "code": r4_code,
            },
        )
    seriousness = "serious" if event.serious else "non-serious"
    return {
        "resourceType": "AdverseEvent",
        "id": rid,
        "meta": ids.meta(recorded),
        "extension": extensions,
        "identifier": {
            "system": ctx.run.system("ae"),
            "value": f"{ctx.study_id}.{ctx.subject_id}.AE{number:03d}",
        },
        "actuality": "actual",
        "event": {
            "coding": [
                {
                    "system": MEDDRA,
                    "version": ctx.meddra_version,
                    "code": str(event.term.meddra_code),
                    "display": event.term.term,
                }
            ],
            "text": event.verbatim,
        },
        "subject": {"reference": f"Patient/{ctx.patient_id}"},
        "date": detected.isoformat(),
        "detected": detected.isoformat(),
        "recordedDate": recorded,
        "seriousness": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                    "code": seriousness,
                    "display": seriousness.capitalize(),
                }
            ]
        },
        "outcome": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                    "code": _R4_OUTCOME[event.outcome],
                },
                {"system": NCIT, "code": event.outcome, "display": outcome_display},
            ]
        },
        "suspectEntity": [
            {
                "instance": {"reference": f"Procedure/{ctx.procedure_id}"},
                "causality": [{"assessment": {"coding": assessment}}],
            }
        ],
        "study": [{"reference": f"ResearchStudy/{ctx.site_study_id}"}],
    }

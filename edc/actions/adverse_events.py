"""Adverse events entered by the site, and the reporting clock of serious ones.

An entry becomes an R4 AdverseEvent (core elements plus the AE Clinical Research backport
extensions, as the mapping guide's section 6 and the sync expect) and goes through the same
ingest as synced events (``edc.actions.entry``). A serious event starts its reporting clock
when the site becomes aware of it: the protocol's ``serious_report_hours`` later it is due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from edc import errors
from edc.actions import entry, subjects
from edc.actions.access import ENTER_DATA, Access
from edc.actions.definitions import StudyDefinition
from edc.clock import Clock
from edc.compiler.adverse_events import (
    GRADES,
    OUTCOMES,
    RELATEDNESS,
    SERIOUSNESS_CRITERIA,
    severity,
)
from edc.library import CtcaeTerm
from edc.library.ctcae import MEDDRA
from edc.sync import load_scope
from edc.sync.safety import BACKPORT, NCIT, R4_OUTCOME
from edc.trial.expectedness import is_expected
from edc.warehouse import casebook, db, study_overview

SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
# NCIt outcome -> R4 AdverseEvent.outcome (mapping guide 6.3: dual-coded).
R4_OUTCOME_OF = {
    "C49498": "resolved",
    "C49496": "recovering",
    "C49494": "ongoing",
    "C49495": "resolvedWithSequelae",
    "C48275": "fatal",
}
RESOLVED = frozenset({"C49498", "C49495"})
FATAL = "C48275"
RESULTS_IN_DEATH = "C48275"


@dataclasses.dataclass(frozen=True)
class AdverseEventEntry:
    """What the site enters. Times are aware (the page sends the browser's offset)."""

    term: str  # the CTCAE term, exactly as published, or its MedDRA code
    grade: int
    serious: bool
    onset: dt.datetime
    relatedness: str  # NCIt code (RELATEDNESS)
    outcome: str  # NCIt code (OUTCOMES)
    verbatim: str = ""
    criteria: tuple[str, ...] = ()  # NCIt codes (SERIOUSNESS_CRITERIA), serious events only
    aware_at: dt.datetime | None = None  # serious events: when the site learned of it
    resolved_at: dt.datetime | None = None


def find_term(definition: StudyDefinition, term: str) -> CtcaeTerm | None:
    """A CTCAE term of the study's version, by exact name or MedDRA code."""
    found = definition.ctcae.find_term(term.strip())
    if found is None and term.strip().isdigit():
        found = definition.ctcae.find_code(int(term.strip()))
    return found


def search_terms(definition: StudyDefinition, query: str, limit: int = 20) -> list[CtcaeTerm]:
    """Terms whose name contains every word of ``query`` (names starting with it first)."""
    words = query.lower().split()
    if not words:
        return []
    found = [t for t in definition.ctcae.terms if all(w in t.term.lower() for w in words)]
    found.sort(key=lambda t: (not t.term.lower().startswith(words[0]), t.term))
    return found[:limit]


def check_entry(definition: StudyDefinition, ae: AdverseEventEntry, now: dt.datetime) -> CtcaeTerm:
    """The entry's term, after every rule an entry must meet.

    :raises errors.ProblemsError: naming each field that is wrong.
    """
    wrong: list[tuple[str, str]] = []
    term = find_term(definition, ae.term)
    if term is None:
        wrong.append(("term", f"{ae.term!r} is not a CTCAE {definition.ctcae.version} term"))
    elif ae.grade not in term.allowed_grades():
        grades = ", ".join(map(str, term.allowed_grades()))
        wrong.append(
            ("grade", f"grade {ae.grade} is not defined for {term.term} (grades: {grades})")
        )
    elif term.needs_specify and not ae.verbatim.strip():
        wrong.append(("verbatim", f"{term.term} needs the event described (Other, specify)"))
    if ae.relatedness not in dict(RELATEDNESS):
        wrong.append(("relatedness", f"unknown relatedness {ae.relatedness!r}"))
    if ae.outcome not in dict(OUTCOMES):
        wrong.append(("outcome", f"unknown outcome {ae.outcome!r}"))
    if (ae.grade == 5) != (ae.outcome == FATAL):
        wrong.append(("outcome", "grade 5 (death) and outcome fatal go together"))
    unknown = [c for c in ae.criteria if c not in dict(SERIOUSNESS_CRITERIA)]
    if unknown:
        wrong.append(("criteria", f"unknown seriousness criteria {', '.join(unknown)}"))
    if ae.serious and not ae.criteria:
        wrong.append(("criteria", "a serious event needs at least one seriousness criterion"))
    if not ae.serious and ae.criteria:
        wrong.append(("criteria", "a non-serious event has no seriousness criteria"))
    if ae.grade == 5 and RESULTS_IN_DEATH not in ae.criteria:
        wrong.append(("criteria", "a grade 5 event is serious: results in death"))
    if ae.onset > now:
        wrong.append(("onset", "onset is in the future"))
    if ae.serious and ae.aware_at is not None and not ae.onset <= ae.aware_at <= now:
        wrong.append(("aware_at", "the site became aware between onset and now"))
    if ae.outcome in RESOLVED and ae.resolved_at is None:
        wrong.append(("resolved_at", "a resolved event needs the date it resolved"))
    if ae.outcome not in RESOLVED and ae.resolved_at is not None:
        wrong.append(("resolved_at", "only a resolved event has a resolution date"))
    if ae.resolved_at is not None and not ae.onset <= ae.resolved_at <= now:
        wrong.append(("resolved_at", "resolution must lie between onset and now"))
    if wrong or term is None:
        raise errors.ProblemsError(
            "the adverse event was not saved",
            [errors.Problem("adverse event", field, message) for field, message in wrong],
        )
    return term


def record_adverse_event(
    engine: Engine,
    *,
    access: Access,
    definition: StudyDefinition,
    code: str,
    ae: AdverseEventEntry,
    clock: Clock,
) -> int:
    """Record an adverse event of subject ``code``; returns its ``adverse_event`` id.

    :raises errors.NotFoundError: no such subject for this user.
    :raises errors.NotPermittedError: the user's role may not enter data at its site.
    :raises errors.ProblemsError: the entry breaks a rule or fails the sync's checks.
    """
    now = clock.now()
    term = check_entry(definition, ae, now)
    makers = db.make_makers(engine)
    with db.transaction(makers.reader) as session:
        subject = subjects.get_subject(session=session, access=access, code=code)
        role = access.require(ENTER_DATA, subject.site_id)
        link = casebook.find_patient_link(session=session, subject_id=subject.id)
        scope = load_scope(session=session, study_code=access.study_code)
    if link is None:
        raise errors.BadInputError(f"subject {code} has no hospital patient record")
    site_study = next(
        (rid for rid, site in sorted(scope.research_studies.items()) if site == subject.site_code),
        None,
    )
    if site_study is None:
        raise errors.BadInputError(f"site {subject.site_code} has no ResearchStudy")
    resource = _resource(definition, ae, term, link.patient_id, site_study, now)
    ingested = entry.ingest_entered(
        engine,
        study_code=access.study_code,
        source=link.source,
        resource=resource,
        person=entry.Person(access.username, role),
        clock=clock,
        queue_for_site=entry.SiteServer(
            access.study_id, subject.site_id, definition.protocol.study.canonical_base
        ),
    )
    with db.transaction(makers.reader) as session:
        found = casebook.find_adverse_event_of_raw(
            session=session, raw_resource_id=ingested.raw_resource_id
        )
    if found is None:  # ingest_entered raises first
        raise errors.BadInputError("the adverse event was not stored")
    return found


def _resource(
    definition: StudyDefinition,
    ae: AdverseEventEntry,
    term: CtcaeTerm,
    patient_id: str,
    site_study: str,
    now: dt.datetime,
) -> dict[str, Any]:
    grade_code, grade_display = GRADES[ae.grade - 1]
    extensions: list[dict[str, Any]] = [
        {
            "url": f"{BACKPORT}/ae-grade",
            "valueCodeableConcept": {
                "coding": [{"system": NCIT, "code": grade_code, "display": grade_display}],
                "text": f"CTCAE v{definition.ctcae.version} Grade {ae.grade}",
            },
        }
    ]
    criteria = dict(SERIOUSNESS_CRITERIA)
    extensions += [
        {
            "url": f"{BACKPORT}/seriousness-criteria",
            "extension": [
                {
                    "url": "criterionCode",
                    "valueCodeableConcept": {
                        "coding": [{"system": NCIT, "code": c, "display": criteria[c]}]
                    },
                },
                {"url": "criterionPresent", "valueBoolean": True},
            ],
        }
        for c in ae.criteria
    ]
    expected = is_expected(definition.protocol.adverse_events.expected, term.term, ae.verbatim)
    extensions.append({"url": f"{BACKPORT}/expected-in-research-study", "valueBoolean": expected})
    if ae.resolved_at is not None:
        extensions.append(
            {"url": f"{BACKPORT}/resolve-date", "valueDateTime": ae.resolved_at.isoformat()}
        )
    seriousness = "serious" if ae.serious else "non-serious"
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": entry.new_resource_id(),
        "meta": {"versionId": "1"},
        "extension": extensions,
        "actuality": "actual",
        "event": {
            "coding": [
                {
                    "system": MEDDRA,
                    "version": definition.ctcae.meddra_version,
                    "code": str(term.meddra_code),
                    "display": term.term,
                }
            ],
            **({"text": ae.verbatim.strip()} if ae.verbatim.strip() else {}),
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": ae.onset.isoformat(),
        "recordedDate": now.isoformat(),
        "seriousness": {"coding": [{"system": SERIOUSNESS, "code": seriousness}]},
        "severity": severity(ae.grade),
        "outcome": {
            "coding": [
                {"system": R4_OUTCOME, "code": R4_OUTCOME_OF[ae.outcome]},
                {"system": NCIT, "code": ae.outcome, "display": dict(OUTCOMES)[ae.outcome]},
            ]
        },
        "suspectEntity": [
            {
                "instance": {"display": "study procedure"},
                "causality": [
                    {
                        "assessment": {
                            "coding": [
                                {
                                    "system": NCIT,
                                    "code": ae.relatedness,
                                    "display": dict(RELATEDNESS)[ae.relatedness],
                                }
                            ]
                        }
                    }
                ],
            }
        ],
        "study": [{"reference": f"ResearchStudy/{site_study}"}],
    }
    if ae.serious:
        resource["detected"] = (ae.aware_at or now).isoformat()
    return resource


@dataclasses.dataclass(frozen=True)
class ReportingClock:
    """A serious event's reporting clock: aware at, due at, reported at."""

    aware_at: dt.datetime | None
    due_at: dt.datetime | None
    reported_at: dt.datetime | None
    state: str  # "on time", "late", "due", "overdue", "unknown"


def reporting_clock(
    aware_at: dt.datetime | None, reported_at: dt.datetime | None, hours: int, now: dt.datetime
) -> ReportingClock:
    """Where a serious event stands against the protocol's reporting limit."""
    if aware_at is None:
        return ReportingClock(None, None, reported_at, "unknown")
    due = aware_at + dt.timedelta(hours=hours)
    if reported_at is not None:
        state = "on time" if reported_at <= due else "late"
    else:
        state = "due" if now <= due else "overdue"
    return ReportingClock(aware_at, due, reported_at, state)


@dataclasses.dataclass(frozen=True)
class SeriousEventLine:
    adverse_event_id: int
    subject_code: str
    site_code: str
    term: str
    grade: int
    onset: dt.date
    clock: ReportingClock
    verbatim: str | None = None  # the "Other, specify" text
    expected: bool = True  # on the protocol's expected list (term, and specify text)


def serious_event_lines(
    *,
    session: Session,
    access: Access,
    definition: StudyDefinition,
    now: dt.datetime,
    days: int = 90,
) -> list[SeriousEventLine]:
    """Serious events of the last ``days`` days with their reporting clocks, and whether
    each is expected (an unexpected one may need expedited reporting)."""
    hours = definition.protocol.adverse_events.serious_report_hours
    events = study_overview.list_serious_events(
        session=session,
        study_id=access.study_id,
        site_ids=access.site_ids,
        since=now.date() - dt.timedelta(days=days),
    )
    return [
        SeriousEventLine(
            e.adverse_event_id,
            e.subject_code,
            e.site_code,
            e.term,
            e.grade,
            e.onset,
            reporting_clock(aware_time(session, e.raw_resource_id), e.reported_at, hours, now),
            e.verbatim,
            is_expected(definition.protocol.adverse_events.expected, e.term, e.verbatim),
        )
        for e in events
    ]


def aware_time(session: Session, raw_resource_id: int | None) -> dt.datetime | None:
    """When the site became aware of an event: its ``detected`` (else its onset)."""
    raw = casebook.find_raw(session=session, raw_id=raw_resource_id)
    if raw is None:
        return None
    resource = orjson.loads(raw.json_text)
    text = resource.get("detected") or resource.get("date")
    try:
        when = dt.datetime.fromisoformat(text) if isinstance(text, str) and "T" in text else None
    except ValueError:
        return None
    return when.astimezone(dt.UTC) if when is not None and when.tzinfo is not None else None

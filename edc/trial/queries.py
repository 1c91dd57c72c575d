"""Data queries: their states, who may move them, and the FHIR Task the site sees (pure).

A query is ``open`` (asked, waiting for the site), ``answered`` (the site replied or corrected
the data, waiting for the monitor), ``closed`` (the monitor accepted it) or ``cancelled``. The
monitor (or data manager) opens, closes and reopens; the site team answers. Each move appends a
message and is audited. The site sees the query in its EHR worklist as a FHIR ``Task``
addressed to the site (``owner``), focused on the QuestionnaireResponse (or the Patient), whose
status follows the query's; it is written through the outbox, conditional on its identifier,
so every state is one upsert of the same Task.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from edc.trial.permissions import Action
from edc.trial.writeback import StudyRefs

# verb -> (states it may start from, the state it leaves the query in, the action it needs)
MOVES: dict[str, tuple[tuple[str, ...], str, Action]] = {
    "answer": (("open",), "answered", Action.ANSWER_QUERY),
    "close": (("open", "answered"), "closed", Action.MANAGE_QUERY),
    "reopen": (("answered", "closed"), "open", Action.MANAGE_QUERY),
    "cancel": (("open", "answered"), "cancelled", Action.MANAGE_QUERY),
}
# Query status -> FHIR R4 Task.status.
TASK_STATUS = {
    "open": "requested",
    "answered": "in-progress",
    "closed": "completed",
    "cancelled": "cancelled",
}


def refusal(verb: str, status: str, query_id: int) -> str | None:
    """Why ``verb`` cannot be done to a query in ``status`` (None when it can)."""
    starts, _, _ = MOVES[verb]
    if status in starts:
        return None
    when = " or ".join(starts)
    return f"query {query_id} is {status}: it cannot be {past(verb)} (only when {when})"


def past(verb: str) -> str:
    return {"answer": "answered", "close": "closed", "reopen": "reopened", "cancel": "cancelled"}[
        verb
    ]


def age_days(opened_at: dt.datetime, closed_at: dt.datetime | None, now: dt.datetime) -> int:
    """Days a query has been (or was) open."""
    return ((closed_at or now) - opened_at).days


@dataclasses.dataclass(frozen=True)
class TaskFacts:
    query_id: int
    status: str
    subject_code: str
    patient_id: str
    response_id: str | None  # the QuestionnaireResponse's logical id on the site's server
    form: str | None
    link_id: str | None
    opened_at: dt.datetime
    changed_at: dt.datetime
    messages: tuple[tuple[str, dt.datetime, str], ...]  # author, when, text


def task_identifier(refs: StudyRefs, query_id: int) -> tuple[str, str]:
    return refs.system(f"query/{refs.study_code}"), str(query_id)


def task(refs: StudyRefs, facts: TaskFacts) -> dict[str, Any]:
    """The R4 Task for the site's worklist."""
    system, value = task_identifier(refs, facts.query_id)
    patient = {"reference": f"Patient/{facts.patient_id}"}
    focus = (
        {"reference": f"QuestionnaireResponse/{facts.response_id}"}
        if facts.response_id
        else patient
    )
    where = " ".join(
        part
        for part in (
            f"subject {facts.subject_code}",
            f"form {facts.form}" if facts.form else None,
            f"item {facts.link_id}" if facts.link_id else None,
        )
        if part
    )
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": system, "value": value}],
        "status": TASK_STATUS[facts.status],
        "intent": "order",
        "code": {"text": "clinical trial data query"},
        "description": f"{refs.study_code} data query {facts.query_id} on {where}",
        "focus": focus,
        "for": patient,
        "authoredOn": facts.opened_at.isoformat(),
        "lastModified": facts.changed_at.isoformat(),
        "owner": {
            "type": "Organization",
            "identifier": {"system": refs.system("site"), "value": refs.site_code},
            "display": f"site {refs.site_code} of {refs.study_code}",
        },
        "basedOn": [{"reference": f"ResearchStudy/{refs.site_study_id}"}],
        "note": [
            {"authorString": author, "time": when.isoformat(), "text": text}
            for author, when, text in facts.messages
        ],
    }
    if facts.link_id:
        resource["input"] = [{"type": {"text": "linkId"}, "valueString": facts.link_id}]
    return resource

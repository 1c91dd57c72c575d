"""CRF entry in the web application: a form filled in the browser becomes a stored response.

The browser (LHC-Forms) sends a QuestionnaireResponse; only its ``item`` tree is taken. edc
sets everything else itself: the id (given to the page when it was opened, so a second click
on "submit" cannot store the form twice), version, Questionnaire, subject, encounter, author
and time. The calculated scores are computed here from the answers (``edc.forms``); a submitted
score that disagrees is refused. The response then goes through the same ingest as a synced
one (``edc.actions.entry``) and, in the same transaction, to the outbox for the hospital's FHIR
server (``edc push`` delivers it; a changed form updates the hospital's copy). Changing a stored
form makes a new version and needs a reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from edc import errors
from edc.actions import entry, subjects
from edc.actions.access import ENTER_DATA, Access
from edc.actions.definitions import StudyDefinition
from edc.clock import Clock
from edc.forms import ScoreError, evaluate_scores, write_scores
from edc.forms.scores import CALCULATED_EXPRESSION
from edc.protocol.forms import VISIT_ITEM
from edc.sync.incoming import reference_id
from edc.warehouse import casebook, db

RESPONSE = "QuestionnaireResponse"


@dataclasses.dataclass(frozen=True)
class FormTarget:
    """Which form of which subject is being entered or changed."""

    code: str
    form_id: str
    visit_id: str | None = None
    response_id: int | None = None  # set when changing a stored form


@dataclasses.dataclass(frozen=True)
class Stored:
    response_id: int
    resource_id: str
    version: int


def submit_form(
    engine: Engine,
    *,
    access: Access,
    definition: StudyDefinition,
    target: FormTarget,
    posted: Any,
    resource_id: str | None,
    person_name: str,
    clock: Clock,
    reason: str | None = None,
) -> Stored:
    """Store a form entered (or changed) in the browser.

    :param posted: the QuestionnaireResponse the page sent (only ``item`` is used).
    :param resource_id: for a new form, the id the page was given (``entry.new_resource_id``).
    :param reason: required when ``target.response_id`` is set (a change).
    :raises errors.NotFoundError: subject, form, visit or stored response not found for this
        user.
    :raises errors.NotPermittedError: the user's role may not enter data at the subject's site.
    :raises errors.BadInputError: a malformed submission, a missing reason, a form already
        stored under this id.
    :raises errors.ProblemsError: the response failed the checks (nothing was saved).
    """
    items = _posted_items(posted, definition.questionnaire(target.form_id))
    makers = db.make_makers(engine)
    with db.transaction(makers.reader) as session:
        place = check_target(session=session, access=access, definition=definition, target=target)
        if target.response_id is None:
            logical_id, version = _new_id(session, place.source, resource_id)
            encounter, status = place.encounter, "completed"
        else:
            if not (reason or "").strip():
                raise errors.BadInputError("a reason is required to change a stored form")
            encounter, logical_id, version = _stored_response(
                session, place.subject_id, target, target.response_id
            )
            status = "amended"
    questionnaire = definition.questionnaire(target.form_id)
    resource: dict[str, Any] = {
        "resourceType": RESPONSE,
        "id": logical_id,
        "meta": {"versionId": str(version)},
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "status": status,
        "subject": {"reference": f"Patient/{place.patient_id}"},
        **({"encounter": {"reference": encounter}} if encounter else {}),
        "authored": clock.now().isoformat(),
        "author": {"display": person_name},
        "item": items,
    }
    resource = with_visit(questionnaire, resource, target.visit_id)
    resource = _with_scores(questionnaire, resource)
    ingested = entry.ingest_entered(
        engine,
        study_code=access.study_code,
        source=place.source,
        resource=resource,
        person=entry.Person(access.username, place.role),
        clock=clock,
        reason=reason.strip() if reason else None,
        queue_for_site=entry.SiteServer(
            access.study_id, place.site_id, definition.protocol.study.canonical_base
        ),
    )
    with db.transaction(makers.reader) as session:
        response = casebook.find_response_of_raw(
            session=session, subject_id=place.subject_id, raw_resource_id=ingested.raw_resource_id
        )
    if response is None:  # ingest_entered raises before this can happen
        raise errors.BadInputError("the form was not stored")
    return Stored(response.id, logical_id, version)


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a form is entered: the subject, the person's role there, the hospital record."""

    subject_id: int
    role: str
    source: str
    patient_id: str
    encounter: str | None
    site_id: int


def check_target(
    *, session: Session, access: Access, definition: StudyDefinition, target: FormTarget
) -> Place:
    """Whether the user may enter ``target`` now, and where it goes.

    :raises errors.NotFoundError: no such subject, form or visit for this user.
    :raises errors.NotPermittedError: the user's role may not enter data at the subject's site.
    :raises errors.BadInputError: the form is not collected at the visit, or the visit has not
        taken place.
    """
    definition.questionnaire(target.form_id)
    subject = subjects.get_subject(session=session, access=access, code=target.code)
    role = access.require(ENTER_DATA, subject.site_id)
    link = casebook.find_patient_link(session=session, subject_id=subject.id)
    if link is None:
        raise errors.BadInputError(f"subject {target.code} has no hospital patient record")
    encounter = _encounter_of(session, definition, subject.id, target)
    return Place(subject.id, role, link.source, link.patient_id, encounter, subject.site_id)


def stored_resource(
    *, session: Session, access: Access, code: str, response_id: int
) -> dict[str, Any]:
    """The newest stored version of a subject's form, as the QuestionnaireResponse it is.

    :raises errors.NotFoundError: no such subject or form for this user.
    """
    subject = subjects.get_subject(session=session, access=access, code=code)
    response = casebook.find_response(
        session=session, subject_id=subject.id, response_id=response_id
    )
    raw = casebook.find_raw(session=session, raw_id=response.raw_resource_id) if response else None
    if raw is None:
        raise errors.NotFoundError(f"no stored form #{response_id} for {code}")
    resource: dict[str, Any] = orjson.loads(raw.json_text)
    return resource


def questionnaire_at(questionnaire: Mapping[str, Any], visit_id: str | None) -> dict[str, Any]:
    """The Questionnaire as entered at ``visit_id``: a form with visit-specific items gets the
    visit as its hidden visit item's initial value (so the page enables the right items)."""
    result = dict(questionnaire)
    if visit_id and any(i.get("linkId") == VISIT_ITEM for i in questionnaire.get("item", ())):
        result["item"] = [
            {**item, "initial": [{"valueString": visit_id}]}
            if item.get("linkId") == VISIT_ITEM
            else item
            for item in questionnaire["item"]
        ]
    return result


def with_visit(
    questionnaire: Mapping[str, Any], resource: dict[str, Any], visit_id: str | None
) -> dict[str, Any]:
    """edc, not the browser, answers the visit item of a form with visit-specific items: the
    visit the form is entered at (a change keeps what the stored form says)."""
    if not any(i.get("linkId") == VISIT_ITEM for i in questionnaire.get("item", ())):
        return resource
    items = [i for i in resource["item"] if i.get("linkId") != VISIT_ITEM]
    stored = [i for i in resource["item"] if i.get("linkId") == VISIT_ITEM]
    if visit_id:
        items.append({"linkId": VISIT_ITEM, "text": "Visit", "answer": [{"valueString": visit_id}]})
    elif stored:
        items += stored[:1]
    return {**resource, "item": items}


def _posted_items(posted: Any, questionnaire: Mapping[str, Any]) -> list[Any]:
    if not isinstance(posted, dict) or posted.get("resourceType") != RESPONSE:
        raise errors.BadInputError("the submission is not a QuestionnaireResponse")
    named = posted.get("questionnaire")
    if named is not None and str(named).split("|", 1)[0] != questionnaire["url"]:
        raise errors.BadInputError(
            f"the submission answers {named}, not {questionnaire['url']}",
            "reload the form page and enter the data again",
        )
    items = posted.get("item", [])
    if not isinstance(items, list) or not items:
        raise errors.BadInputError("the form has no answers")
    return items


def _encounter_of(
    session: Any, definition: StudyDefinition, subject_id: int, target: FormTarget
) -> str | None:
    if target.visit_id is None:
        return None
    visit = next((v for v in definition.protocol.schedule.visits if v.id == target.visit_id), None)
    if visit is None:
        raise errors.NotFoundError(f"no visit {target.visit_id!r} in {definition.code}")
    if target.form_id not in visit.forms:
        raise errors.BadInputError(
            f"form {target.form_id!r} is not collected at visit {visit.id}",
            f"forms at {visit.id}: {', '.join(visit.forms)}",
        )
    happened = {v.visit_id: v for v in casebook.list_visits(session=session, subject_id=subject_id)}
    found = happened.get(visit.id)
    if found is None or not found.encounter_reference:
        raise errors.BadInputError(
            f"visit {visit.id} has not taken place yet for this subject",
            "record the visit (its date) first, or wait for its encounter from the EHR",
        )
    return found.encounter_reference


def _new_id(session: Any, source: str, resource_id: str | None) -> tuple[str, int]:
    if resource_id is None or not entry.is_entered_id(resource_id):
        raise errors.BadInputError("the form page is out of date: reload it")
    if casebook.find_raw_versions(
        session=session, source=source, resource_type=RESPONSE, logical_id=resource_id
    ):
        raise errors.BadInputError(
            "this form has been submitted already", "open it from the subject page to change it"
        )
    return resource_id, 1


def _stored_response(
    session: Any, subject_id: int, target: FormTarget, response_id: int
) -> tuple[str | None, str, int]:
    response = casebook.find_response(
        session=session, subject_id=subject_id, response_id=response_id
    )
    raw = casebook.find_raw(session=session, raw_id=response.raw_resource_id) if response else None
    if response is None or raw is None or raw.logical_id is None:
        raise errors.NotFoundError(f"no stored form #{target.response_id} for {target.code}")
    versions = casebook.find_raw_versions(
        session=session, source=raw.source, resource_type=RESPONSE, logical_id=raw.logical_id
    )
    numbers = [int(v) for v in versions if v and v.isdigit()]
    encounter = reference_id(orjson.loads(raw.json_text).get("encounter"), "Encounter")
    return (
        f"Encounter/{encounter}" if encounter else None,
        raw.logical_id,
        max(numbers, default=len(versions)) + 1,
    )


def _with_scores(questionnaire: Mapping[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """The response with edc's own scores; a submitted score that disagrees is refused."""
    calculated = _calculated_ids(questionnaire.get("item", ()))
    if not calculated:
        return resource
    try:
        scores = evaluate_scores(questionnaire, resource)
        submitted = _answers(resource.get("item", ()), calculated)
        wrong = [
            errors.Problem(
                f"QuestionnaireResponse.item.where(linkId='{link_id}')",
                "",
                f"submitted {submitted[link_id]}, computed from the answers {scores[link_id]}",
            )
            for link_id in sorted(submitted)
            if submitted[link_id] is not None and not _same(submitted[link_id], scores[link_id])
        ]
        if wrong:
            raise errors.ProblemsError("a calculated score disagrees with the answers", wrong)
        return write_scores(questionnaire, resource)
    except ScoreError as exc:
        raise errors.BadInputError(f"the scores cannot be computed: {exc.message}") from None


def _calculated_ids(items: Any) -> set[str]:
    found: set[str] = set()
    for item in items or ():
        if any(e.get("url") == CALCULATED_EXPRESSION for e in item.get("extension", ())):
            found.add(str(item["linkId"]))
        found |= _calculated_ids(item.get("item"))
    return found


def _answers(items: Any, wanted: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        if item.get("linkId") in wanted:
            values = [
                v
                for a in item.get("answer") or ()
                if isinstance(a, dict)
                for k, v in a.items()
                if k.startswith("value")
            ]
            found[str(item["linkId"])] = values[0] if values else None
        found.update(_answers(item.get("item"), wanted))
    return found


def _same(submitted: Any, computed: Any) -> bool:
    if computed is None:
        return False
    try:
        return Decimal(str(submitted)) == Decimal(str(computed))
    except ArithmeticError:
        return False

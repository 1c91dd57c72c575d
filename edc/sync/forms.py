"""QuestionnaireResponse -> form response + typed item values (the ingest hot path).

A response to one of the study's Questionnaires (any registered version) from an enrolled
subject is checked against that version's index and its received scores are recomputed
(``edc.sync.scores``); if it passes, its ``form_response`` row and item values are inserted
through the fast writer. A response that fails is kept raw with its problems. A newer version of
a response already normalized updates the rows in place.

Audit (issue 10's decision): a received version is audited once, as its ``raw_resource`` row;
the rows derived from it carry its id and get no audit rows of their own (``edc audit verify
--derived`` re-derives them; the history of a value comes from the stored versions,
``edc.sync.derived``). A form entered by a person (``Work.audit_derived``) keeps an audit row per
row inserted and per field changed, with "updated at source to versionId N" or their reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import delete, select, update

from edc.sync import echo, qcheck, scores
from edc.sync.incoming import date_time, reference_id
from edc.sync.store import Stored
from edc.sync.work import Work, latest_versions, newer, update_reason
from edc.warehouse import audit
from edc.warehouse.base import table_of
from edc.warehouse.tables.crf import FormResponseRow, ItemValueRow, VisitRow
from edc.warehouse.tables.subjects import SubjectRow

_RESPONSE = table_of(FormResponseRow)
_ITEM = table_of(ItemValueRow)
RESPONSE_COLUMNS = (
    "subject_id",
    "visit_id",
    "questionnaire_url",
    "questionnaire_version",
    "raw_resource_id",
    "fhir_version_id",
    "status",
    "authored",
)
ITEM_COLUMNS = ("response_id", *qcheck.VALUE_COLUMNS, "questionnaire_url", "questionnaire_version")


def normalize_responses(work: Work, items: Sequence[Stored]) -> None:
    """Normalize the study's responses among ``items`` (others stay raw, untouched)."""
    scope = work.scope
    ours = []
    for stored in latest_versions(items):
        canonical = stored.parsed.resource.get("questionnaire")
        url = canonical.split("|", 1)[0] if isinstance(canonical, str) else None
        if url in scope.questionnaire_urls:
            ours.append(stored)
    if not ours:
        return
    normalized = _normalized(work, ours)
    done = work.already_reported(s.raw_id for s in ours if s.state == "unchanged")
    work.load_subjects(
        pid for s in ours if (pid := reference_id(s.parsed.resource.get("subject"), "Patient"))
    )
    visits = _visits(work, ours)
    inserts: list[tuple[Stored, tuple[Any, ...], list[tuple[Any, ...]]]] = []
    for stored in ours:
        if stored.raw_id in normalized or stored.raw_id in done:
            continue  # this very version is in the tables already, or was reported
        checked = _check(work, stored, visits)
        if checked is None:
            continue
        row, values = checked
        earlier = [normalized[raw_id] for raw_id, _ in stored.previous if raw_id in normalized]
        if earlier:
            response_id, version = earlier[0]
            if stored.links_to or newer(stored.parsed.version_id, version):
                apply = _update if work.audit_derived else _update_derived
                work.guarded(stored, partial(apply, work, stored, response_id, row, values))
        else:
            inserts.append((stored, row, values))
    if inserts:
        audited = work.audit_derived
        ids = work.writer.insert(
            _RESPONSE, RESPONSE_COLUMNS, [row for _, row, _ in inserts],
            what="form responses", audited=audited,
        )  # fmt: skip
        rows = []
        for (_, row, values), response_id in zip(inserts, ids, strict=True):
            rows += [(response_id, *value, row[2], row[3]) for value in values]
        work.writer.insert(_ITEM, ITEM_COLUMNS, rows, what="item values", audited=audited)


def _check(
    work: Work, stored: Stored, visits: dict[tuple[int, str], str]
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
    """The form_response row and item values, or None after reporting why not."""
    resource = stored.parsed.resource
    url, _, version = str(resource["questionnaire"]).partition("|")
    index = work.scope.questionnaires.get((url, version))
    if index is None:
        known = sorted(v for u, v in work.scope.questionnaires if u == url)
        work.problem(stored, "unknown_questionnaire_version", f"{url} version {version!r} is "
                     f"not registered (registered: {', '.join(known)})",
                     "QuestionnaireResponse.questionnaire")  # fmt: skip
        return None
    patient_id = reference_id(resource.get("subject"), "Patient")
    subject_id = work.subject_of(patient_id) if patient_id else None
    if subject_id is None:
        work.problem(stored, "unknown_subject", f"Patient/{patient_id} is not an enrolled "
                     f"subject of {work.scope.code} at this source (yet)",
                     "QuestionnaireResponse.subject")  # fmt: skip
        return None
    checked = qcheck.check_response(index, resource)
    if checked.problems:
        for path, message in checked.problems:
            work.problem(stored, "invalid_response", message, path)
        return None
    wrong_scores = scores.score_problems(index, resource)
    if wrong_scores:
        for path, message in wrong_scores:
            work.problem(stored, "score_mismatch", message, path)
        return None
    encounter = _encounter(work, resource.get("encounter"))
    visit_id = visits.get((subject_id, encounter)) if encounter else None
    authored = date_time(resource.get("authored"))
    row = (
        subject_id, visit_id, url, version, stored.raw_id, stored.parsed.version_id,
        resource["status"], authored,
    )  # fmt: skip
    return row, checked.values


def _update(
    work: Work,
    stored: Stored,
    response_id: int,
    row: tuple[Any, ...],
    values: list[tuple[Any, ...]],
) -> None:
    session = work.session
    with audit.reason(session, update_reason(stored, audit.current(session).reason)):
        response = session.get_one(FormResponseRow, response_id)
        for name, value in zip(RESPONSE_COLUMNS, row, strict=True):
            if getattr(response, name) != value:
                setattr(response, name, value)
        existing = {
            (item.link_id, item.answer_index): item
            for item in session.scalars(
                select(ItemValueRow).where(ItemValueRow.response_id == response_id)
            )
        }
        for value in values:
            fields = dict(zip(qcheck.VALUE_COLUMNS, value, strict=True))
            item = existing.pop((value[0], value[1]), None)
            if item is None:
                session.add(ItemValueRow(response_id=response_id, questionnaire_url=row[2],
                                         questionnaire_version=row[3], **fields))  # fmt: skip
                continue
            fields.update(questionnaire_url=row[2], questionnaire_version=row[3])
            for name, new in fields.items():
                if getattr(item, name) != new:
                    setattr(item, name, new)
        for item in existing.values():
            session.delete(item)


def _update_derived(
    work: Work,
    stored: Stored,
    response_id: int,
    row: tuple[Any, ...],
    values: list[tuple[Any, ...]],
) -> None:
    """``_update`` for a received version: the same rows, written without audit rows of their
    own (the version's raw resource row is the audited record)."""
    connection = work.writer.connection
    connection.execute(
        update(_RESPONSE)
        .where(_RESPONSE.c.id == response_id)
        .values(dict(zip(RESPONSE_COLUMNS, row, strict=True)))
    )
    existing = {
        (str(item.link_id), int(item.answer_index)): item
        for item in connection.execute(select(_ITEM).where(_ITEM.c.response_id == response_id))
    }
    new_rows = []
    for value in values:
        item = existing.pop((value[0], value[1]), None)
        if item is None:
            new_rows.append((response_id, *value, row[2], row[3]))
            continue
        fields = dict(zip(qcheck.VALUE_COLUMNS, value, strict=True))
        fields.update(questionnaire_url=row[2], questionnaire_version=row[3])
        changed = {name: new for name, new in fields.items() if item._mapping[name] != new}
        if changed:
            connection.execute(update(_ITEM).where(_ITEM.c.id == item.id).values(changed))
    if existing:
        gone = sorted(int(item.id) for item in existing.values())
        connection.execute(delete(_ITEM).where(_ITEM.c.id.in_(gone)))
    work.writer.insert(_ITEM, ITEM_COLUMNS, new_rows, what="item values", audited=False)


def _normalized(work: Work, items: Sequence[Stored]) -> dict[int, tuple[int, str | None]]:
    """raw_resource_id -> (form_response id, versionId) for this study, for every version."""
    wanted = sorted({s.raw_id for s in items} | {r for s in items for r, _ in s.previous})
    found: dict[int, tuple[int, str | None]] = {}
    for start in range(0, len(wanted), 2_000):
        rows = work.session.execute(
            select(_RESPONSE.c.raw_resource_id, _RESPONSE.c.id, _RESPONSE.c.fhir_version_id)
            .join(SubjectRow, SubjectRow.id == _RESPONSE.c.subject_id)
            .where(
                SubjectRow.study_id == work.scope.study_id,
                _RESPONSE.c.raw_resource_id.in_(wanted[start : start + 2_000]),
            )
        )
        found.update({int(raw): (int(rid), version) for raw, rid, version in rows})
    return found


def _visits(work: Work, items: Sequence[Stored]) -> dict[tuple[int, str], str]:
    """(subject id, "Encounter/<id>") -> visit id, for the encounters these responses name."""
    references = sorted(
        {ref for s in items if (ref := _encounter(work, s.parsed.resource.get("encounter")))}
    )
    found: dict[tuple[int, str], str] = {}
    for start in range(0, len(references), 2_000):
        rows = work.session.execute(
            select(VisitRow.subject_id, VisitRow.encounter_reference, VisitRow.visit_id).where(
                VisitRow.encounter_reference.in_(references[start : start + 2_000])
            )
        )
        found.update({(int(s), str(e)): str(v) for s, e, v in rows})
    return found


def _encounter(work: Work, reference: Any) -> str | None:
    """``Encounter/<id>`` of a response's encounter; for one recorded in edc and named on the
    site's server by its identifier, the id edc gave it."""
    found = reference_id(reference, "Encounter")
    return f"Encounter/{found}" if found else echo.entered_reference(work, reference)

"""The normalized form and safety tables re-derived from the raw resources they came from.

A received QuestionnaireResponse version is the record (audited once, as its ``raw_resource``
row); its ``form_response`` row and ``item_value`` rows are derived from it and carry its id
(``form_response.raw_resource_id``). ``find_differences`` re-derives them the way sync does
(``edc.sync.qcheck``; the visit from the ``visit`` row of the response's Encounter) and each
``adverse_event`` from its AdverseEvent (``edc.sync.safety.event_fields``), and reports every
row that is not what its raw resource gives, unless a person changed it in edc with an audit
row (the latest audit row of that field gives the value found). A row changed behind edc's
back (raw SQL, a restored file) shows here; the hash chain alone cannot show it, since derived
rows from sync have no audit rows of their own.

``synced_changes`` gives, for one response, how its values changed from one stored version to
the next, with who and when from each version's audit row: the history of a synced value
(``edc audit show --subject``, the subject page), merged there with the audit rows of what
people changed in edc.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.orm import Session

from edc.sync import qcheck, safety
from edc.sync.incoming import date_time, reference_id
from edc.sync.scope import StudyScope, load_scope
from edc.warehouse import audit
from edc.warehouse.base import table_of
from edc.warehouse.tables import PatientLinkRow, StudyRow, SubjectRow, VisitRow
from edc.warehouse.tables.audit import AuditEventRow
from edc.warehouse.tables.crf import FormResponseRow, ItemValueRow
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.safety import AdverseEventRow

_RESPONSE = table_of(FormResponseRow)
_ITEM = table_of(ItemValueRow)
_RAW = table_of(RawResourceRow)
_AUDIT = table_of(AuditEventRow)
_LINK = table_of(PatientLinkRow)
_VISIT = table_of(VisitRow)
_EVENT = table_of(AdverseEventRow)
_CHUNK = 1_000
# form_response columns that the raw resource alone gives (visit_id depends on the Encounter).
RESPONSE_FIELDS = (
    "subject_id",
    "questionnaire_url",
    "questionnaire_version",
    "fhir_version_id",
    "status",
    "authored",
)
# adverse_event columns the AdverseEvent gives (with the subject, from the patient's link).
EVENT_FIELDS = (
    "subject_id",
    "ctcae_term",
    "meddra_llt_code",
    "grade",
    "serious",
    "attribution",
    "verbatim",
    "onset_date",
    "onset_at",
    "resolution_date",
    "resolved_at",
    "outcome",
    "reported_at",
)
ITEM_FIELDS = (*qcheck.VALUE_COLUMNS[2:], "questionnaire_url", "questionnaire_version")
Key = tuple[str, int]  # (link_id, answer_index)


@dataclasses.dataclass(frozen=True)
class Difference:
    """A derived row (or field) that its raw resource does not give.

    :ivar table: the derived table (``form_response``, ``item_value``, or ``raw_resource`` for
        a raw text that no longer matches its SHA-256).
    :ivar record_id: the row's id, or ``response <id> <link_id>[<index>]`` for a missing row.
    :ivar field: the column, or None for a whole row missing or extra.
    :ivar in_table: the value found (canonical JSON), None for a missing row.
    :ivar derived: the value the raw resource gives, None for an extra row.
    """

    table: str
    record_id: str
    field: str | None
    in_table: str | None
    derived: str | None
    raw_resource_id: int

    def describe(self) -> str:
        """One line for a person."""
        where = f"{self.table}:{self.record_id}" + (f" {self.field}" if self.field else "")
        source = f"raw_resource:{self.raw_resource_id}"
        if self.in_table is None:
            return f"{where}: missing (derived from {source}: {self.derived})"
        if self.derived is None:
            return f"{where}: not derived from {source} (extra row {self.in_table})"
        return f"{where}: {self.in_table} in the table, {self.derived} derived from {source}"


@dataclasses.dataclass(frozen=True)
class DerivedReport:
    """What re-deriving found: how many responses, item values and adverse events were
    compared."""

    responses: int
    item_values: int
    differences: list[Difference]
    adverse_events: int = 0


def response_values(
    scope: StudyScope, resource: Mapping[str, Any]
) -> tuple[tuple[Any, ...], dict[Key, tuple[Any, ...]]] | None:
    """(url, version, versionId, status, authored) and the item values (``ITEM_FIELDS`` by
    (link_id, answer_index)) a response gives, or None when it does not pass the checks."""
    url, _, version = str(resource.get("questionnaire")).partition("|")
    index = scope.questionnaires.get((url, version))
    if index is None:
        return None
    checked = qcheck.check_response(index, resource)
    if checked.problems:
        return None
    meta = resource.get("meta")
    version_id = meta.get("versionId") if isinstance(meta, dict) else None
    head = (url, version, version_id, resource.get("status"), date_time(resource.get("authored")))
    values = {(str(v[0]), int(v[1])): (*v[2:], url, version) for v in checked.values}
    return head, values


def find_differences(connection: Connection) -> DerivedReport:
    """Re-derive every study's normalized responses, item values and adverse events from
    their raw resources."""
    session = Session(bind=connection)
    responses = values = events = 0
    differences: list[Difference] = []
    for study_id, code in connection.execute(select(StudyRow.id, StudyRow.code)).all():
        scope = load_scope(session=session, study_code=str(code))
        compared, found = _compare_events(connection, scope)
        events += compared
        differences += found
        last = 0
        while True:
            found_rows = connection.execute(
                select(_RESPONSE, _RAW.c.json_text, _RAW.c.sha256, _RAW.c.source)
                .join(_RAW, _RAW.c.id == _RESPONSE.c.raw_resource_id)
                .join(SubjectRow, SubjectRow.id == _RESPONSE.c.subject_id)
                .where(SubjectRow.study_id == study_id, _RESPONSE.c.id > last)
                .order_by(_RESPONSE.c.id)
                .limit(_CHUNK)
            ).mappings().all()  # fmt: skip
            chunk: list[dict[str, Any]] = [dict(row) for row in found_rows]
            if not chunk:
                break
            last = int(chunk[-1]["id"])
            responses += len(chunk)
            found, compared = _compare_chunk(connection, scope, chunk)
            values += compared
            differences += found
    return DerivedReport(responses, values, _unaudited(connection, differences), events)


def _compare_chunk(
    connection: Connection, scope: StudyScope, chunk: Sequence[Mapping[str, Any]]
) -> tuple[list[Difference], int]:
    ids = [int(row["id"]) for row in chunk]
    items: dict[int, dict[Key, Mapping[str, Any]]] = {}
    query = select(_ITEM).where(_ITEM.c.response_id.in_(ids))
    for item_row in connection.execute(query).mappings():
        key = (str(item_row["link_id"]), int(item_row["answer_index"]))
        items.setdefault(int(item_row["response_id"]), {})[key] = dict(item_row)
    links = _links(connection, scope.study_id, chunk)
    visits = _visits(connection, chunk)
    found: list[Difference] = []
    compared = 0
    for row in chunk:
        raw_id, response_id = int(row["raw_resource_id"]), int(row["id"])
        text = str(row["json_text"])
        if hashlib.sha256(text.encode()).hexdigest() != row["sha256"]:
            found.append(Difference("raw_resource", str(raw_id), "json_text", "(changed)",
                                    f"sha256 {row['sha256']}", raw_id))  # fmt: skip
            continue
        resource = orjson.loads(text)
        derived = response_values(scope, resource)
        mine = items.get(response_id, {})
        compared += len(mine)
        if derived is None:
            failed = "nothing (the response does not pass its checks)"
            found.append(
                Difference("form_response", str(response_id), None, "(row)", failed, raw_id)
            )
            continue
        head, values = derived
        patient = reference_id(resource.get("subject"), "Patient")
        expected = (links.get((str(row["source"]), patient or "")), *head)
        for name, value in zip(RESPONSE_FIELDS, expected, strict=True):
            found += _field(_RESPONSE, str(response_id), name, row[name], value, raw_id)
        encounter = reference_id(resource.get("encounter"), "Encounter")
        if encounter is not None or resource.get("encounter") is None:
            # (an Encounter named by an identifier edc gave it is not re-derived here)
            visit = visits.get((expected[0], f"Encounter/{encounter}")) if encounter else None
            found += _field(_RESPONSE, str(response_id), "visit_id", row["visit_id"], visit,
                            raw_id)  # fmt: skip
        for key in sorted(values.keys() | mine.keys()):
            item, value = mine.get(key), values.get(key)
            shown = f"response {response_id} {key[0]}[{key[1]}]"
            if item is None:
                found.append(Difference("item_value", shown, None, None,
                                        _dump(ITEM_FIELDS, value), raw_id))  # fmt: skip
            elif value is None:
                found.append(Difference("item_value", str(item["id"]), None,
                                        _dump(ITEM_FIELDS, item), None, raw_id))  # fmt: skip
            else:
                for name, derived_value in zip(ITEM_FIELDS, value, strict=True):
                    found += _field(_ITEM, str(item["id"]), name, item[name], derived_value, raw_id)
    return found, compared


def _field(
    table: Any, record_id: str, name: str, found: Any, derived: Any, raw_id: int
) -> list[Difference]:
    have, want = audit.value_json(table, name, found), audit.value_json(table, name, derived)
    return [] if have == want else [Difference(table.name, record_id, name, have, want, raw_id)]


def _dump(names: Sequence[str], values: Any) -> str:
    if isinstance(values, Mapping):
        values = [values[name] for name in names]
    return ", ".join(
        f"{name}={audit.value_json(_ITEM, name, value)}"
        for name, value in zip(names, values, strict=True)
        if value is not None
    )


def _links(
    connection: Connection, study_id: int, chunk: Sequence[Mapping[str, Any]]
) -> dict[tuple[str, str], int]:
    """(source, patient id) -> subject id, for the patients the chunk's responses name."""
    patients = set()
    for row in chunk:
        patient = reference_id(orjson.loads(row["json_text"]).get("subject"), "Patient")
        if patient:
            patients.add(patient)
    found = connection.execute(
        select(_LINK.c.source, _LINK.c.patient_id, _LINK.c.subject_id).where(
            _LINK.c.study_id == study_id, _LINK.c.patient_id.in_(sorted(patients))
        )
    )
    return {(str(s), str(p)): int(subject) for s, p, subject in found if subject is not None}


def _visits(
    connection: Connection, chunk: Sequence[Mapping[str, Any]]
) -> dict[tuple[int | None, str], str]:
    """(subject id, "Encounter/<id>") -> visit id, for the encounters the chunk's responses name."""
    wanted = set()
    for row in chunk:
        encounter = reference_id(orjson.loads(row["json_text"]).get("encounter"), "Encounter")
        if encounter:
            wanted.add(f"Encounter/{encounter}")
    found = connection.execute(
        select(_VISIT.c.subject_id, _VISIT.c.encounter_reference, _VISIT.c.visit_id).where(
            _VISIT.c.encounter_reference.in_(sorted(wanted))
        )
    )
    return {(int(s), str(e)): str(v) for s, e, v in found}


def _compare_events(connection: Connection, scope: StudyScope) -> tuple[int, list[Difference]]:
    """(adverse events compared, differences) of one study's events from raw resources."""
    compared, last = 0, 0
    found: list[Difference] = []
    while True:
        chunk = [
            dict(row)
            for row in connection.execute(
                select(_EVENT, _RAW.c.json_text, _RAW.c.sha256, _RAW.c.source)
                .join(_RAW, _RAW.c.id == _EVENT.c.raw_resource_id)
                .join(SubjectRow, SubjectRow.id == _EVENT.c.subject_id)
                .where(SubjectRow.study_id == scope.study_id, _EVENT.c.id > last)
                .order_by(_EVENT.c.id)
                .limit(_CHUNK)
            ).mappings()
        ]
        if not chunk:
            return compared, found
        last = int(chunk[-1]["id"])
        compared += len(chunk)
        links = _links(connection, scope.study_id, chunk)
        for row in chunk:
            raw_id, event_id = int(row["raw_resource_id"]), str(row["id"])
            text = str(row["json_text"])
            if hashlib.sha256(text.encode()).hexdigest() != row["sha256"]:
                found.append(Difference("raw_resource", str(raw_id), "json_text", "(changed)",
                                        f"sha256 {row['sha256']}", raw_id))  # fmt: skip
                continue
            resource = orjson.loads(text)
            fields, wrong = safety.event_fields(scope, resource)
            if fields is None:
                failed = f"nothing ({wrong[0][1] if wrong else 'not an adverse event'})"
                found.append(Difference("adverse_event", event_id, None, "(row)", failed, raw_id))
                continue
            patient = reference_id(resource.get("subject"), "Patient")
            fields["subject_id"] = links.get((str(row["source"]), patient or ""))
            for name in EVENT_FIELDS:
                found += _field(_EVENT, event_id, name, row[name], fields[name], raw_id)
    return compared, found


def _unaudited(connection: Connection, differences: list[Difference]) -> list[Difference]:
    """The differences that no audit row accounts for: a field whose latest audit row set the
    value found, or an extra row whose audited insert gave it, was changed by a person in edc."""
    wanted = {(d.table, d.record_id) for d in differences if d.in_table is not None}
    if not wanted:
        return differences
    latest: dict[tuple[str, str, str | None], tuple[str, str | None]] = {}
    keys = sorted(wanted)
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        rows = connection.execute(
            select(_AUDIT.c.table_name, _AUDIT.c.record_id, _AUDIT.c.field, _AUDIT.c.action,
                   _AUDIT.c.new_value)
            .where(or_(*(and_(_AUDIT.c.table_name == t, _AUDIT.c.record_id == r)
                         for t, r in part)))
            .order_by(_AUDIT.c.seq)
        )  # fmt: skip
        for table, record, field, action, new_value in rows:
            latest[(str(table), str(record), field)] = (str(action), new_value)
    kept = []
    for difference in differences:
        key = (difference.table, difference.record_id, difference.field)
        action, value = latest.get(key, ("", None))
        if difference.field is not None and action == "update" and value == difference.in_table:
            continue  # changed by a person in edc, audited with its reason
        if difference.field is None and difference.in_table is not None and action == "insert":
            continue  # added by a person in edc (its audited insert)
        kept.append(difference)
    return kept


@dataclasses.dataclass(frozen=True)
class SyncedChange:
    """One change of a synced value, derived from two stored versions of its response; who and
    when from the later version's audit row (``raw_resource``).

    :ivar item_value_id: the value's row today (None when a later version removed it).
    :ivar old_value: as a person reads it, None for a value the version added.
    :ivar new_value: as a person reads it, None for a value the version removed.
    """

    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    raw_resource_id: int
    item_value_id: int | None
    field: str
    old_value: str | None
    new_value: str | None
    reason: str | None


def synced_changes(
    connection: Connection, scope: StudyScope, response_id: int
) -> list[SyncedChange]:
    """The history of a response's values across its received versions, oldest first.

    Only versions whose values have no audit rows of their own are given (received with the
    audit granularity decision); the versions of older warehouses, or entered by a person, are
    in the audit trail row by row already.
    """
    response = connection.execute(
        select(_RESPONSE.c.raw_resource_id).where(_RESPONSE.c.id == response_id)
    ).scalar_one_or_none()
    if response is None:
        return []
    versions = _versions(connection, int(response))
    receipts = {
        int(row.record_id): row
        for row in connection.execute(
            select(_AUDIT).where(
                _AUDIT.c.table_name == "raw_resource",
                _AUDIT.c.record_id.in_([str(raw_id) for raw_id, _, _ in versions]),
                _AUDIT.c.action == "insert",
            )
        )
    }
    items = {
        (str(link), int(index)): int(item_id)
        for item_id, link, index in connection.execute(
            select(_ITEM.c.id, _ITEM.c.link_id, _ITEM.c.answer_index).where(
                _ITEM.c.response_id == response_id
            )
        )
    }
    audited = connection.execute(
        select(_AUDIT.c.seq, _AUDIT.c.actor).where(
            _AUDIT.c.table_name == "item_value",
            _AUDIT.c.record_id.in_([str(i) for i in items.values()]),
        )
    ).all()
    changes: list[SyncedChange] = []
    before: dict[Key, tuple[Any, ...]] = {}
    for position, (raw_id, version_id, text) in enumerate(versions):
        derived = response_values(scope, orjson.loads(text))
        receipt = receipts.get(raw_id)
        if derived is None or receipt is None:
            continue  # a version kept raw with its problems changed nothing
        values = derived[1]
        until = receipts.get(versions[position + 1][0]) if position + 1 < len(versions) else None
        own_rows = any(
            actor == receipt.actor and receipt.seq < seq and (until is None or seq < until.seq)
            for seq, actor in audited
        )
        if not own_rows:
            # A sync's receipt names its run as the reason; the value changed at the source.
            reason = receipt.reason if receipt.role != "system" else None
            if before and reason is None:
                reason = f"updated at source to versionId {version_id}" if version_id else None
            for key in sorted(values.keys() | before.keys()):
                old, new = before.get(key), values.get(key)
                if old == new:
                    continue
                action = "insert" if old is None else "delete" if new is None else "update"
                field = key[0] if key[1] == 0 else f"{key[0]}[{key[1]}]"
                changes.append(
                    SyncedChange(
                        int(receipt.seq), receipt.at, receipt.actor, receipt.role, action,
                        raw_id, items.get(key), field, shown(old), shown(new), reason,
                    )
                )  # fmt: skip
        before = values
    return changes


def shown(value: tuple[Any, ...] | None) -> str | None:
    """An item value (``ITEM_FIELDS`` order) as a person reads it."""
    if value is None:
        return None
    fields = dict(zip(ITEM_FIELDS, value, strict=True))
    if fields["value_type"] == "coding":
        return str(fields["value_text"] or fields["value_code"] or "")
    for name in ("value_number", "value_date", "value_datetime", "value_bool", "value_text",
                 "value_code"):  # fmt: skip
        candidate = fields[name]
        if candidate is not None:
            if isinstance(candidate, Decimal):
                text = format(candidate.normalize(), "f")
            elif isinstance(candidate, bool):
                text = str(candidate).lower()
            else:
                text = str(candidate)
            return f"{text} {fields['unit']}" if fields["unit"] else text
    return ""


def _versions(connection: Connection, raw_resource_id: int) -> list[tuple[int, str | None, str]]:
    """(raw id, versionId, JSON) of every stored version of a resource up to this one."""
    this = connection.execute(
        select(_RAW.c.source, _RAW.c.resource_type, _RAW.c.logical_id).where(
            _RAW.c.id == raw_resource_id
        )
    ).one()
    rows = connection.execute(
        select(_RAW.c.id, _RAW.c.version_id, _RAW.c.json_text)
        .where(
            _RAW.c.source == this.source,
            _RAW.c.resource_type == this.resource_type,
            _RAW.c.logical_id == this.logical_id,
            _RAW.c.id <= raw_resource_id,
        )
        .order_by(_RAW.c.id)
    ).all()
    return [(int(raw_id), version, str(text)) for raw_id, version, text in rows]


def version_ids(connection: Connection, raw_resource_id: int) -> list[int]:
    """The raw ids of every stored version of a resource up to this one, oldest first."""
    return [raw_id for raw_id, _, _ in _versions(connection, raw_resource_id)]


def scope_for(connection: Connection, study_code: str) -> StudyScope:
    """The study's scope, read through ``connection``."""
    return load_scope(session=Session(bind=connection), study_code=study_code)

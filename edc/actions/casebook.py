"""`edc audit show --subject CODE`: a subject's casebook history, by business keys.

People know a subject by its code (``01-0007``), a form by its id in the protocol (``odi``) and
a visit by its id (``w4``), not by warehouse row ids. This joins the audit trail to the
subject's records (the subject, consents, allocation, visits, form responses and their item
values, adverse events, and the raw resources they came from) and labels every change with
the subject, site, visit and form it concerns, oldest first.

Values synced from a source have no audit rows of their own (issue 10: each received version
is audited once, as its raw resource): their changes are derived from the stored versions of
the response (``edc.sync.derived.synced_changes``), each labelled with its version's audit row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select

from edc import config, errors
from edc.actions import blinding
from edc.actions.audit import open_warehouse
from edc.sync import derived
from edc.warehouse import db
from edc.warehouse.base import table_of
from edc.warehouse.tables import (
    AdverseEventRow,
    AllocationRow,
    AuditEventRow,
    ConsentRow,
    FormResponseRow,
    ItemValueRow,
    PlannedVisitRow,
    SiteRow,
    StudyRow,
    SubjectRow,
    VisitRow,
)


@dataclasses.dataclass(frozen=True)
class CasebookEntry:
    """One audited change, labelled with what it concerns in the trial's own terms."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    study: str
    site: str
    subject: str
    visit: str | None
    form: str | None
    record: str  # TABLE:ID, for `edc audit show --record`
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


@dataclasses.dataclass(frozen=True)
class Context:
    visit: str | None = None
    form: str | None = None


def casebook(
    settings: config.Settings,
    subject: str,
    *,
    study: str | None = None,
    form: str | None = None,
    since: dt.datetime | None = None,
) -> list[CasebookEntry]:
    """Every audited change to ``subject``'s records, oldest first.

    :param study: the study's code; needed only when several studies have this subject code.
    :param form: only changes to this form's responses (its id in the protocol).
    :param since: only changes at or after this time.
    :raises errors.BadInputError: an unknown study or subject, a subject code found in several
        studies without ``study``, or a warehouse that is missing or not migrated.
    """
    engine = open_warehouse(settings)
    try:
        with db.read_only(engine).connect() as connection:
            subject_id, study_code, site_code = _subject(connection, subject, study)
            records = _records(connection, subject_id, study_code, form)
            entries = _audit_rows(connection, records, since)
            synced = _synced(connection, study_code, records, since)
    finally:
        engine.dispose()
    shown = sorted([
        CasebookEntry(
            seq=row["seq"],
            at=row["at"],
            actor=row["actor"],
            role=row["role"],
            action=row["action"],
            study=study_code,
            site=site_code,
            subject=subject,
            visit=records[(row["table_name"], row["record_id"])].visit,
            form=records[(row["table_name"], row["record_id"])].form,
            record=f"{row['table_name']}:{row['record_id']}",
            field=row["field"],
            old_value=row["old_value"],
            new_value=row["new_value"],
            reason=row["reason"],
        )
        for row in entries
    ] + [
        dataclasses.replace(entry, study=study_code, site=site_code, subject=subject)
        for entry in synced
    ], key=lambda e: e.seq)  # fmt: skip
    if blinding.sees_arms(settings, study_code):
        return shown
    return blinding.mask(shown, lambda e: e.record.split(":", 1)[0], lambda e: e.field)


def parse_since(text: str) -> dt.datetime:
    """``2027-03-01`` (midnight UTC) or an ISO 8601 date-time (UTC when it has no offset).

    :raises errors.BadInputError: for anything else.
    """
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise errors.BadInputError(
            f"--since {text!r}: expected a date or date-time, e.g. 2027-03-01"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _subject(connection: Connection, code: str, study: str | None) -> tuple[int, str, str]:
    query = (
        select(SubjectRow.id, StudyRow.code, SiteRow.code)
        .join(StudyRow, StudyRow.id == SubjectRow.study_id)
        .join(SiteRow, SiteRow.id == SubjectRow.site_id)
        .where(SubjectRow.subject_code == code)
    )
    if study is not None:
        if connection.scalar(select(StudyRow.id).where(StudyRow.code == study)) is None:
            raise errors.BadInputError(f"--study {study!r}: no such study in the warehouse")
        query = query.where(StudyRow.code == study)
    found = connection.execute(query).all()
    if not found:
        where = f" in {study}" if study else ""
        raise errors.BadInputError(f"--subject {code!r}: no such subject{where}")
    if len(found) > 1:
        studies = ", ".join(sorted(row[1] for row in found))
        raise errors.BadInputError(
            f"--subject {code!r} is in several studies ({studies})", "add --study ID"
        )
    subject_id, study_code, site_code = found[0]
    return int(subject_id), str(study_code), str(site_code)


def _records(
    connection: Connection, subject_id: int, study_code: str, form: str | None
) -> dict[tuple[str, str], Context]:
    """(table, id) of each record of the subject -> the visit and form it belongs to."""
    records: dict[tuple[str, str], Context] = {}

    def add(table: str, ids: Iterable[object], context: Context = Context()) -> None:
        records.update({(table, str(i)): context for i in ids})

    forms = connection.execute(
        select(
            FormResponseRow.id,
            FormResponseRow.visit_id,
            FormResponseRow.questionnaire_url,
            FormResponseRow.raw_resource_id,
        ).where(FormResponseRow.subject_id == subject_id)
    ).all()
    wanted = [
        (response_id, Context(visit, form_id(url, study_code)), raw_id)
        for response_id, visit, url, raw_id in forms
        if form is None or form_id(url, study_code) == form.lower()
    ]
    if form is not None and not wanted:
        raise errors.BadInputError(f"--form {form!r}: the subject has no response to this form")
    for response_id, context, raw_id in wanted:
        add("form_response", [response_id], context)
        if raw_id is not None:  # every version received: each has its audit row
            add("raw_resource", derived.version_ids(connection, raw_id), context)
    item_values = connection.execute(
        select(ItemValueRow.id, ItemValueRow.response_id).where(
            ItemValueRow.response_id.in_([response_id for response_id, _, _ in wanted])
        )
    ).all()
    by_response = {response_id: context for response_id, context, _ in wanted}
    for item_id, response_id in item_values:
        add("item_value", [item_id], by_response[response_id])
    if form is not None:
        return records
    add("subject", [subject_id])
    add(
        "consent",
        _ids(connection, select(ConsentRow.id).where(ConsentRow.subject_id == subject_id)),
    )
    add(
        "allocation",
        _ids(connection, select(AllocationRow.id).where(AllocationRow.subject_id == subject_id)),
    )
    visits = select(VisitRow.id, VisitRow.visit_id).where(VisitRow.subject_id == subject_id)
    planned = select(PlannedVisitRow.id, PlannedVisitRow.visit_id).where(
        PlannedVisitRow.subject_id == subject_id
    )
    for table, query in (("visit", visits), ("planned_visit", planned)):
        for record_id, visit in connection.execute(query):
            add(table, [record_id], Context(visit=visit))
    events = connection.execute(
        select(AdverseEventRow.id, AdverseEventRow.raw_resource_id).where(
            AdverseEventRow.subject_id == subject_id
        )
    ).all()
    add("adverse_event", [event_id for event_id, _ in events])
    add("raw_resource", [raw_id for _, raw_id in events if raw_id is not None])
    return records


def form_id(questionnaire_url: str, study_code: str) -> str:
    """The protocol's form id in a Questionnaire's canonical URL (``.../spine-01-odi`` -> odi)."""
    name = questionnaire_url.rstrip("/").rsplit("/", 1)[-1]
    return name.removeprefix(f"{study_code.lower()}-")


def _ids(connection: Connection, query: Select[int]) -> list[int]:
    return list(connection.scalars(query))


def _synced(
    connection: Connection,
    study_code: str,
    records: Mapping[tuple[str, str], Context],
    since: dt.datetime | None,
) -> list[CasebookEntry]:
    """The changes of synced values, from the stored versions of the subject's responses
    (study, site and subject left blank for the caller)."""
    responses = sorted(int(i) for table, i in records if table == "form_response")
    if not responses:
        return []
    scope = derived.scope_for(connection, study_code)
    found = []
    for response_id in responses:
        context = records[("form_response", str(response_id))]
        for change in derived.synced_changes(connection, scope, response_id):
            if since is not None and change.at < since:
                continue
            record = (
                f"item_value:{change.item_value_id}"
                if change.item_value_id is not None
                else f"raw_resource:{change.raw_resource_id}"
            )
            found.append(
                CasebookEntry(
                    change.seq, change.at, change.actor, change.role, change.action, "", "", "",
                    context.visit, context.form, record, change.field, change.old_value,
                    change.new_value, change.reason,
                )
            )  # fmt: skip
    return found


def _audit_rows(
    connection: Connection,
    records: Mapping[tuple[str, str], Context],
    since: dt.datetime | None,
) -> list[Mapping[str, Any]]:
    audit = table_of(AuditEventRow)
    by_table: dict[str, list[str]] = {}
    for table, record_id in records:
        by_table.setdefault(table, []).append(record_id)
    if not by_table:
        return []
    matches = [
        and_(audit.c.table_name == table, audit.c.record_id.in_(ids))
        for table, ids in sorted(by_table.items())
    ]
    query = select(audit).where(or_(*matches)).order_by(audit.c.seq)
    if since is not None:
        query = query.where(audit.c.at >= since)
    return [dict(row) for row in connection.execute(query).mappings()]

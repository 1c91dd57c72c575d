"""Batched inserts of item values and raw FHIR resources, with their audit rows."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import event, func, select

from edc import clock as clocks
from edc import errors
from edc.warehouse import audit, bulk, chain, db
from edc.warehouse.tables import AuditEventRow, ItemValueRow, RawResourceRow
from tests.fixtures.database import Database
from tests.warehouse.seed import QUESTIONNAIRE, Seeded

SERVER = "https://fhir.hospital-one.example/r4"


def _values(response_id: int, count: int) -> Iterator[bulk.ItemValue]:
    for n in range(count):
        yield bulk.ItemValue(
            response_id=response_id,
            link_id=f"q{n % 50}",
            answer_index=n // 50,
            value_type="decimal",
            value_number=decimal.Decimal(n) / 8,
            unit="mg",
            questionnaire_url=QUESTIONNAIRE,
            questionnaire_version="1.0.0",
        )


def _count(database: Database, query: Any) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _audit_count(database: Database, table: str) -> int:
    query = select(func.count()).where(AuditEventRow.table_name == table)
    return _count(database, query)


def test_item_values_go_in_batches_with_one_audit_row_each(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    statements: list[str] = []

    def _count_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    total = 2 * bulk.CHUNK_ROWS + 7
    event.listen(database.engine, "before_cursor_execute", _count_statement)
    try:
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="sync", role="system", clock=clock)
            inserted = bulk.insert_item_values(
                session=session, values=_values(seeded.response_id, total)
            )
    finally:
        event.remove(database.engine, "before_cursor_execute", _count_statement)
    assert inserted == total
    assert _count(database, select(func.count()).select_from(ItemValueRow)) == total
    assert _audit_count(database, "item_value") == total
    # Round trips grow with chunks, not rows (insertmanyvalues pages of up to 1,000 rows).
    assert len(statements) <= 4 * (total // 1000 + 3)
    with database.engine.connect() as connection:
        assert chain.verify(connection).first_break is None
    with db.transaction(database.sessionmaker) as session:
        last = session.scalars(select(AuditEventRow).order_by(AuditEventRow.seq.desc())).first()
        assert last is not None and last.new_value is not None
        stored = session.get_one(ItemValueRow, int(last.record_id))
    recorded = orjson.loads(last.new_value)
    assert recorded["id"] == stored.id and recorded["value_number"] == str(stored.value_number)
    assert (last.actor, last.role, last.at) == ("sync", "system", clock.now())


def test_item_values_keep_their_types(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    when = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    common = {
        "response_id": seeded.response_id,
        "questionnaire_url": QUESTIONNAIRE,
        "questionnaire_version": "1.0.0",
    }
    values = [
        bulk.ItemValue(
            link_id="ecog",
            value_type="coding",
            value_code="LA9623-5",
            value_system="http://loinc.org",
            **common,
        ),
        bulk.ItemValue(
            link_id="surgery-date", value_type="date", value_date=dt.date(2026, 2, 27), **common
        ),
        bulk.ItemValue(link_id="assessed", value_type="datetime", value_datetime=when, **common),
        bulk.ItemValue(link_id="opioids", value_type="boolean", value_bool=False, **common),
        bulk.ItemValue(
            link_id="weight",
            value_type="quantity",
            value_number=decimal.Decimal("71.25"),
            unit="kg",
            **common,
        ),
    ]
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        bulk.insert_item_values(session=session, values=values)
    with db.transaction(database.sessionmaker) as session:
        rows = {row.link_id: row for row in session.scalars(select(ItemValueRow))}
    assert (rows["ecog"].value_code, rows["ecog"].value_system) == ("LA9623-5", "http://loinc.org")
    assert rows["surgery-date"].value_date == dt.date(2026, 2, 27)
    assert rows["assessed"].value_datetime == when
    assert rows["opioids"].value_bool is False
    assert (rows["weight"].value_number, rows["weight"].unit) == (decimal.Decimal("71.25"), "kg")


def test_a_refused_item_value_is_bad_input_and_nothing_is_written(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    before = _count(database, select(func.count()).select_from(AuditEventRow))
    good = list(_values(seeded.response_id, bulk.CHUNK_ROWS + 1))
    bad = bulk.ItemValue(
        seeded.response_id, "pain", "colour", QUESTIONNAIRE, "1.0.0", value_text="red"
    )
    with pytest.raises(errors.BadInputError, match="item values refused by the database") as caught:
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="sync", role="system", clock=clock)
            bulk.insert_item_values(session=session, values=[*good, bad])
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    assert _count(database, select(func.count()).select_from(ItemValueRow)) == 0
    assert _count(database, select(func.count()).select_from(AuditEventRow)) == before


def test_bulk_inserts_need_an_audit_context(database: Database, seeded: Seeded) -> None:
    with pytest.raises(audit.MissingAuditContextError):
        with db.transaction(database.sessionmaker) as session:
            bulk.insert_item_values(session=session, values=_values(seeded.response_id, 3))
    with pytest.raises(audit.MissingAuditContextError):
        with db.transaction(database.sessionmaker) as session:
            bulk.insert_raw_resources(session=session, resources=[bulk.RawResource(SERVER, "{}")])
    assert _count(database, select(func.count()).select_from(ItemValueRow)) == 0


def _patient(logical_id: str, version: str | None, family: str) -> str:
    meta = (
        {"meta": {"versionId": version, "lastUpdated": "2026-03-01T10:00:00.5+01:00"}}
        if version
        else {}
    )
    return orjson.dumps(
        {"resourceType": "Patient", "id": logical_id, **meta, "name": [{"family": family}]}
    ).decode()


def test_raw_resources_are_kept_verbatim_and_stored_once_per_version(
    database: Database, clock: clocks.FixedClock
) -> None:
    spaced = '{ "resourceType" : "Patient", "id": "p1", "meta": {"versionId": "1"} }'
    first = [
        bulk.RawResource(SERVER, spaced),
        bulk.RawResource(SERVER, _patient("p2", "1", "Wang")),
    ]
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        stored = bulk.insert_raw_resources(session=session, resources=first)
    assert [(s.logical_id, s.version_key, s.new) for s in stored] == [
        ("p1", "1", True),
        ("p2", "1", True),
    ]
    redelivery = [
        bulk.RawResource(SERVER, _patient("p2", "1", "Wang")),
        bulk.RawResource(SERVER, _patient("p2", "2", "Wang-Li")),
        bulk.RawResource(SERVER, _patient("p2", "2", "Wang-Li")),  # twice in one delivery
        bulk.RawResource("https://other.example/fhir", _patient("p2", "1", "Wang")),
    ]
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        again = bulk.insert_raw_resources(session=session, resources=redelivery)
    assert [s.new for s in again] == [False, True, False, True]
    assert again[0].id == stored[1].id and again[1].id == again[2].id
    assert _count(database, select(func.count()).select_from(RawResourceRow)) == 4
    assert _audit_count(database, "raw_resource") == 4
    with db.transaction(database.sessionmaker) as session:
        row = session.get_one(RawResourceRow, stored[0].id)
        updated = session.get_one(RawResourceRow, again[1].id)
    assert row.json_text == spaced
    assert row.sha256 == hashlib.sha256(spaced.encode()).hexdigest()
    assert (row.resource_type, row.direction, row.received_at) == (
        "Patient",
        "received",
        clock.now(),
    )
    assert updated.last_updated == dt.datetime(2026, 3, 1, 9, 0, 0, 500000, tzinfo=dt.UTC)


def test_raw_resources_without_a_version_are_recognised_by_their_hash(
    database: Database, clock: clocks.FixedClock
) -> None:
    texts = [
        _patient("p9", None, "Chen"),
        _patient("p9", None, "Chen"),
        _patient("p9", None, "Chén"),
    ]
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        stored = bulk.insert_raw_resources(
            session=session, resources=[bulk.RawResource(SERVER, t) for t in texts]
        )
    assert [s.new for s in stored] == [True, False, True]
    assert stored[0].version_key == "sha256:" + hashlib.sha256(texts[0].encode()).hexdigest()


def test_sent_resources_without_an_id_are_always_stored(
    database: Database, clock: clocks.FixedClock
) -> None:
    created = '{"resourceType": "ResearchSubject", "status": "on-study"}'
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="enroll", role="system", clock=clock)
        stored = bulk.insert_raw_resources(
            session=session, resources=[bulk.RawResource(SERVER, created, direction="sent")] * 2
        )
    assert [(s.logical_id, s.new) for s in stored] == [(None, True), (None, True)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ('["Patient"]', "no resourceType"),
        ('{"resourceType": "Patient"}', "has no id"),
        (
            '{"resourceType": "Patient", "id": "p", "meta": {"lastUpdated": "yesterday"}}',
            "not a FHIR instant",
        ),
        ('{"resourceType": "Patient", "id": 7}', "must be strings"),
    ],
)
def test_unusable_resources_are_bad_input_and_nothing_is_stored(
    sqlite_database: Database, clock: clocks.FixedClock, text: str, message: str
) -> None:
    resources = [
        bulk.RawResource(SERVER, _patient("ok", "1", "Fine")),
        bulk.RawResource(SERVER, text),
    ]
    with pytest.raises(errors.BadInputError, match=message):
        with db.transaction(sqlite_database.sessionmaker) as session:
            audit.bind(session, actor="sync", role="system", clock=clock)
            bulk.insert_raw_resources(session=session, resources=resources)
    assert _count(sqlite_database, select(func.count()).select_from(RawResourceRow)) == 0


def test_ids_of_deleted_rows_are_never_handed_out_again(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        bulk.insert_item_values(session=session, values=_values(seeded.response_id, 3))
        highest = session.scalars(select(func.max(ItemValueRow.id))).one()
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="dm", role="data_manager", clock=clock, reason="entered twice")
        session.delete(session.get_one(ItemValueRow, highest))
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        again = bulk.ItemValue(seeded.response_id, "again", "string", QUESTIONNAIRE, "1.0.0")
        bulk.insert_item_values(session=session, values=[again])
        session.add(
            ItemValueRow(
                response_id=seeded.response_id,
                link_id="late",
                value_type="boolean",
                value_bool=True,
                questionnaire_url=QUESTIONNAIRE,
                questionnaire_version="1.0.0",
            )
        )
        session.flush()
        ids = sorted(session.scalars(select(ItemValueRow.id)))
    # An id named in the audit trail names one record forever, on SQLite too (AUTOINCREMENT).
    assert highest not in ids
    assert ids[-2:] == [highest + 1, highest + 2]

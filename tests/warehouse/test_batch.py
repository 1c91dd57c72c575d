"""The fast insert path stores exactly what the ORM stores, and audits it the same way."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text

from edc import clock as clocks
from edc import errors
from edc.warehouse import audit, batch, chain, db
from edc.warehouse.base import table_of
from edc.warehouse.tables import AuditEventRow, ItemValueRow, RawResourceRow
from tests.fixtures.database import Database
from tests.warehouse.seed import QUESTIONNAIRE, Seeded

COLUMNS = (
    "response_id", "link_id", "answer_index", "value_type", "value_number", "value_text",
    "value_code", "value_system", "value_date", "value_datetime", "value_bool", "unit",
    "questionnaire_url", "questionnaire_version",
)  # fmt: skip
WHEN = dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def _values(response_id: int, prefix: str) -> list[dict[str, Any]]:
    common = {c: None for c in COLUMNS} | {
        "response_id": response_id,
        "answer_index": 0,
        "questionnaire_url": QUESTIONNAIRE,
        "questionnaire_version": "1.0.0",
    }
    number = decimal.Decimal
    odi = "https://edc.example.org/fhir/CodeSystem/odi"
    values: list[tuple[str, str, str, Any]] = [
        ("dec", "decimal", "value_number", number("71.250")),
        ("int", "integer", "value_number", number(40)),
        ("tiny", "decimal", "value_number", number("0.1")),
        ("big", "decimal", "value_number", number("123456789.125")),
        ("day", "date", "value_date", dt.date(2026, 2, 27)),
        ("at", "datetime", "value_datetime", WHEN),
        ("yes", "boolean", "value_bool", True),
        ("no", "boolean", "value_bool", False),
        ("code", "coding", "value_code", "s1-2"),
        ("text", "string", "value_text", "naïve « quotes »"),
    ]
    rows = [
        common | {"link_id": f"{prefix}{name}", "value_type": kind, column: value}
        for name, kind, column, value in values
    ]
    rows[8]["value_system"] = odi
    return rows


def _shape(row: ItemValueRow) -> tuple[Any, ...]:
    return (*(getattr(row, c) for c in COLUMNS if c != "link_id"), row.link_id[2:])


def test_rows_written_fast_read_back_through_the_orm_as_orm_written_rows(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        session.add_all(ItemValueRow(**values) for values in _values(seeded.response_id, "o-"))
        session.flush()
        writer = batch.BatchWriter(session)
        rows = [tuple(v[c] for c in COLUMNS) for v in _values(seeded.response_id, "f-")]
        ids = writer.insert(table_of(ItemValueRow), COLUMNS, rows, what="item values")
    assert len(ids) == 10
    with db.transaction(database.sessionmaker) as session:
        stored = list(session.scalars(select(ItemValueRow).order_by(ItemValueRow.id)))
        orm = sorted(_shape(r) for r in stored if r.link_id.startswith("o-"))
        fast = sorted(_shape(r) for r in stored if r.link_id.startswith("f-"))
        assert fast == orm
        # ... and the audit rows say the same, apart from the id and link id.
        recorded = {
            row.record_id: orjson.loads(str(row.new_value))
            for row in session.scalars(
                select(AuditEventRow).where(AuditEventRow.table_name == "item_value")
            )
        }
    by_link = {r.link_id: recorded[str(r.id)] for r in stored}
    for values in _values(seeded.response_id, ""):
        orm_audit = {
            k: v for k, v in by_link[f"o-{values['link_id']}"].items() if k not in ("id", "link_id")
        }
        fast_audit = {
            k: v for k, v in by_link[f"f-{values['link_id']}"].items() if k not in ("id", "link_id")
        }
        assert fast_audit == orm_audit
    # The very bytes the database holds are the same too (not just the Python values).
    with database.engine.connect() as connection:
        raw = connection.execute(
            text(
                "SELECT link_id, value_number, value_date, value_datetime, value_bool "
                "FROM item_value ORDER BY link_id"
            )
        ).all()
    by_suffix: dict[str, list[tuple[Any, ...]]] = {}
    for link_id, *values in raw:
        by_suffix.setdefault(link_id[2:], []).append(tuple(values))
    assert all(len(set(pair)) == 1 for pair in by_suffix.values()), by_suffix
    with database.engine.connect() as connection:
        assert chain.verify(connection).first_break is None


def test_fast_audit_json_is_audit_row_json(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    table = table_of(RawResourceRow)
    columns = ("source", "direction", "resource_type", "logical_id", "version_id", "version_key",
               "last_updated", "json_text", "sha256", "received_at", "patient_id")  # fmt: skip
    row = ("https://x", "received", "Patient", "p1", "3", "3", WHEN, '{"resourceType":"Patient"}',
           "a" * 64, clock.now(), "p1")  # fmt: skip
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="sync", role="system", clock=clock)
        [new_id] = batch.BatchWriter(session).insert(table, columns, [row], what="resources")
        recorded = session.scalars(
            select(AuditEventRow.new_value).where(AuditEventRow.table_name == "raw_resource")
        ).one()
    assert recorded == audit.row_json(
        table, dict(zip(("id", *columns), (new_id, *row), strict=True))
    )


def test_a_row_the_database_refuses_fails_the_whole_batch(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    bad = [tuple(v[c] for c in COLUMNS) for v in _values(seeded.response_id, "x-")]
    bad.append(bad[0])  # the same (response, link id, answer index) twice
    with pytest.raises(errors.BadInputError, match="item values refused by the database"):
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="sync", role="system", clock=clock)
            batch.BatchWriter(session).insert(
                table_of(ItemValueRow), COLUMNS, bad, what="item values"
            )
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM item_value")).scalar_one() == 0

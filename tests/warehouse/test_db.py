"""Engines, transactions and the column types that must behave the same on both backends."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from edc import clock as clocks
from edc import errors
from edc.warehouse import audit, db
from edc.warehouse.tables import ConsentRow, ItemValueRow, SiteRow, StudyRow
from tests.fixtures.database import Database
from tests.warehouse.seed import QUESTIONNAIRE, Seeded


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@db.example/edc", "postgresql+psycopg"),
        ("postgres://u@db.example/edc", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db.example/edc", "postgresql+psycopg"),
        ("sqlite:///edc.sqlite3", "sqlite"),
    ],
)
def test_database_urls_go_to_psycopg_3_or_sqlite(url: str, driver: str) -> None:
    assert db.database_url(url).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql+psycopg2://u@h/db", "not a url"])
def test_other_databases_are_bad_input(url: str) -> None:
    with pytest.raises(errors.BadInputError) as caught:
        db.make_engine(url)
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT


def test_sqlite_connections_enforce_foreign_keys_with_wal_and_a_busy_timeout(
    sqlite_database: Database,
) -> None:
    with sqlite_database.engine.connect() as connection:
        pragmas = [
            connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout")
        ]
    assert pragmas == [1, "wal", db.SQLITE_BUSY_TIMEOUT_MS]


def test_foreign_keys_are_enforced(database: Database, clock: clocks.FixedClock) -> None:
    with pytest.raises(IntegrityError):
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="a", role="admin", clock=clock)
            session.add(SiteRow(study_id=999, code="S1", name="Nowhere", country="FR"))


def test_transaction_commits_or_rolls_back_as_a_whole(
    database: Database, clock: clocks.FixedClock
) -> None:
    with pytest.raises(RuntimeError):
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="a", role="admin", clock=clock)
            session.add(StudyRow(code="A", title="rolled back"))
            session.flush()
            raise RuntimeError("boom")
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="a", role="admin", clock=clock)
        session.add(StudyRow(code="B", title="kept"))
    with db.transaction(database.sessionmaker) as session:
        assert list(session.scalars(select(StudyRow.code))) == ["B"]


def test_instants_are_stored_in_utc_and_read_back_aware(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    signed = dt.datetime(2026, 3, 1, 23, 45, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="a", role="site_staff", clock=clock)
        consent = ConsentRow(subject_id=seeded.subject_id, form_version="2.1", signed_at=signed)
        session.add(consent)
    with db.transaction(database.sessionmaker) as session:
        stored = session.get_one(ConsentRow, consent.id).signed_at
        raw = session.execute(
            text("SELECT signed_at FROM consent WHERE id = :id"), {"id": consent.id}
        ).scalar()
    assert stored == signed
    assert stored.tzinfo == dt.UTC
    assert stored.isoformat() == "2026-03-02T06:45:01.000005+00:00"
    # What the database holds is the UTC wall time, whatever the writer's offset was.
    raw_text = raw if isinstance(raw, str) else raw.astimezone(dt.UTC).isoformat(" ")
    assert raw_text.startswith("2026-03-02 06:45:01.000005")


def test_naive_datetimes_are_refused(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="a", role="site_staff", clock=clock)
            session.add(
                ConsentRow(
                    subject_id=seeded.subject_id,
                    form_version="2.1",
                    signed_at=dt.datetime(2026, 3, 1, 12, 0),  # naive: the point of the test
                )
            )


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (decimal.Decimal("1.10"), decimal.Decimal("1.1")),
        (decimal.Decimal("100"), decimal.Decimal("100")),
        (decimal.Decimal("2.0"), decimal.Decimal("2")),
        (decimal.Decimal("-0.000125"), decimal.Decimal("-0.000125")),
        (decimal.Decimal("123456789.123456"), decimal.Decimal("123456789.123456")),
        (37.5, decimal.Decimal("37.5")),
        (7, decimal.Decimal("7")),
    ],
)
def test_decimals_read_back_the_same_on_both_backends(
    database: Database,
    seeded: Seeded,
    clock: clocks.FixedClock,
    written: decimal.Decimal | float,
    read: decimal.Decimal,
) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="a", role="site_staff", clock=clock)
        value = ItemValueRow(
            response_id=seeded.response_id,
            link_id="pain-now",
            value_type="decimal",
            value_number=written,
            questionnaire_url=QUESTIONNAIRE,
            questionnaire_version="1.0.0",
        )
        session.add(value)
    with db.transaction(database.sessionmaker) as session:
        stored = session.get_one(ItemValueRow, value.id).value_number
    assert isinstance(stored, decimal.Decimal)
    assert str(stored) == str(read)

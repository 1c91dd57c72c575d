"""Concurrent writers: the audit chain stays one line, whatever the interleaving."""

from __future__ import annotations

import itertools
import multiprocessing

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from edc import clock as clocks
from edc.warehouse import audit, chain, db
from edc.warehouse.tables import AuditEventRow, StudyRow
from tests.fixtures.database import Database
from tests.warehouse import concurrent_writer
from tests.warehouse.seed import Seeded

WORKERS = 2
TRANSACTIONS = 60


def _chain(database: Database) -> tuple[chain.ChainReport, int]:
    with database.engine.connect() as connection:
        distinct_prev = connection.execute(
            select(func.count(func.distinct(AuditEventRow.prev_hash)))
        ).scalar_one()
        return chain.verify(connection), int(distinct_prev)


@pytest.mark.timeout(120)
def test_two_processes_appending_concurrently_never_fork_the_chain(
    database: Database, seeded: Seeded
) -> None:
    before, _ = _chain(database)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    processes = [
        context.Process(
            target=concurrent_writer.write,
            args=(database.url, f"w{n}", TRANSACTIONS, seeded.study_id, seeded.site_id, start),
        )
        for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=100)
    assert [process.exitcode for process in processes] == [0] * WORKERS
    report, distinct_prev = _chain(database)
    expected = before.rows + WORKERS * TRANSACTIONS * concurrent_writer.ROWS_PER_TRANSACTION
    assert report.first_break is None
    assert report.rows == report.head_seq == distinct_prev == expected
    # The writers really interleaved: each one's rows are not all in one contiguous run.
    with database.engine.connect() as connection:
        actors = connection.execute(
            select(AuditEventRow.actor).order_by(AuditEventRow.seq).offset(before.rows)
        ).scalars()
        switches = sum(1 for a, b in _pairs(list(actors)) if a != b)
    assert switches > 2


def _pairs(items: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(items))


def test_a_writer_holding_a_stale_chain_head_fails_instead_of_forking(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    signature = chain.Signature("a", "admin", clock.now(), None)
    change = chain.Change("insert", "study", "99", new_value="{}")
    if database.backend == "postgresql":
        stale_engine = database.engine.execution_options(isolation_level="REPEATABLE READ")
    else:
        stale_engine = db.read_only(database.engine)  # a deferred transaction: a plain snapshot
    with stale_engine.connect() as stale:
        stale.begin()
        head = chain.head(stale)  # the snapshot now predates the next append
        with db.transaction(database.sessionmaker) as session:
            audit.bind(session, actor="b", role="admin", clock=clock)
            session.add(StudyRow(code="RACE", title="appended meanwhile"))
        assert chain.head(stale) == head
        with pytest.raises(DBAPIError):
            chain.append(stale, signature=signature, changes=[change])
        stale.rollback()
    report, distinct_prev = _chain(database)
    assert report.first_break is None
    assert report.rows == distinct_prev == head[0] + 1
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM study")).scalar_one() == 2

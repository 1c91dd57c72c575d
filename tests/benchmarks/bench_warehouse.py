"""Benchmark: bulk item values with their audit rows, against plain executemany of the same rows.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_warehouse --rows 1000000
    .venv/bin/python -m tests.benchmarks.bench_warehouse --rows 20000 --backend sqlite

Each backend gets two fresh, migrated databases holding the same seed (a study, a site, subjects
and form responses): the baseline inserts the rows with ``Connection.execute(insert(table), rows)``
and no audit; the audited run uses ``edc.warehouse.bulk.insert_item_values``. Both commit every
``--commit-every`` rows and are timed from the same row generator. The audit chain is then
verified, and that is timed too. PostgreSQL databases are created on ``EDC_TEST_POSTGRES_URL``'s
server (default postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import decimal
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Engine, insert

from edc import clock as clocks
from edc.warehouse import audit, bulk, chain, db, migrate
from edc.warehouse.base import table_of
from edc.warehouse.tables import FormResponseRow, ItemValueRow, SiteRow, StudyRow, SubjectRow

QUESTIONNAIRE = "https://edc.example.org/fhir/Questionnaire/odi"
ITEMS_PER_RESPONSE = 1_000


@dataclasses.dataclass(frozen=True)
class Result:
    backend: str
    rows: int
    baseline_seconds: float
    audited_seconds: float
    verify_seconds: float
    verified_rows: int

    def line(self) -> str:
        base, audited = self.rows / self.baseline_seconds, self.rows / self.audited_seconds
        return (
            f"{self.backend:<11}{self.rows:>11,}{base:>17,.0f}{audited:>16,.0f}"
            f"{self.audited_seconds / self.baseline_seconds:>8.2f}x"
            f"{self.verified_rows / self.verify_seconds:>16,.0f}"
        )


HEADER = (
    f"{'backend':<11}{'rows':>11}{'baseline rows/s':>17}{'audited rows/s':>16}"
    f"{'ratio':>9}{'verify rows/s':>16}"
)


def values(response_ids: list[int], rows: int) -> Iterator[bulk.ItemValue]:
    """``rows`` decimal answers spread over the responses, ``ITEMS_PER_RESPONSE`` each."""
    for n in range(rows):
        yield bulk.ItemValue(
            response_id=response_ids[n // ITEMS_PER_RESPONSE],
            link_id=f"odi-{n % ITEMS_PER_RESPONSE:04d}",
            value_type="decimal",
            value_number=decimal.Decimal(n % 997) / 4,
            unit="{score}",
            questionnaire_url=QUESTIONNAIRE,
            questionnaire_version="2.1a",
        )


def seed(engine: Engine, rows: int, clock: clocks.Clock) -> list[int]:
    """A study, a site, and one subject with one response per ``ITEMS_PER_RESPONSE`` rows."""
    with db.transaction(db.make_sessionmaker(engine)) as session:
        audit.bind(session, actor="bench", role="admin", clock=clock)
        study = StudyRow(code="BENCH", title="benchmark")
        session.add(study)
        session.flush()
        site = SiteRow(study_id=study.id, code="S01", name="Site", country="DE")
        session.add(site)
        session.flush()
        responses = []
        for n in range(-(-rows // ITEMS_PER_RESPONSE)):
            subject = SubjectRow(
                study_id=study.id, site_id=site.id, subject_code=f"B-{n:05d}", status="on-study"
            )
            session.add(subject)
            session.flush()
            response = FormResponseRow(
                subject_id=subject.id,
                questionnaire_url=QUESTIONNAIRE,
                questionnaire_version="2.1a",
                status="completed",
            )
            session.add(response)
            responses.append(response)
        session.flush()
        return [response.id for response in responses]


def baseline(engine: Engine, response_ids: list[int], rows: int, commit_every: int) -> float:
    table = table_of(ItemValueRow)
    generated = values(response_ids, rows)
    started = time.perf_counter()
    for _ in range(0, rows, commit_every):
        with engine.begin() as connection:
            for _ in range(0, commit_every, bulk.CHUNK_ROWS):
                chunk = [
                    value.row() for _, value in zip(range(bulk.CHUNK_ROWS), generated, strict=False)
                ]
                if chunk:
                    connection.execute(insert(table), chunk)
    return time.perf_counter() - started


def audited(engine: Engine, response_ids: list[int], rows: int, commit_every: int) -> float:
    maker = db.make_sessionmaker(engine)
    generated = values(response_ids, rows)
    started = time.perf_counter()
    for start in range(0, rows, commit_every):
        with db.transaction(maker) as session:
            audit.bind(session, actor="sync", role="system", clock=clocks.SystemClock())
            batch = zip(range(min(commit_every, rows - start)), generated, strict=False)
            bulk.insert_item_values(session=session, values=(value for _, value in batch))
    return time.perf_counter() - started


def verify(engine: Engine, rows: int) -> tuple[float, int]:
    started = time.perf_counter()
    with db.read_only(engine).connect() as connection:
        report = chain.verify(connection)
    if report.first_break is not None or report.rows < rows:
        raise SystemExit(f"chain check failed: {report}")
    return time.perf_counter() - started, report.rows


def run(backend: str, urls: list[str], rows: int, commit_every: int) -> Result:
    clock = clocks.SystemClock()
    timings = []
    for url, operation in zip(urls, (baseline, audited), strict=True):
        migrate.upgrade(url)
        engine = db.make_engine(url)
        try:
            response_ids = seed(engine, rows, clock)
            timings.append(operation(engine, response_ids, rows, commit_every))
            if operation is audited:
                verify_seconds, verified_rows = verify(engine, rows)
        finally:
            engine.dispose()
    return Result(backend, rows, *timings, verify_seconds, verified_rows)


@contextlib.contextmanager
def sqlite_urls() -> Iterator[list[str]]:
    with tempfile.TemporaryDirectory(prefix="edc-bench-") as folder:
        yield [f"sqlite:///{Path(folder) / name}.sqlite3" for name in ("baseline", "audited")]


@contextlib.contextmanager
def postgres_urls() -> Iterator[list[str]]:
    server = db.database_url(
        os.environ.get("EDC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    conninfo = server.set(drivername="postgresql").render_as_string(hide_password=False)
    names = [f"edc_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}_{kind}" for kind in ("b", "a")]
    with psycopg.connect(conninfo, autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield [
                server.set(database=name).render_as_string(hide_password=False) for name in names
            ]
        finally:
            for name in names:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="item values per run")
    parser.add_argument("--commit-every", type=int, default=100_000, help="rows per transaction")
    parser.add_argument(
        "--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    args = parser.parse_args()
    print(HEADER)
    for backend in args.backend:
        with sqlite_urls() if backend == "sqlite" else postgres_urls() as urls:
            print(run(backend, urls, args.rows, args.commit_every).line(), flush=True)
    print("(ratio = audited time / baseline time; verify = audit rows rehashed per second)")


if __name__ == "__main__":
    main()

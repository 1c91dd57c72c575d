"""Benchmark: ingesting QuestionnaireResponses (12 items each) from NDJSON, against a baseline.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_ingest --responses 20000
    .venv/bin/python -m tests.benchmarks.bench_ingest --responses 5000 --backend sqlite

The study is the minimal test protocol; each response answers its ODI form (ten sections, "all
answered", the total: 12 items). Timed on the same NDJSON file, interleaved over ``--rounds``
rounds (raw writer, edc, raw writer, edc, ...), each on fresh databases; medians and ranges:

* raw writer (the baseline of issue 10): read the lines, ``orjson.loads``, flatten the items,
  keep the raw JSON, and write raw and item rows with the plain driver into two simple tables:
  ``executemany`` on SQLite in WAL mode, ``COPY`` on PostgreSQL, one transaction per batch. No
  checking, no de-duplication, no audit trail, no SQLAlchemy;
* edc: ``edc sync --source`` as shipped (``edc.sync.directory``): parse, store raw once per
  version, check every response against the compiled Questionnaire, recompute its score, insert
  typed values with their audit rows (hash-chained), the cursor in each batch's transaction.

The ratio is edc's time over the raw writer's (issue 10's target: at most 2x). The audit chain
is verified afterwards. PostgreSQL databases are created on ``EDC_TEST_POSTGRES_URL``'s server
(default postgresql://postgres@127.0.0.1:5432/test) and dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import psycopg
from psycopg import sql

from edc import config
from edc.actions import protocol, sync
from edc.clock import SystemClock
from edc.forms import ResponseTemplate
from edc.library import scoring
from edc.warehouse import chain, db, migrate
from tests.sync import trialdata

ROOT = Path(__file__).parents[2]
MINIMAL = ROOT / "tests" / "data" / "protocols" / "minimal.yaml"
SUBJECTS = 200
ODI = "https://edc.example.org/fhir/Questionnaire/mini-01-odi|1.0"


def write_responses(checked: protocol.CheckedProtocol, directory: Path, count: int) -> Path:
    """``count`` ODI responses of ``SUBJECTS`` subjects, plus the subjects themselves."""
    compiled = checked.compiled
    questionnaire = compiled.questionnaires()[ODI]
    template = ResponseTemplate(questionnaire)
    subjects = trialdata.build(compiled, SUBJECTS, tag="b")
    directory.mkdir(parents=True, exist_ok=True)
    for kind in ("Patient", "ResearchSubject"):
        lines = [orjson.dumps(r) for r in subjects.resources[kind]]
        (directory / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    choices = [item for item in questionnaire["item"] if item["type"] == "choice"]
    when = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    with (directory / "QuestionnaireResponse.ndjson").open("wb") as out:
        for n in range(count):
            answers: dict[str, object] = {
                item["linkId"]: item["answerOption"][(n + i) % 6]["valueCoding"]["code"]
                for i, item in enumerate(choices)
            }
            answers["odi-complete"] = n % 7 != 0
            # The true total (sync recomputes received scores and rejects a wrong one).
            answers["odi-total"] = scoring.score("odi", "odi-total", answers)
            response = template.build(
                answers, subject=f"Patient/b-p{n % SUBJECTS}", authored=when, response_id=f"q{n}"
            )
            response["meta"] = {"versionId": "1", "lastUpdated": "2026-03-01T09:00:00.000Z"}
            out.write(orjson.dumps(response) + b"\n")
    return directory


RAW_TABLE = (
    "CREATE TABLE raw (id BIGINT PRIMARY KEY, source TEXT, resource_type TEXT, logical_id TEXT,"
    " version_id TEXT, json_text TEXT, sha256 TEXT, received_at TEXT)"
)
ITEM_TABLE = (
    "CREATE TABLE item (id BIGINT PRIMARY KEY, raw_id BIGINT, link_id TEXT, answer_index INT,"
    " value_type TEXT, value_number NUMERIC, value_code TEXT, value_system TEXT,"
    " value_bool BOOLEAN)"
)
RAW_COLUMNS = "id, source, resource_type, logical_id, version_id, json_text, sha256, received_at"
ITEM_COLUMNS = (
    "id, raw_id, link_id, answer_index, value_type, value_number, value_code, "
    "value_system, value_bool"
)


def baseline(url: str, path: Path, source: str) -> int:
    """The strong raw writer: orjson, flatten the items, keep the raw JSON, and write both with
    the plain driver into two simple tables: ``executemany`` on SQLite in WAL mode, ``COPY`` on
    PostgreSQL, one transaction per batch of 2,000. Nothing else (no checking, no
    de-duplication, no audit trail). Returns the responses written."""
    now = dt.datetime.now(dt.UTC).isoformat()
    sqlite = url.startswith("sqlite")
    if sqlite:
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(RAW_TABLE)
        connection.execute(ITEM_TABLE)
    else:
        pg = psycopg.connect(url)
        pg.execute(RAW_TABLE)
        pg.execute(ITEM_TABLE)
        pg.commit()
    next_raw = next_item = 1
    count = 0
    with path.open("rb") as stream:
        for chunk in chunks(stream, 2_000):
            raws, items = [], []
            for line in chunk:
                resource = orjson.loads(line)
                raws.append((next_raw, source, "QuestionnaireResponse", resource["id"],
                             resource["meta"]["versionId"], line.decode(),
                             hashlib.sha256(line).hexdigest(), now))  # fmt: skip
                for item in resource["item"]:
                    for index, answer in enumerate(item.get("answer", ())):
                        coding = answer.get("valueCoding") or {}
                        number = answer.get("valueDecimal", answer.get("valueInteger"))
                        kind = "coding" if coding else "boolean" if number is None else "number"
                        items.append((next_item, next_raw, item["linkId"], index, kind, number,
                                      coding.get("code"), coding.get("system"),
                                      answer.get("valueBoolean")))  # fmt: skip
                        next_item += 1
                next_raw += 1
            if sqlite:
                connection.execute("BEGIN")
                connection.executemany(
                    f"INSERT INTO raw ({RAW_COLUMNS}) VALUES ({', '.join('?' * 8)})", raws
                )
                connection.executemany(
                    f"INSERT INTO item ({ITEM_COLUMNS}) VALUES ({', '.join('?' * 9)})", items
                )
                connection.execute("COMMIT")
            else:
                with pg.cursor() as cursor:
                    with cursor.copy(f"COPY raw ({RAW_COLUMNS}) FROM STDIN") as copy:
                        for row in raws:
                            copy.write_row(row)
                    with cursor.copy(f"COPY item ({ITEM_COLUMNS}) FROM STDIN") as copy:
                        for row in items:
                            copy.write_row(row)
                pg.commit()
            count += len(chunk)
    (connection if sqlite else pg).close()
    return count


def chunks(stream: object, size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in stream:  # type: ignore[attr-defined]
        chunk.append(line.rstrip(b"\n"))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepared(
    url: str, checked: protocol.CheckedProtocol, subjects_dir: Path, data: Path
) -> config.Settings:
    """A migrated warehouse with the study registered and its subjects enrolled."""
    migrate.upgrade(url)
    settings = config.Settings(data_dir=data, database_url=url)
    engine = db.make_engine(url)
    try:
        protocol.register_checked(db.make_sessionmaker(engine), checked, SystemClock())
    finally:
        engine.dispose()
    sync.sync(settings, sync.SyncRequest(study="MINI-01", source_dir=subjects_dir))
    return settings


def edc_sync(settings: config.Settings, directory: Path, count: int) -> None:
    request = sync.SyncRequest(study="MINI-01", source_dir=directory, batch_size=2_000)
    result = sync.sync(settings, request)
    assert result.counts["QuestionnaireResponse"].new == count, result.lines()


def run_backend(
    name: str, make_url: Callable[[str], str], checked: protocol.CheckedProtocol, work: Path,
    count: int, rounds: int,
) -> tuple[str, float]:  # fmt: skip
    """Interleaved rounds (baseline, edc, baseline, edc, ...), each on fresh databases."""
    source = write_responses(checked, work / "export", count)
    responses = source / "QuestionnaireResponse.ndjson"
    base_rates, edc_rates = [], []
    for n in range(rounds):
        started = time.perf_counter()
        baseline(make_url(f"base{n}"), responses, str(source.resolve()))
        base_rates.append(count / (time.perf_counter() - started))
        # Patient links are per source: responses are read from the directory the subjects
        # came from, after the subjects (a second sync reads only the new file).
        directory = work / f"source{n}"
        directory.mkdir(parents=True, exist_ok=True)
        for kind in ("Patient", "ResearchSubject"):
            (directory / f"{kind}.ndjson").write_bytes((source / f"{kind}.ndjson").read_bytes())
        settings = prepared(make_url(f"edc{n}"), checked, directory, work / f"data{n}")
        (directory / "QuestionnaireResponse.ndjson").write_bytes(responses.read_bytes())
        started = time.perf_counter()
        edc_sync(settings, directory, count)
        edc_rates.append(count / (time.perf_counter() - started))
        audit_rows = verified_rows(settings.database_url)
    base, edc = statistics.median(base_rates), statistics.median(edc_rates)
    line = (
        f"{name:<11}{count:>10,}{base:>12,.0f} ({min(base_rates):,.0f}-{max(base_rates):,.0f})"
        f"{edc:>10,.0f} ({min(edc_rates):,.0f}-{max(edc_rates):,.0f}){base / edc:>8.1f}x"
        f"{audit_rows:>12,}"
    )
    return line, base / edc


def verified_rows(url: str) -> int:
    """The audit chain's length, after checking it is intact."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            report = chain.verify(connection)
    finally:
        engine.dispose()
    assert report.first_break is None, report
    return report.rows


@contextlib.contextmanager
def postgres_databases() -> Iterator[Callable[[str], str]]:
    """Makes databases on demand (``url_of("edc0")``), all dropped at the end."""
    admin = os.environ.get("EDC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    base = admin.rsplit("/", 1)[0]
    tag = uuid.uuid4().hex[:8]
    made: list[str] = []

    def url_of(label: str) -> str:
        name = f"edc_bench_{tag}_{label}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        return f"{base}/{name}"

    try:
        yield url_of
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            for name in made:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    checked = protocol.check(MINIMAL)
    lines = [
        f"{'backend':<11}{'responses':>10}{'raw writer QR/s (range)':>26}"
        f"{'edc QR/s (range)':>24}{'ratio':>9}{'audit rows':>12}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.backend in ("sqlite", "both"):
            line, _ = run_backend(
                "sqlite", lambda label: f"sqlite:///{work / label}.sqlite3", checked,
                work / "sqlite", args.responses, args.rounds,
            )  # fmt: skip
            lines.append(line)
        if args.backend in ("postgresql", "both"):
            with postgres_databases() as url_of:
                line, _ = run_backend(
                    "postgresql", url_of, checked, work / "pg", args.responses, args.rounds
                )
                lines.append(line)
    print("\n".join(lines))
    print(
        f"(medians of {args.rounds} interleaved rounds, ranges in brackets; ratio = edc time /"
        " raw writer time, target <= 2x; 12 items per response; edc's audit chain verified)"
    )


if __name__ == "__main__":
    main()

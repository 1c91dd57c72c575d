"""Benchmark: ingesting QuestionnaireResponses (12 items each) from NDJSON, against a baseline.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_ingest --responses 20000
    .venv/bin/python -m tests.benchmarks.bench_ingest --responses 5000 --backend sqlite

The study is the minimal test protocol; each response answers its ODI form (ten sections, "all
answered", the total: 12 items). Each backend gets two fresh, migrated warehouses with the same
enrolled subjects. Timed on the same NDJSON file:

* baseline: read the lines, ``orjson.loads``, flatten the items, and insert the same raw,
  form_response and item_value rows with plain DBAPI ``executemany``: no validation, no
  de-duplication, no audit trail;
* baseline+audit: the same, plus one hash-chained audit row per form_response and item_value
  row (the rows edc writes for them), also by plain ``executemany``: what the audit trail's
  rows alone cost, so the rest of the gap is edc's checking and bookkeeping;
* edc: ``edc sync --source`` as shipped (``edc.sync.directory``): parse, store raw once per
  version, check every response against the compiled Questionnaire, insert typed values, one
  audit row per inserted row (hash-chained), the cursor in each batch's transaction.

The audit chain is verified afterwards. PostgreSQL databases are created on
``EDC_TEST_POSTGRES_URL``'s server (default postgresql://postgres@127.0.0.1:5432/test) and
dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import orjson
import psycopg
from psycopg import sql
from sqlalchemy import Dialect

from edc import config
from edc.actions import protocol, sync
from edc.clock import SystemClock
from edc.forms import ResponseTemplate
from edc.warehouse import chain, db, migrate
from edc.warehouse.tables.audit import AuditEventRow
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
            answers["odi-total"] = Decimal(n % 50)
            response = template.build(
                answers, subject=f"Patient/b-p{n % SUBJECTS}", authored=when, response_id=f"q{n}"
            )
            response["meta"] = {"versionId": "1", "lastUpdated": "2026-03-01T09:00:00.000Z"}
            out.write(orjson.dumps(response) + b"\n")
    return directory


def baseline(engine: db.Engine, path: Path, source: str, *, audited: bool = False) -> int:
    """Parse, flatten and executemany the same rows, nothing else; returns responses stored.

    ``audited``: also chain and insert one audit row per form_response and item_value row.
    """
    raw = connection_dbapi(engine)
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    now = dt.datetime.now(dt.UTC)
    cursor = raw.cursor()
    subjects = dict(cursor.execute("SELECT patient_id, subject_id FROM patient_link").fetchall())
    next_raw = next_id(cursor, "raw_resource")
    next_response = next_id(cursor, "form_response")
    next_item = next_id(cursor, "item_value")
    count = 0
    sqlite = engine.dialect.name == "sqlite"
    audit = AuditRows(engine.dialect, cursor, now) if audited else None
    with path.open("rb") as stream:
        for chunk in chunks(stream, 2_000):
            if sqlite:  # edc's SQLite connections leave transactions to the caller
                cursor.execute("BEGIN")
            raws, responses, items = [], [], []
            for line in chunk:
                resource = orjson.loads(line)
                url, _, version = resource["questionnaire"].partition("|")
                digest = hashlib.sha256(line).hexdigest()
                raws.append((next_raw, source, "received", "QuestionnaireResponse",
                             resource["id"], "1", "1", line.decode(), digest, now))  # fmt: skip
                subject = subjects[resource["subject"]["reference"].removeprefix("Patient/")]
                responses.append((next_response, subject, url, version, next_raw, "1",
                                  resource["status"], now))  # fmt: skip
                for item in resource["item"]:
                    answer = item["answer"][0]
                    coding = answer.get("valueCoding") or {}
                    number = answer.get("valueDecimal")
                    kind = "coding" if coding else "decimal" if number is not None else "boolean"
                    items.append((next_item, next_response, item["linkId"], 0, kind,
                                  number, coding.get("code"), coding.get("system"),
                                  answer.get("valueBoolean"), url, version))  # fmt: skip
                    next_item += 1
                next_raw += 1
                next_response += 1
            cursor.executemany(
                "INSERT INTO raw_resource (id, source, direction, resource_type, logical_id, "
                "version_id, version_key, json_text, sha256, received_at) VALUES "
                f"({', '.join([mark] * 10)})",
                raws,
            )
            cursor.executemany(
                "INSERT INTO form_response (id, subject_id, questionnaire_url, "
                "questionnaire_version, raw_resource_id, fhir_version_id, status, authored) "
                f"VALUES ({', '.join([mark] * 8)})",
                responses,
            )
            cursor.executemany(
                "INSERT INTO item_value (id, response_id, link_id, answer_index, value_type, "
                "value_number, value_code, value_system, value_bool, questionnaire_url, "
                f"questionnaire_version) VALUES ({', '.join([mark] * 11)})",
                items,
            )
            if audit is not None:
                audit.insert(cursor, mark, "form_response", responses, RESPONSE_COLUMNS)
                audit.insert(cursor, mark, "item_value", items, ITEM_COLUMNS)
            cursor.execute("COMMIT") if sqlite else raw.commit()  # type: ignore[attr-defined]
            count += len(chunk)
    cursor.close()
    raw.close()
    return count


RESPONSE_COLUMNS = ("id", "subject_id", "questionnaire_url", "questionnaire_version",
                    "raw_resource_id", "fhir_version_id", "status", "authored")  # fmt: skip
ITEM_COLUMNS = ("id", "response_id", "link_id", "answer_index", "value_type", "value_number",
                "value_code", "value_system", "value_bool", "questionnaire_url",
                "questionnaire_version")  # fmt: skip
AUDIT_INSERT = (
    "INSERT INTO audit_event (seq, at, actor, role, action, table_name, record_id, field, "
    "old_value, new_value, reason, prev_hash, hash) VALUES ({marks})"
)


class AuditRows:
    """Hash-chained "insert" audit rows for plain tuples, the plainest way (no edc code)."""

    def __init__(self, dialect: Dialect, cursor: object, now: dt.datetime) -> None:
        at = AuditEventRow.__table__.c.at.type.dialect_impl(dialect)
        process = at.bind_processor(dialect)
        self.at_db = process(now) if process else now
        self.at_text = now.isoformat(timespec="microseconds")
        last = cursor.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")  # type: ignore[attr-defined]
        self.seq, self.prev_hash = last.fetchone()

    def insert(
        self, cursor: object, mark: str, table: str, rows: Sequence[Sequence[object]],
        columns: tuple[str, ...],
    ) -> None:  # fmt: skip
        audit_rows = []
        for row in rows:
            self.seq += 1
            new_value = orjson.dumps(dict(zip(columns, row, strict=True)), default=str).decode()
            payload = [self.seq, self.at_text, "bench", "data_manager", "insert", table,
                       str(row[0]), None, None, new_value, None, self.prev_hash]  # fmt: skip
            digest = hashlib.sha256(orjson.dumps(payload)).hexdigest()
            audit_rows.append((self.seq, self.at_db, "bench", "data_manager", "insert", table,
                               str(row[0]), None, None, new_value, None, self.prev_hash,
                               digest))  # fmt: skip
            self.prev_hash = digest
        cursor.executemany(AUDIT_INSERT.format(marks=", ".join([mark] * 13)), audit_rows)  # type: ignore[attr-defined]


def connection_dbapi(engine: db.Engine) -> object:
    """A plain DBAPI connection (SQLite with edc's pragmas; PostgreSQL as it comes)."""
    return engine.raw_connection().driver_connection  # type: ignore[return-value]


def next_id(cursor: object, table: str) -> int:
    row = cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()  # type: ignore[attr-defined]
    return int(row[0])


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


def run_backend(
    name: str, urls: tuple[str, str, str], checked: protocol.CheckedProtocol, work: Path,
    count: int,
) -> str:  # fmt: skip
    source = write_responses(checked, work / "export", count)
    # Patient links are per source: responses are read from the directory the subjects came
    # from, after the subjects (a second sync reads only the new file).
    dirs = [work / f"source{n}" for n in range(3)]
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
        for kind in ("Patient", "ResearchSubject"):
            (directory / f"{kind}.ndjson").write_bytes((source / f"{kind}.ndjson").read_bytes())
    responses = source / "QuestionnaireResponse.ndjson"
    rates = []
    for n, audited in ((0, False), (1, True)):
        base_settings = prepared(urls[n], checked, dirs[n], work / f"data{n}")
        # The same SQLite settings as the sync engine (edc.warehouse.db.relax_durability).
        engine = db.relax_durability(db.make_engine(base_settings.database_url))
        try:
            started = time.perf_counter()
            baseline(engine, responses, str(dirs[n].resolve()), audited=audited)
            rates.append(count / (time.perf_counter() - started))
        finally:
            engine.dispose()
        verified_rows(urls[n])
    settings = prepared(urls[2], checked, dirs[2], work / "data2")
    (dirs[2] / "QuestionnaireResponse.ndjson").write_bytes(responses.read_bytes())
    started = time.perf_counter()
    request = sync.SyncRequest(study="MINI-01", source_dir=dirs[2], batch_size=2_000)
    result = sync.sync(settings, request)
    edc_rate = count / (time.perf_counter() - started)
    assert result.counts["QuestionnaireResponse"].new == count, result.lines()
    audit_rows = verified_rows(settings.database_url)
    return (
        f"{name:<11}{count:>10,}{rates[0]:>15,.0f}{rates[1]:>17,.0f}{edc_rate:>10,.0f}"
        f"{rates[0] / edc_rate:>8.2f}x{rates[1] / edc_rate:>8.2f}x{audit_rows:>12,}"
    )


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
def postgres_databases() -> Iterator[tuple[str, str, str]]:
    admin = os.environ.get("EDC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    names = [f"edc_bench_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}", f"{base}/{names[2]}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            for name in names:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=20_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    checked = protocol.check(MINIMAL)
    lines = [
        f"{'backend':<11}{'responses':>10}{'baseline QR/s':>15}{'+audit QR/s':>17}"
        f"{'edc QR/s':>10}{'ratio':>9}{'ratio':>9}{'audit rows':>12}",
        f"{'':<36}{'(+ audit rows)':>17}{'':>10}{'vs base':>9}{'vs +aud':>9}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.backend in ("sqlite", "both"):
            urls = tuple(f"sqlite:///{work / name}.sqlite3" for name in ("base", "audit", "edc"))
            lines.append(run_backend("sqlite", urls, checked, work / "sqlite", args.responses))
        if args.backend in ("postgresql", "both"):
            with postgres_databases() as urls:
                lines.append(run_backend("postgresql", urls, checked, work / "pg", args.responses))
    print("\n".join(lines))
    print("(ratio = edc time / baseline time; 12 items per response; audit chains verified)")


if __name__ == "__main__":
    main()

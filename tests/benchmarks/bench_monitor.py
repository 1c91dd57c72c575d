"""Benchmark: the deviation engine (``edc monitor run``) against a per-subject Python loop.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_monitor --subjects 10000

The demo's trial (90 patients, seed 7: enrolled, randomized, full conduct) is made in a fresh
SQLite warehouse, then its subjects are copied, with their consents, allocations, planned and
actual visits, forms and adverse events, until there are ``--subjects`` of them. Timed on that
same data, in this process, on a day after the trial's end:

* baseline: per subject, read their planned visits, visits, forms, consents, allocation and
  adverse events (one query each) and check the same rules in Python - out of window, missed,
  visit/form before consent, randomized before consent, missing forms, late SAE report;
* edc: ``edc.trial.deviations.detect`` (one SELECT per detector for the whole study), and the
  whole ``edc monitor run`` (visit plans brought up to date, detection, reconciliation of the
  ``deviation`` table with its audit rows) - a first run that writes every finding, and a
  second one that finds nothing changed.

Both find the same number of findings of those kinds (printed); the ratio of the times is
printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import orjson
from sqlalchemy import select

from edc import cli, config
from edc.actions import monitor
from edc.actions.workspace import Workspace
from edc.clock import FixedClock
from edc.trial import deviations
from edc.warehouse.tables.crf import FormResponseRow, PlannedVisitRow, VisitRow
from edc.warehouse.tables.fhir import RawResourceRow
from edc.warehouse.tables.safety import AdverseEventRow
from edc.warehouse.tables.subjects import AllocationRow, ConsentRow, PatientLinkRow, SubjectRow
from tests.actions.test_monitor import unlock

STUDY = "SPINE-MWA-01"
AFTER_THE_TRIAL = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
COPIED = ("planned_visit", "visit", "form_response", "adverse_event")


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] != "id"]


def grow(path: Path, subjects: int) -> int:
    """Copy the demo's subjects (and what hangs off them) up to ``subjects``; returns the count."""
    db = sqlite3.connect(path)
    originals = [row[0] for row in db.execute("SELECT id FROM subject ORDER BY id")]
    copies = max(0, -(-subjects // len(originals)) - 1)
    subject_cols = _columns(db, "subject")
    for k in range(1, copies + 1):
        picked = [
            f"subject_code || '-c{k}'" if c == "subject_code" else "NULL" if c == "number_in_site"
            else c
            for c in subject_cols
        ]  # fmt: skip
        db.execute(
            f"INSERT INTO subject ({', '.join(subject_cols)}) SELECT {', '.join(picked)} "
            f"FROM subject WHERE id <= {max(originals)}"
        )
        db.execute("DROP TABLE IF EXISTS temp.m")
        db.execute(
            "CREATE TEMP TABLE m AS SELECT o.id AS old, n.id AS new FROM subject o "
            f"JOIN subject n ON n.subject_code = o.subject_code || '-c{k}' "
            f"WHERE o.id <= {max(originals)}"
        )
        for table in COPIED:
            cols = _columns(db, table)
            picked = ["m.new" if c == "subject_id" else f"t.{c}" for c in cols]
            db.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(picked)} "
                f"FROM {table} t JOIN m ON m.old = t.subject_id"
            )
        db.execute(
            "INSERT INTO consent (subject_id, form_version, signed_at, fhir_reference) "
            "SELECT m.new, c.form_version, c.signed_at, c.fhir_reference FROM consent c "
            "JOIN patient_link l ON l.id = c.patient_link_id JOIN m ON m.old = l.subject_id"
        )
        db.execute(
            "INSERT INTO allocation (study_id, subject_id, arm, randomized_at, factors) "
            "SELECT a.study_id, m.new, a.arm, a.randomized_at, a.factors FROM allocation a "
            "JOIN m ON m.old = a.subject_id"
        )
    db.commit()
    (count,) = db.execute("SELECT count(*) FROM subject").fetchone()
    db.close()
    return int(count)


KINDS = (
    "visit_out_of_window",
    "missed_visit",
    "visit_before_consent",
    "form_before_consent",
    "randomized_before_consent",
    "missing_form",
    "late_sae_report",
)


def baseline(workspace: Workspace, rules: deviations.Rules) -> int:
    """The same checks, subject by subject, in Python (one query per table per subject)."""
    found = 0
    with workspace.transaction() as session:
        ids = list(session.scalars(select(SubjectRow.id).order_by(SubjectRow.id)))
        for sid in ids:
            planned = session.execute(
                select(PlannedVisitRow).where(PlannedVisitRow.subject_id == sid)
            ).scalars()
            visits = {
                v.visit_id: v
                for v in session.scalars(select(VisitRow).where(VisitRow.subject_id == sid))
            }
            forms = list(
                session.scalars(select(FormResponseRow).where(FormResponseRow.subject_id == sid))
            )
            direct = session.scalars(select(ConsentRow).where(ConsentRow.subject_id == sid))
            linked = session.scalars(
                select(ConsentRow)
                .join(PatientLinkRow, PatientLinkRow.id == ConsentRow.patient_link_id)
                .where(PatientLinkRow.subject_id == sid)
            )
            signed = [c.signed_at for c in [*direct, *linked]]
            consent = min(signed) if signed else None
            allocation = session.scalars(
                select(AllocationRow).where(AllocationRow.subject_id == sid)
            ).first()
            events = session.scalars(
                select(AdverseEventRow).where(AdverseEventRow.subject_id == sid)
            )
            for plan in planned:
                done = visits.get(plan.visit_id)
                if done is None:
                    found += plan.window_high < rules.today
                elif not plan.window_low <= done.visit_date <= plan.window_high:
                    found += 1
            if consent is not None:
                found += sum(v.visit_date < consent.date() for v in visits.values())
                found += sum(
                    f.authored is not None and f.authored.date() < consent.date() for f in forms
                )
            if allocation is not None and (consent is None or allocation.randomized_at < consent):
                found += 1
            filled = {(f.visit_id, f.questionnaire_url) for f in forms}
            for visit_id in visits:
                for url in rules.visit_forms.get(visit_id, ()):
                    found += (visit_id, url) not in filled
            for event in events:
                if event.serious and event.reported_at is not None:
                    aware = dt.datetime.combine(event.onset_date, dt.time(), dt.UTC)
                    raw = session.get(RawResourceRow, event.raw_resource_id or 0)
                    detected = orjson.loads(raw.json_text).get("detected") if raw else None
                    if detected:
                        aware = dt.datetime.fromisoformat(detected)
                    late = event.reported_at - aware > dt.timedelta(
                        hours=rules.serious_report_hours
                    )
                    found += late
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warehouse.db"
        os.environ["EDC_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["EDC_DATABASE_URL"] = f"sqlite:///{path}"
        started = time.perf_counter()
        if cli.main(["-q", "demo", "--patients", "90", "--seed", "7", "--defect-rate", "0"]):
            raise SystemExit("the demo failed")
        settings = config.Settings(database_url=f"sqlite:///{path}", data_dir=Path(tmp))
        unlock(settings)  # the demo ends with the study locked
        total = grow(path, args.subjects)
        print(f"warehouse: {total:,} subjects ({time.perf_counter() - started:.1f} s to make)")
        clock = FixedClock(AFTER_THE_TRIAL)
        with Workspace.open(settings, clock=clock, user="demo-monitor") as workspace:
            with workspace.transaction() as session:
                study = workspace.study(session, STUDY)
            rules = monitor.rules_for(study, AFTER_THE_TRIAL.date())
            first = monitor.run(workspace, STUDY)  # plans up to date, every finding written
            t0 = time.perf_counter()
            base = baseline(workspace, rules)
            t_base = time.perf_counter() - t0
            t0 = time.perf_counter()
            with workspace.transaction() as session:
                found = deviations.detect(session, study.id, rules)
            t_detect = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = monitor.run(workspace, STUDY)
            t_run = time.perf_counter() - t0
        same_kinds = sum(f.kind in KINDS for f in found)
        print(f"first monitor run: {first.found:,} findings, {first.opened:,} written")
        print(f"baseline (per-subject loop):  {t_base:8.2f} s  {base:,} findings")
        print(f"edc detect (set-based SQL):   {t_detect:8.2f} s  {same_kinds:,} findings")
        print(
            f"edc monitor run (unchanged):  {t_run:8.2f} s  "
            f"{again.opened} new, {again.resolved} resolved"
        )
        print(f"ratio baseline / detect: {t_base / t_detect:.1f}x")
        print(f"ratio baseline / monitor run: {t_base / t_run:.1f}x")


if __name__ == "__main__":
    main()

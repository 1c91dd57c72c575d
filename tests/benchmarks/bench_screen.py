"""Benchmark: pre-screening a hospital population (``edc screen``), against a naive baseline.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_screen --patients 20000
    .venv/bin/python -m tests.benchmarks.bench_screen --patients 100000 --baseline-sample 300

The generator writes a population of SPINE-MWA-01's three hospitals (patients and their EHR
records, no trial data); it is synced into a fresh SQLite warehouse, where it is kept for
screening. Timed on that same data, in this process:

* naive baseline: per patient, read their resources with one query, build the Bundle, and
  ``fhirpathpy.evaluate`` each criterion's expression from its text (as the protocol file has
  it) - timed on the first ``--baseline-sample`` patients (it is slow), as patients/s;
* edc: ``edc.actions.screen`` as shipped - criteria compiled once and planned
  (``edc.fhirpath.plan``), patients read in batches with one query each, evaluated in two
  worker processes, evidence read for every criterion, results stored per patient and
  criterion - over all patients, as patients/s.

The ratio of the two rates is printed. Runs are interleaved (baseline, edc, baseline) and the
baseline is the mean of its two runs, so a machine busy with other work weighs on both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import fhirpathpy
import orjson
from sqlalchemy import select

from edc import config, fhirpath
from edc.actions import generate, protocol, screen, sync, users
from edc.actions.demo import example_study
from edc.actions.workspace import Workspace
from edc.trial.eligibility import criteria, patient_record
from edc.warehouse import db, migrate, screening
from edc.warehouse.tables.screening import ScreeningResourceRow


def baseline(
    settings: config.Settings, study_id: int, patients: list[tuple[str, str]], texts: list[str],
    as_of: str,
) -> float:  # fmt: skip
    """Patients per second, the naive way."""
    engine = db.make_engine(settings.database_url)
    started = time.perf_counter()
    with engine.connect() as connection:
        for source, patient_id in patients:
            rows = connection.execute(
                select(ScreeningResourceRow.json_text).where(
                    ScreeningResourceRow.study_id == study_id,
                    ScreeningResourceRow.source == source,
                    ScreeningResourceRow.patient_id == patient_id,
                )
            ).scalars()
            record = patient_record(orjson.loads(text) for text in rows)
            variables = {"patient": record["entry"][0]["resource"], "screeningDate": as_of}
            for text in texts:
                fhirpathpy.evaluate(record, text, variables, model=fhirpath.R4_MODEL)
    seconds = time.perf_counter() - started
    engine.dispose()
    return len(patients) / seconds


def edc_screen(settings: config.Settings, study: str, as_of: dt.date) -> tuple[float, int]:
    """Patients per second through ``edc screen`` (every patient evaluated again)."""
    with Workspace.open(settings, user="bench") as workspace:
        started = time.perf_counter()
        result = screen.screen(
            workspace,
            screen.ScreenRequest(study=study, as_of=as_of, rescreen=True, listing=False),
        )
        seconds = time.perf_counter() - started
    return result.evaluated / seconds, result.evaluated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--baseline-sample", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-screen-") as scratch:
        root = Path(scratch)
        settings = config.Settings(
            data_dir=root, database_url=f"sqlite:///{root / 'warehouse.sqlite3'}"
        )
        migrate.upgrade(settings.database_url)
        path = example_study()
        out = root / "hospital"
        started = time.perf_counter()
        generate.generate(
            generate.GenerateOptions(study=path, out=out, patients=args.patients, seed=1),
            population_only=True,
        )
        registered = protocol.register(settings, path)
        loaded = registered.checked.loaded.protocol
        study = loaded.study.id
        sync.sync(settings, sync.SyncRequest(study=study, source_dir=out, batch_size=5_000))
        took = time.perf_counter() - started
        print(f"generated and synced {args.patients:,} patients in {took:.0f} s")
        with Workspace.open(settings, user="bench") as workspace:
            users.add(workspace, "bench", "Benchmark")
            users.grant(workspace, "bench", study, "admin")
            users.grant(workspace, "bench", study, "data_manager")
            with workspace.transaction() as session:
                found = workspace.study(session, study)
                everyone = screening.list_patients(
                    session, study_id=found.id, site_ids=[s.id for s in found.sites]
                )
        sample = [(source, pid) for source, pid, _ in everyone][: args.baseline_sample]
        texts = [c.expression for c, _ in criteria(loaded.eligibility) if c.expression]
        as_of = loaded.study.planned_start or dt.date(2027, 1, 4)
        as_of = as_of + dt.timedelta(days=365)
        first = baseline(settings, found.id, sample, texts, as_of.isoformat())
        rate, evaluated = edc_screen(settings, study, as_of)
        second = baseline(settings, found.id, sample, texts, as_of.isoformat())
        naive = (first + second) / 2
    cpus = os.cpu_count()
    lines = [
        f"naive baseline: {naive:,.1f} patients/s ({len(sample)} patients, "
        f"{len(texts)} expressions, one process)",
        f"edc screen:     {rate:,.1f} patients/s ({evaluated:,} patients, evidence stored, "
        f"{cpus} CPUs)",
        f"ratio:          {rate / naive:.1f}x",
        f"100,000 patients: ~{100_000 / rate / 60:.1f} min with edc, "
        f"~{100_000 / naive / 3600:.1f} h naive",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()

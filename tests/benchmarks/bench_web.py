"""Benchmark: response times of the main pages and API calls on a trial of 1,000 subjects.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_web --subjects 1000 --requests 40

Seeds a SQLite warehouse with the synthetic trial of the web tests (every subject with two
visits, four forms, every third an adverse event) and ``--candidates`` hospital patients who
are not subjects (pre-screened at their site before the server starts, for the screening
worklist), starts ``edc serve`` for real on a loopback port, logs in as a monitor (who sees
every site) and as a site coordinator, and times each page ``--requests`` times over HTTP,
interleaved round-robin so that load from elsewhere on the machine hits all of them alike.
The baseline is the login page (a template and no query): the ratio column says what each
page costs beyond serving a page at all. Absolute times depend on the machine and its load;
the ratios much less.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from edc.actions import screen
from edc.actions.workspace import Workspace
from tests.sync.protocols import Protocols
from tests.web.served import served
from tests.web.test_browser_enrollment import hospital_patient, platelets
from tests.web.trial import PASSWORD, STUDY, Seeded

PAGES = (
    ("login page (baseline)", None, "/login"),
    ("dashboard", "demo", f"/studies/{STUDY}"),
    ("subject list", "demo", f"/studies/{STUDY}/subjects"),
    ("subject list page 10", "demo", f"/studies/{STUDY}/subjects?page=10"),
    ("screening worklist", "site", f"/studies/{STUDY}/sites/01/screening"),
    ("subject page", "demo", f"/studies/{STUDY}/subjects/{{subject}}"),
    ("stored form", "demo", f"/studies/{STUDY}/subjects/{{subject}}/forms/{{response}}"),
    (
        "CRF entry page",
        "site",
        f"/studies/{STUDY}/subjects/{{subject}}/forms/new?form=vas&visit=W1",
    ),
    ("API dashboard", "demo", f"/api/v1/studies/{STUDY}/dashboard"),
    ("API subjects", "demo", f"/api/v1/studies/{STUDY}/subjects"),
    ("API subjects 50 of them", "demo", f"/api/v1/studies/{STUDY}/subjects?offset=500&limit=50"),
    ("API worklist", "site", f"/api/v1/studies/{STUDY}/sites/01/worklist"),
    ("API subject", "demo", f"/api/v1/studies/{STUDY}/subjects/{{subject}}"),
    ("API CTCAE search", "demo", f"/api/v1/studies/{STUDY}/ctcae-terms?q=pain"),
    ("monitoring page", "demo", f"/studies/{STUDY}/monitor"),
    ("monitoring page (site)", "site", f"/studies/{STUDY}/monitor"),
    ("monitor site report", "demo", f"/studies/{STUDY}/monitor/report"),
    ("lock and export page", "stat", f"/studies/{STUDY}/lock"),
    ("API deviations", "demo", f"/api/v1/studies/{STUDY}/deviations"),
    ("API open deviations", "demo", f"/api/v1/studies/{STUDY}/deviations?status=open"),
    ("API queries", "demo", f"/api/v1/studies/{STUDY}/queries"),
    ("API SDV coverage", "demo", f"/api/v1/studies/{STUDY}/sdv"),
    ("API lock status", "stat", f"/api/v1/studies/{STUDY}/lock"),
)


def _hospital(candidates: int) -> dict[str, list[dict[str, object]]]:
    """Patients who are not subjects, alternately at site 01 and 02, every fifth a child (a
    screen failure), every seventh without a platelet count (undetermined)."""
    patients, observations = [], []
    for n in range(candidates):
        pid = f"bench-c{n}"
        site = "Site One" if n % 2 == 0 else "Site Two"
        patients.append(hospital_patient(pid, "2015-01-01" if n % 5 == 0 else "1960-03-03", site))
        if n % 7:
            observations.append(platelets(pid, 120 + n % 90))
    return {"Patient": patients, "Observation": observations}


def _prescreen(seeded: Seeded) -> None:
    workspace = Workspace(seeded.database.engine, seeded.clock, "coord1")
    screen.screen(workspace, screen.ScreenRequest(study=STUDY, site="01", listing=False))


def _client(url: str, username: str | None) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    if username is not None:
        answer = client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
        answer.raise_for_status()
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument(
        "--candidates", type=int, default=400, help="hospital patients to pre-screen"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        started = time.monotonic()
        with served(
            directory,
            Protocols(directory),
            subjects=args.subjects,
            extra=_hospital(args.candidates),
            prepare=_prescreen,
        ) as server:
            print(
                f"seeded {args.subjects:,} subjects, {args.candidates:,} patients to pre-screen, "
                f"and started edc serve in "
                f"{time.monotonic() - started:.0f} s"
            )
            clients = {
                None: _client(server.url, None),
                "demo": _client(server.url, "monitor"),
                "site": _client(server.url, "coord1"),
                "stat": _client(server.url, "stat"),
            }
            subject = server.seeded.subject(2 * (args.subjects // 4))  # a site-01 subject
            casebook = clients["demo"].get(f"/api/v1/studies/{STUDY}/subjects/{subject}").json()
            response = casebook["visits"][0]["forms"][0]["response_id"]
            urls = [
                (name, who, path.format(subject=subject, response=response))
                for name, who, path in PAGES
            ]
            times: dict[str, list[float]] = {name: [] for name, _, _ in urls}
            for _name, who, url in urls:  # warm-up: caches, first template compile
                clients[who].get(url).raise_for_status()
            for _ in range(args.requests):
                for name, who, url in urls:
                    begin = time.perf_counter()
                    answer = clients[who].get(url)
                    times[name].append(time.perf_counter() - begin)
                    answer.raise_for_status()
            baseline = statistics.median(times[urls[0][0]])
            print(f"\n{'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'p50 / baseline':>16}")
            for name, samples in times.items():
                p50 = statistics.median(samples)
                p95 = statistics.quantiles(samples, n=20)[18]
                print(f"{name:<28}{p50 * 1000:>9.1f}{p95 * 1000:>9.1f}{p50 / baseline:>15.1f}x")
            for client in clients.values():
                client.close()


if __name__ == "__main__":
    main()

"""Faults during a pull: nothing lost, nothing duplicated, a clear message, the right exit code.

The server is the real SEKMET; the wrapping transport injects what it cannot do on cue (a 429
storm, 503s, a malformed or repeated entry in a page, a failing Bulk job). Stopping and
restarting the server and expiring tokens are real.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from edc import errors
from edc.actions import sync
from edc.clock import FixedClock, SystemClock
from edc.fhir import (
    BulkExportError,
    FhirClient,
    RetryPolicy,
    SmartBackendAuth,
    TemporaryNetworkError,
)
from edc.fhir.target import ServerSpec
from tests.fhir.faults import FaultTransport, RecordingSleep, answer, outcome
from tests.fhir_server.fixture import FhirServer, FhirServerFactory, start_or_give_up
from tests.fixtures.database import Database
from tests.sync import trialdata
from tests.sync.conftest import Warehouse, make_warehouse
from tests.sync.protocols import Protocols

SUBJECTS = 4
EXPECTED = {
    "subject": 4, "patient_link": 4, "allocation": 4, "consent": 4, "visit": 8,
    "form_response": 16, "item_value": 4 * 2 * 12, "adverse_event": 2, "data_problem": 0,
}  # fmt: skip


@pytest.fixture
def transport() -> Iterator[FaultTransport]:
    faults = FaultTransport()
    yield faults
    faults.close()


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep(real_cap=0.05)


@pytest.fixture
def study_warehouse(
    sqlite_database: Database, tmp_path: Path, protocols: Protocols, clock: FixedClock, unique: str
) -> Warehouse:
    return make_warehouse(sqlite_database, tmp_path / "data", protocols.get(f"F-{unique}"), clock)


def _load(
    url: str, warehouse: Warehouse, tag: str, client: FhirClient | None = None
) -> trialdata.Trial:
    trial = trialdata.build(
        warehouse.study.checked.compiled, SUBJECTS, tag=tag, study=warehouse.study.study
    )
    with client or FhirClient(url) as fhir:
        trialdata.load(fhir, list(trial.all()))
    return trial


def _pull(
    warehouse: Warehouse,
    url: str,
    transport: httpx.BaseTransport,
    sleeps: RecordingSleep,
    clock: FixedClock,
    **options: Any,
) -> sync.SyncResult:
    retry = RetryPolicy(sleep=sleeps, rng=random.Random(3), clock=SystemClock())

    def client(spec: ServerSpec) -> FhirClient:
        return FhirClient(spec.url, retry=retry, transport=transport)

    request = sync.SyncRequest(study=warehouse.study.study, server=ServerSpec(url), **options)
    return sync.sync(warehouse.settings, request, clock=clock, client_factory=client)


def _complete(warehouse: Warehouse, trial: trialdata.Trial) -> None:
    assert warehouse.counts() == {**EXPECTED, "raw_resource": trial.count}
    assert warehouse.duplicates() == {}
    assert warehouse.chain_ok()


def _searches(resource_type: str) -> Callable[[httpx.Request], bool]:
    return lambda r: r.method == "GET" and r.url.path.endswith(f"/{resource_type}")


def test_a_429_storm_is_waited_out_as_the_server_asks(
    fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    trial = _load(fhir_server.base_url, study_warehouse, unique)
    busy = answer(429, headers={"Retry-After": "2"}, json=outcome("throttled", "slow down"))
    transport.add(_searches("QuestionnaireResponse"), busy, times=4)

    _pull(study_warehouse, fhir_server.base_url, transport, sleeps, clock)

    assert sleeps.calls.count(2.0) == 4
    _complete(study_warehouse, trial)


def test_503s_then_recovery(
    fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    trial = _load(fhir_server.base_url, study_warehouse, unique)
    transport.add(_searches("Encounter"), answer(503), times=3)
    _pull(study_warehouse, fhir_server.base_url, transport, sleeps, clock)
    assert len(sleeps.calls) == 3
    _complete(study_warehouse, trial)


def _rewrite_page(
    resource_type: str, change: Callable[[dict[str, Any]], None]
) -> Callable[..., httpx.Response]:
    def respond(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        response = real()
        body = orjson.loads(response.read())
        if body.get("entry"):
            change(body)
        return httpx.Response(200, content=orjson.dumps(body), request=request)

    del resource_type
    return respond


def test_a_malformed_resource_in_a_page_is_kept_as_a_problem(
    fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    trial = _load(fhir_server.base_url, study_warehouse, unique)

    def spoil(body: dict[str, Any]) -> None:
        body["entry"][0]["resource"]["status"] = 7  # not a code
        body["entry"].append({"resource": {"resourceType": "Observation", "id": "no good!"}})

    transport.add(_searches("Observation"), _rewrite_page("Observation", spoil))
    result = _pull(study_warehouse, fhir_server.base_url, transport, sleeps, clock)

    assert result.counts["Observation"].rejected == 2
    assert study_warehouse.rows(
        "SELECT kind, field_path FROM data_problem ORDER BY field_path"
    ) == [
        ("invalid_resource", "Observation.id"),
        ("invalid_resource", "Observation.status"),
    ]
    assert study_warehouse.count("raw_resource") == trial.count  # the bad one is stored too
    assert study_warehouse.count("form_response") == 16


def test_the_same_resource_delivered_twice_is_stored_once(
    fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    trial = _load(fhir_server.base_url, study_warehouse, unique)
    transport.add(
        _searches("QuestionnaireResponse"),
        _rewrite_page("QuestionnaireResponse", lambda b: b["entry"].append(b["entry"][0])),
    )
    result = _pull(study_warehouse, fhir_server.base_url, transport, sleeps, clock)
    assert result.counts["QuestionnaireResponse"].new == 16
    _complete(study_warehouse, trial)


def test_a_server_that_stops_mid_pull_and_comes_back(
    fresh_fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    server = fresh_fhir_server
    trial = _load(server.base_url, study_warehouse, unique)
    sleeps = RecordingSleep(hook=lambda _: server.start())

    def stop_then_send(
        request: httpx.Request, real: Callable[[], httpx.Response]
    ) -> httpx.Response:
        server.stop()
        return real()  # refused: the retry loop sleeps (and the hook restarts the server)

    transport.add(_searches("Encounter"), stop_then_send)
    _pull(study_warehouse, server.base_url, transport, sleeps, clock)

    assert sleeps.calls and server.running
    _complete(study_warehouse, trial)


def test_a_server_that_stays_down_is_exit_3_and_the_rerun_completes(
    fresh_fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    server = fresh_fhir_server
    trial = _load(server.base_url, study_warehouse, unique)
    transport.add(_searches("Encounter"), lambda request, real: (server.stop(), real())[1])

    with pytest.raises(TemporaryNetworkError, match="no answer after 5 attempts") as caught:
        _pull(study_warehouse, server.base_url, transport, sleeps, clock)
    assert caught.value.exit_code == errors.EXIT_EXTERNAL_FAILURE
    assert 0 < study_warehouse.count("raw_resource") < trial.count  # what came before is kept

    server.start()
    _pull(study_warehouse, server.base_url, transport, sleeps, clock)
    _complete(study_warehouse, trial)


@pytest.fixture(scope="module")
def short_token_server(fhir_server_factory: FhirServerFactory) -> Iterator[FhirServer]:
    server = start_or_give_up(fhir_server_factory, smart=True, token_lifetime=2, name="token2s")
    yield server
    server.stop()


def test_a_token_that_expires_mid_pull_is_renewed(
    short_token_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    smart = short_token_server.smart
    assert smart is not None
    # Our side believes the token fresh for ever (a clock frozen at the real "now", so that the
    # assertions it signs are still valid); the server's token expires after 2 s.
    auth = SmartBackendAuth(
        client_id=smart.client_id, private_key_pem=smart.private_key_pem, kid=smart.kid,
        scope=smart.scope, token_url=smart.token_url, clock=FixedClock(SystemClock().now()),
    )  # fmt: skip
    retry = RetryPolicy(sleep=sleeps, rng=random.Random(3), clock=SystemClock())
    with FhirClient(short_token_server.base_url, auth=auth, retry=retry) as fhir:
        trial = _load(short_token_server.base_url, study_warehouse, unique, fhir)

        def pause(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
            time.sleep(2.1)  # the only real wait in these tests: let the token expire
            return real()

        transport.add(_searches("Consent"), pause)

        def client(spec: ServerSpec) -> FhirClient:
            return FhirClient(spec.url, auth=auth, retry=retry, transport=transport)

        request = sync.SyncRequest(
            study=study_warehouse.study.study, server=ServerSpec(short_token_server.base_url)
        )
        sync.sync(study_warehouse.settings, request, clock=clock, client_factory=client)

    assert any(e.status == 401 for e in transport.log)
    _complete(study_warehouse, trial)


def test_a_failed_bulk_job_is_exit_3_and_ingests_nothing(
    fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    _load(fhir_server.base_url, study_warehouse, unique)
    failed = answer(500, json=outcome("exception", "export crashed: disk full"))
    transport.add(lambda r: "/bulk-status/" in r.url.path and r.method == "GET", failed, times=10)

    with pytest.raises(BulkExportError, match="export job failed") as caught:
        _pull(study_warehouse, fhir_server.base_url, transport, sleeps, clock, bulk=True)

    assert caught.value.exit_code == errors.EXIT_EXTERNAL_FAILURE
    assert "disk full" in str(caught.value)
    # Nothing from the export: only the ResearchSubjects read (by REST) to keep the study's
    # enrollment Group, and their cursor.
    stored = study_warehouse.rows("SELECT DISTINCT resource_type FROM raw_resource")
    assert stored == [("ResearchSubject",)]
    cursors = study_warehouse.rows("SELECT resource_type FROM sync_cursor")
    assert cursors == [("ResearchSubject",)]


def test_a_bulk_job_lost_in_a_server_restart_is_started_again(
    fresh_fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    server = fresh_fhir_server
    trial = _load(server.base_url, study_warehouse, unique)
    restarts: list[float] = []

    def restart_once(seconds: float) -> None:
        if not restarts:
            restarts.append(seconds)
            server.restart()  # jobs live in the server's memory: this one is gone

    sleeps = RecordingSleep(real_cap=0.35, hook=restart_once)
    _pull(study_warehouse, server.base_url, transport, sleeps, clock, bulk=True)

    kick_offs = transport.requests_to("/$export", "GET")
    assert len(kick_offs) == 2 and restarts
    _complete(study_warehouse, trial)


def test_more_same_instant_writes_than_a_page_holds_are_all_read(
    fhir_server: FhirServer, study_warehouse: Warehouse, transport: FaultTransport,
    sleeps: RecordingSleep, clock: FixedClock, unique: str,
) -> None:  # fmt: skip
    trial = _load(fhir_server.base_url, study_warehouse, unique)

    def same_instant(body: dict[str, Any]) -> None:
        for entry in body["entry"]:
            entry["resource"]["meta"]["lastUpdated"] = "2026-03-01T00:00:00.000Z"

    # Every Observation page claims one millisecond: paging by _lastUpdated cannot move on, so
    # the pull must follow the offset links to the end instead of asking the same page forever.
    transport.add(_searches("Observation"), _rewrite_page("Observation", same_instant), times=50)
    result = _pull(study_warehouse, fhir_server.base_url, transport, sleeps, clock, page_size=2)

    assert result.counts["Observation"].new == SUBJECTS
    _complete(study_warehouse, trial)

"""Bulk Data export against the real server: kick-off, polling, NDJSON download, clean-up."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import httpx
import orjson
import pytest

from edc import errors as edc_errors
from edc.clock import SystemClock
from edc.fhir import BulkExportError, ResourceNotFoundError, RetryPolicy, SmartBackendAuth, bulk
from edc.fhir.bulk import ExportQuery as Query
from tests.fhir import samples
from tests.fhir.faults import RecordingSleep, answer, bulk_status_get, on, rewrite_json


@pytest.fixture
def polls() -> RecordingSleep:
    """Records the poll delays; really waits at most 0.1 s so the server's job can finish."""
    return RecordingSleep(real_cap=0.1)


@pytest.fixture
def polling_retry(polls: RecordingSleep) -> RetryPolicy:
    return RetryPolicy(sleep=polls, rng=random.Random(5), clock=SystemClock())


def _cohort(fhir, unique: str, size: int = 2) -> tuple[str, list[str]]:
    """Patients with one Observation each, and a Group of them; returns (group id, patient ids)."""
    ids = [fhir.create(samples.patient(unique, i)).body["id"] for i in range(size)]
    for i, pid in enumerate(ids):
        fhir.create(samples.observation(unique, i, pid))
    members = [{"entity": {"reference": f"Patient/{pid}"}} for pid in ids]
    group = {"resourceType": "Group", "type": "person", "actual": True, "member": members}
    return fhir.create(group).body["id"], ids


def _ids(path) -> list[str]:
    return [orjson.loads(line)["id"] for line in path.read_bytes().splitlines()]


def test_group_export_end_to_end(
    fhir_server, make_client, polling_retry, polls, transport, unique, tmp_path
):
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id, patient_ids = _cohort(fhir, unique)

    result = bulk.export(fhir, tmp_path, Query(group_id=group_id, types=["Patient", "Observation"]))

    by_type = {kind: path for kind, path, _ in result.files}
    assert sorted(_ids(by_type["Patient"])) == sorted(patient_ids)
    observations = [orjson.loads(line) for line in by_type["Observation"].read_bytes().splitlines()]
    assert sorted(o["subject"]["reference"] for o in observations) == sorted(
        f"Patient/{p}" for p in patient_ids
    )
    assert [count for _, _, count in result.files] == [2, 2]
    assert not list(tmp_path.glob("*.part"))
    assert result.manifest.transaction_time.endswith("Z")
    assert result.manifest.requires_access_token is False

    kick = transport.requests_to(f"/Group/{group_id}/$export")[0]
    assert kick.headers["Prefer"] == "respond-async, handling=strict"
    assert httpx.URL(kick.url).params["_type"] == "Patient,Observation"
    polled = [e for e in transport.log if "/bulk-status/" in e.url and e.method == "GET"]
    assert [e.status for e in polled][-1] == 200
    assert polls.calls and set(polls.calls) == {1.0}  # SEKMET answers Retry-After: 1
    assert len(polls.calls) == [e.status for e in polled].count(202)
    status_url = polled[0].url
    assert transport.log[-1].method == "DELETE" and transport.log[-1].url == status_url
    assert httpx.get(status_url).status_code == 404  # the server forgot the job


def test_since_previous_transaction_time_returns_only_newer_data(
    fhir_server, make_client, polling_retry, unique, tmp_path
):
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id, patient_ids = _cohort(fhir, unique)
    first = bulk.export(fhir, tmp_path / "first", Query(group_id=group_id))
    newer = fhir.create(samples.observation(unique, 99, patient_ids[0], value=9)).body["id"]

    since = first.manifest.transaction_time
    second = bulk.export(fhir, tmp_path / "second", Query(group_id=group_id, since=since))

    assert {"Patient", "Observation"} <= {kind for kind, _, _ in first.files}
    assert [(kind, _ids(path)) for kind, path, _ in second.files] == [("Observation", [newer])]
    assert second.manifest.transaction_time > first.manifest.transaction_time


def test_post_kick_off_with_parameters(fhir_server, make_client, polling_retry, unique, tmp_path):
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id, patient_ids = _cohort(fhir, unique, size=1)
    status_url = bulk.kick_off(fhir, Query(group_id=group_id, types=["Patient"], post=True))
    try:
        manifest = bulk.wait_for_manifest(fhir, status_url)
        result = bulk.download(fhir, manifest, tmp_path)
    finally:
        bulk.delete_job(fhir, status_url)
    assert _ids(result.files[0][1]) == patient_ids
    assert manifest.request.endswith(f"/Group/{group_id}/$export")


def test_a_failing_job_raises_with_the_servers_reason(
    fhir_server, make_client, polling_retry, transport, unique, tmp_path
):
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id, _ = _cohort(fhir, unique, size=1)

    with pytest.raises(BulkExportError) as caught:
        query = Query(group_id=group_id, type_filters=["Patient?birthdate=not-a-date"])
        bulk.export(fhir, tmp_path, query)

    assert caught.value.exit_code == edc_errors.EXIT_EXTERNAL_FAILURE
    assert caught.value.status == 500
    assert "Invalid date search value 'not-a-date'" in str(caught.value)
    assert transport.log[-1].method == "DELETE"


def test_kick_off_for_an_unknown_group_is_refused(
    fhir_server, make_client, polling_retry, tmp_path
):
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    with pytest.raises(ResourceNotFoundError, match="Group/no-such-group not found"):
        bulk.export(fhir, tmp_path, Query(group_id="no-such-group"))


def test_export_that_never_finishes_is_cancelled_at_the_deadline(
    fhir_server, make_client, retry, sleeps, transport, unique, tmp_path
):
    fhir = make_client(fhir_server.base_url)  # frozen clock, advanced by each recorded sleep
    group_id, _ = _cohort(fhir, unique, size=1)
    busy = answer(202, headers={"Retry-After": "10", "X-Progress": "still counting"})
    transport.add(bulk_status_get, busy, times=100)

    with pytest.raises(BulkExportError, match="did not finish within 0:00:30"):
        bulk.export(fhir, tmp_path, Query(group_id=group_id), max_wait=dt.timedelta(seconds=30))

    assert sleeps.calls == [10.0, 10.0, 10.0]
    statuses = [e for e in transport.log if "/bulk-status/" in e.url]
    assert [e.method for e in statuses] == ["GET"] * 4 + ["DELETE"]
    assert statuses[-1].status == 202  # the server accepted the cancellation


def test_errors_reported_in_the_manifest_fail_the_export(
    fhir_server, make_client, polling_retry, transport, unique, tmp_path
):
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id, _ = _cohort(fhir, unique, size=1)
    error_url = f"{fhir_server.base_url}/bulk-files/made-up/errors.ndjson"
    transport.add(
        bulk_status_get,
        rewrite_json(lambda m: m.update(error=[{"type": "OperationOutcome", "url": error_url}])),
        times=20,
    )
    lines = [
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "processing",
                    "diagnostics": "Observation/17 could not be read",
                }
            ],
        },
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "informational", "diagnostics": "slow disk"}],
        },
    ]
    ndjson = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    transport.add(
        on("/errors.ndjson"),
        lambda request, real: httpx.Response(200, content=ndjson, request=request),
        times=2,
    )

    with pytest.raises(BulkExportError, match="Observation/17 could not be read") as caught:
        bulk.export(fhir, tmp_path / "strict", Query(group_id=group_id))
    assert [i.severity for i in caught.value.issues] == ["error"]

    partial = bulk.export(fhir, tmp_path / "partial", Query(group_id=group_id), allow_errors=True)
    assert [i.diagnostics for i in partial.issues] == [
        "Observation/17 could not be read",
        "slow disk",
    ]
    assert {kind for kind, _, _ in partial.files} >= {"Patient"}


def test_token_is_never_sent_to_another_server_for_files(
    fhir_server_smart, make_client, polling_retry, transport, unique, tmp_path
):
    creds = fhir_server_smart.smart
    auth = SmartBackendAuth(
        client_id=creds.client_id,
        private_key_pem=creds.private_key_pem,
        kid=creds.kid,
        scope=creds.scope,
        token_url=creds.token_url,
    )
    fhir = make_client(fhir_server_smart.base_url, retry=polling_retry, auth=auth)
    group_id, _ = _cohort(fhir, unique, size=1)

    def elsewhere(manifest: dict) -> None:
        for item in manifest["output"]:
            item["url"] = item["url"].replace("127.0.0.1", "localhost")

    transport.add(bulk_status_get, rewrite_json(elsewhere), times=20)
    with pytest.raises(BulkExportError, match="another server"):
        bulk.export(fhir, tmp_path, Query(group_id=group_id))
    assert not [e for e in transport.log if "localhost" in e.url]


def test_export_on_a_smart_server_downloads_files_with_the_token(
    fhir_server_smart, make_client, polling_retry, transport, unique, tmp_path
):
    creds = fhir_server_smart.smart
    auth = SmartBackendAuth(
        client_id=creds.client_id,
        private_key_pem=creds.private_key_pem,
        kid=creds.kid,
        scope=creds.scope,
        token_url=creds.token_url,
    )
    fhir = make_client(fhir_server_smart.base_url, retry=polling_retry, auth=auth)
    group_id, patient_ids = _cohort(fhir, unique)

    result = bulk.export(fhir, tmp_path, Query(group_id=group_id, types=["Patient"]))

    assert result.manifest.requires_access_token is True
    assert sorted(_ids(result.files[0][1])) == sorted(patient_ids)
    downloads = [e for e in transport.log if "/bulk-files/" in e.url]
    assert downloads and all(e.headers["Authorization"].startswith("Bearer ") for e in downloads)
    assert len(transport.requests_to("/auth/token")) == 1


class _DropsMidway(httpx.SyncByteStream):
    """A body that sends its first chunk and then loses the connection."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    def __iter__(self):
        yield self.first
        raise httpx.ReadError("connection reset mid-file")


def test_a_file_download_that_drops_midway_is_restarted(
    fhir_server, make_client, polling_retry, polls, transport, unique, tmp_path
):
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id, patient_ids = _cohort(fhir, unique, size=3)

    def truncated(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        full = real().read()
        return httpx.Response(200, stream=_DropsMidway(full[: len(full) // 2]), request=request)

    transport.add(on("/Patient.ndjson"), truncated)
    result = bulk.export(fhir, tmp_path, Query(group_id=group_id, types=["Patient"]))

    assert sorted(_ids(result.files[0][1])) == sorted(patient_ids)  # all there, once each
    assert len(transport.requests_to("/Patient.ndjson")) == 2
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    "fields",
    [{"level": "group"}, {"level": "patient", "group_id": "g1"}, {"level": "everything"}],
)
def test_an_export_query_needs_a_group_exactly_for_group_level(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="group_id exactly for 'group'"):
        Query(**fields)  # type: ignore[arg-type]

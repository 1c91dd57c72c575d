"""A server that misbehaves on purpose: drips bytes, points us at other hosts, names files badly.

The real server (SEKMET) serves everything it can; its answers are rewritten by the fault
transport where it cannot misbehave on cue, and a hostile socket server on 127.0.0.1 drips.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edc import errors as edc_errors
from edc.clock import SystemClock
from edc.fhir import (
    AuthError,
    BulkExportError,
    DeadlineError,
    FatalNetworkError,
    FhirClient,
    RetryPolicy,
    SmartBackendAuth,
    TemporaryNetworkError,
    bulk,
)
from edc.fhir.bulk import ExportQuery
from edc.fhir.target import ServerSpec, SmartSpec
from tests.fhir import samples
from tests.fhir.faults import RecordingSleep, bulk_status_get, rewrite_json
from tests.fhir.hostile import HostileServer, drip_body, drip_headers

FAST_TIMEOUT = httpx.Timeout(connect=2.0, read=1.0, write=2.0, pool=2.0)


def _other_origin(url: str) -> str:
    """The same server under another name: a different origin (RFC 6454) on 127.0.0.1."""
    return url.replace("127.0.0.1", "localhost")


# --- a server that drips ------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [drip_body(b"x" * 400, 0.2), drip_headers(0.2)])
def test_a_dripping_server_cannot_hold_a_request_past_its_limit(behaviour) -> None:
    sleeps = RecordingSleep()
    retry = RetryPolicy(max_attempts=2, sleep=sleeps, rng=random.Random(3))
    with HostileServer(behaviour) as server:
        fhir = FhirClient(server.url, retry=retry, timeout=FAST_TIMEOUT, request_limit=1.5)
        started = time.monotonic()
        with pytest.raises(TemporaryNetworkError, match="no answer after 2 attempts"):
            fhir.read("Patient", "p1")
        elapsed = time.monotonic() - started
        fhir.close()
    # Each byte arrives within the read timeout (1 s), so only the overall limit can stop it.
    assert 2.5 < elapsed < 6, elapsed
    assert len(server.requests) == 2


def test_the_jobs_deadline_stops_retrying_a_dripping_server() -> None:
    retry = RetryPolicy(max_attempts=50, sleep=lambda _: None, rng=random.Random(3))
    with HostileServer(drip_body(b"x" * 400, 0.2)) as server:
        fhir = FhirClient(
            server.url,
            retry=retry,
            timeout=FAST_TIMEOUT,
            request_limit=None,
            deadline=time.monotonic() + 2.0,
        )
        started = time.monotonic()
        with pytest.raises(DeadlineError, match="time limit passed") as caught:
            fhir.read("Patient", "p1")
        fhir.close()
    assert time.monotonic() - started < 4
    assert caught.value.exit_code == edc_errors.EXIT_EXTERNAL_FAILURE


def test_a_streamed_download_is_bounded_as_a_whole() -> None:
    with HostileServer(drip_body(b"x" * 400, 0.2)) as server:
        fhir = FhirClient(server.url, retry=RetryPolicy(max_attempts=1), timeout=FAST_TIMEOUT)
        started = time.monotonic()
        with (
            pytest.raises(httpx.ReadTimeout),
            fhir.stream("GET", "Binary/1", limit=1.5) as response,
        ):
            for _ in response.iter_bytes():
                pass
        fhir.close()
    assert time.monotonic() - started < 4


# --- Bulk: where the status URL and the files are ----------------------------------------------


@pytest.fixture
def polling_retry() -> RetryPolicy:
    return RetryPolicy(
        sleep=RecordingSleep(real_cap=0.1), rng=random.Random(5), clock=SystemClock()
    )


def _group(fhir: FhirClient, unique: str) -> str:
    pid = fhir.create(samples.patient(unique)).body["id"]
    fhir.create(samples.observation(unique, 0, pid))
    group = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{pid}"}}],
    }
    return str(fhir.create(group).body["id"])


def _moved_status(to: Callable[[str], str]):
    def respond(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        response = real()
        response.read()
        headers = dict(response.headers)
        headers["content-location"] = to(headers["content-location"])
        return httpx.Response(response.status_code, headers=headers, request=request)

    return respond


def _smart_auth(server, **options: str) -> SmartBackendAuth:
    creds = server.smart
    return SmartBackendAuth(
        client_id=creds.client_id, private_key_pem=creds.private_key_pem, kid=creds.kid, **options
    )


def _kick_off(request: httpx.Request) -> bool:
    return request.url.path.endswith("/$export")


def test_a_status_url_on_another_origin_gets_no_request_and_no_token(
    fhir_server_smart, make_client, transport, unique, tmp_path, polling_retry
) -> None:
    auth = _smart_auth(
        fhir_server_smart,
        scope="system/*.read system/*.write",
        token_url=fhir_server_smart.smart.token_url,
    )
    fhir = make_client(fhir_server_smart.base_url, auth=auth, retry=polling_retry)
    group_id = _group(fhir, unique)
    transport.add(_kick_off, _moved_status(lambda url: "http://attacker.invalid/steal?" + url))

    with pytest.raises(BulkExportError, match="status URL is on another server") as caught:
        bulk.export(fhir, tmp_path, ExportQuery(group_id=group_id))

    assert caught.value.exit_code == edc_errors.EXIT_EXTERNAL_FAILURE
    assert "--fhir-trust-origin" in caught.value.details
    assert not [e for e in transport.log if "attacker.invalid" in e.url], "a request went there"
    assert not list(tmp_path.iterdir())


def test_a_trusted_status_origin_is_followed(
    fhir_server, make_client, transport, unique, tmp_path, polling_retry
) -> None:
    trusted = _other_origin(fhir_server.base_url)
    fhir = make_client(fhir_server.base_url, retry=polling_retry, trusted_origins=[trusted])
    group_id = _group(fhir, unique)
    transport.add(_kick_off, _moved_status(_other_origin))

    result = bulk.export(fhir, tmp_path, ExportQuery(group_id=group_id, types=["Patient"]))

    assert [kind for kind, _, _ in result.files] == ["Patient"]
    assert any(e.url.startswith(_other_origin(fhir_server.root_url)) for e in transport.log)


@pytest.mark.parametrize("bad_type", ["../../../escaped", "Patient/../../x", "", "a" * 300])
def test_output_types_that_are_not_type_names_write_nothing(
    fhir_server, make_client, transport, unique, tmp_path, polling_retry, bad_type
) -> None:
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id = _group(fhir, unique)

    def rename(body: dict) -> None:
        body["output"][0]["type"] = bad_type

    transport.add(bulk_status_get, rewrite_json(rename), times=100)
    target = tmp_path / "data" / "bulk" / "export-1"
    with pytest.raises(BulkExportError, match="not a resource type name"):
        bulk.export(fhir, target, ExportQuery(group_id=group_id))

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []
    assert transport.log[-1].method == "DELETE"  # the job is cleaned up on the server too


def test_a_download_that_fails_half_way_leaves_no_part_file(
    fhir_server, make_client, transport, unique, tmp_path, polling_retry
) -> None:
    fhir = make_client(fhir_server.base_url, retry=polling_retry)
    group_id = _group(fhir, unique)

    class Broken(httpx.SyncByteStream):
        def __iter__(self):
            yield b'{"resourceType":"Patient","id":"half"}\n{"resourceT'
            raise RuntimeError("disk pulled out")

    def half(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        return httpx.Response(200, stream=Broken(), request=request)

    transport.add(lambda r: "/bulk-files/" in r.url.path, half)
    with pytest.raises(RuntimeError, match="disk pulled out"):
        bulk.export(fhir, tmp_path, ExportQuery(group_id=group_id, types=["Patient"]))
    assert [p.name for p in tmp_path.iterdir()] == []


# --- SMART: plain http, and a token endpoint elsewhere -------------------------------------


def _smart_spec(tmp_path: Path, **changes) -> SmartSpec:
    key = tmp_path / "key.pem"
    key.write_text("unused: the checks come first")
    return SmartSpec(client_id="edc", key_file=key, kid="k1", **changes)


@pytest.mark.parametrize(
    ("url", "token_url", "allowed"),
    [
        ("http://ehr.example.org/fhir", None, False),
        ("https://ehr.example.org/fhir", "http://auth.example.org/token", False),
        ("http://127.0.0.1:8080/fhir", None, True),
        ("http://localhost:8080/fhir", "http://[::1]:9/token", True),
        ("https://ehr.example.org/fhir", None, True),
    ],
)
def test_smart_over_plain_http_is_refused_off_loopback(tmp_path, url, token_url, allowed) -> None:
    spec = ServerSpec(url, _smart_spec(tmp_path, token_url=token_url))
    if allowed:
        spec.check()
    else:
        with pytest.raises(edc_errors.BadInputError, match="SMART over plain http"):
            spec.check()
        explicitly = _smart_spec(tmp_path, token_url=token_url, allow_http=True)
        ServerSpec(url, explicitly).check()


def test_the_cli_refuses_smart_over_http_with_exit_2(tmp_path, capsys) -> None:
    from edc.cli import main

    key = tmp_path / "key.pem"
    key.write_text("x")
    smart = ["--smart-client-id", "edc", "--smart-key", str(key), "--smart-kid", "k"]
    url = ["--fhir-url", "http://ehr.example.org/fhir"]
    assert main(["sync", "--study", "S", *url, *smart]) == edc_errors.EXIT_BAD_INPUT
    assert "SMART over plain http" in capsys.readouterr().err


def test_a_discovered_token_endpoint_on_another_origin_gets_no_assertion(
    fhir_server_smart, make_client, transport
) -> None:
    auth = _smart_auth(fhir_server_smart, fhir_base_url=fhir_server_smart.base_url)
    fhir = make_client(fhir_server_smart.base_url, auth=auth)
    transport.add(
        lambda r: r.url.path.endswith("/smart-configuration"),
        rewrite_json(lambda body: body.update(token_endpoint="https://attacker.invalid/token")),
    )
    with pytest.raises(AuthError, match="not on the FHIR server's origin"):
        fhir.read("Patient", "anything")
    assert not [e for e in transport.log if "attacker.invalid" in e.url]
    assert auth.token_requests == 0


def test_next_links_and_requests_elsewhere_are_refused(fhir_server, make_client, transport):
    fhir = make_client(fhir_server.base_url)
    with pytest.raises(FatalNetworkError, match="another server"):
        fhir.request("GET", "https://attacker.invalid/fhir/Patient")
    assert transport.log == []

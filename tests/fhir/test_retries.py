"""Retries and error classification: faults injected around the real server's transport."""

from __future__ import annotations

import random

import httpx
import pytest

from edc import errors as edc_errors
from edc.fhir import (
    DEFAULT_TIMEOUT,
    FhirRequestError,
    RetryPolicy,
    TemporaryNetworkError,
    parse_retry_after,
)
from tests.fhir import samples
from tests.fhir.faults import FROZEN_AT, RecordingSleep, answer, fail_with, on, outcome


@pytest.fixture
def patient_id(fhir_server, make_client, unique) -> str:
    return make_client(fhir_server.base_url).create(samples.patient(unique)).body["id"]


def _reads(transport, patient_id):
    return transport.requests_to(f"/Patient/{patient_id}", "GET")


def test_429_storm_honours_retry_after_seconds_then_succeeds(
    fhir_server, make_client, transport, sleeps, patient_id
):
    throttled = answer(429, headers={"Retry-After": "2"}, json=outcome("throttled", "slow down"))
    transport.add(on(f"/Patient/{patient_id}"), throttled, times=3)

    read = make_client(fhir_server.base_url).read("Patient", patient_id)

    assert read.body["id"] == patient_id
    assert sleeps.calls == [2.0, 2.0, 2.0]
    assert [e.status for e in _reads(transport, patient_id)] == [429, 429, 429, 200]


def test_retry_after_as_http_date_is_measured_on_the_clock(
    fhir_server, make_client, transport, sleeps, patient_id
):
    # FROZEN_AT is 09:30:00+04:00 = 05:30:00 GMT. The first answer asks for 05:30:07; by the
    # second, the (recorded) sleep has moved the clock past 05:30:05, so that date means "now".
    transport.add(
        on(f"/Patient/{patient_id}"),
        answer(503, headers={"Retry-After": "Sun, 01 Mar 2026 05:30:07 GMT"}),
    )
    transport.add(
        on(f"/Patient/{patient_id}"),
        answer(503, headers={"Retry-After": "Sun, 01 Mar 2026 05:30:05 GMT"}),
    )

    make_client(fhir_server.base_url).read("Patient", patient_id)

    assert sleeps.calls == [7.0, 0.0]


def test_503_without_retry_after_backs_off_with_jitter_then_recovers(
    fhir_server, make_client, transport, sleeps, patient_id
):
    transport.add(on(f"/Patient/{patient_id}"), answer(503), times=2)

    make_client(fhir_server.base_url).read("Patient", patient_id)

    jitter = random.Random(7)  # the seed the retry fixture uses
    expected = [1.0 * (0.5 + jitter.random() / 2), 2.0 * (0.5 + jitter.random() / 2)]
    assert sleeps.calls == pytest.approx(expected)
    assert 0.5 <= sleeps.calls[0] <= 1.0 and 1.0 <= sleeps.calls[1] <= 2.0


def test_backoff_is_capped():
    policy = RetryPolicy(base_delay=1.0, max_backoff=60.0, rng=random.Random(1))
    assert all(30.0 <= policy.backoff(attempt) <= 60.0 for attempt in range(7, 20))


def test_500_is_retried_once_then_surfaced_with_the_outcome(
    fhir_server, make_client, transport, sleeps, patient_id
):
    broken = answer(500, json=outcome("exception", "database on fire"))
    transport.add(on(f"/Patient/{patient_id}"), broken, times=5)

    with pytest.raises(TemporaryNetworkError) as caught:
        make_client(fhir_server.base_url).read("Patient", patient_id)

    error = caught.value
    assert error.exit_code == edc_errors.EXIT_EXTERNAL_FAILURE
    assert (error.status, error.attempts) == (500, 2)
    assert "retried once" in str(error)
    assert "database on fire" in str(error)
    assert f"GET {fhir_server.base_url}/Patient/{patient_id}" in str(error)
    assert len(sleeps.calls) == 1
    assert len(_reads(transport, patient_id)) == 2


def test_one_500_then_success(fhir_server, make_client, transport, sleeps, patient_id):
    transport.add(on(f"/Patient/{patient_id}"), answer(500))
    assert make_client(fhir_server.base_url).read("Patient", patient_id).status == 200
    assert len(sleeps.calls) == 1


def test_500_marked_transient_is_retried_like_503(
    fhir_server, make_client, transport, sleeps, patient_id
):
    transient = answer(500, json=outcome("lock-error", "row locked"))
    transport.add(on(f"/Patient/{patient_id}"), transient, times=3)
    assert make_client(fhir_server.base_url).read("Patient", patient_id).status == 200
    assert len(sleeps.calls) == 3


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_retried_for_reads(
    fhir_server, make_client, transport, sleeps, patient_id, status
):
    transport.add(on(f"/Patient/{patient_id}"), answer(status), times=2)
    assert make_client(fhir_server.base_url).read("Patient", patient_id).status == 200
    assert len(sleeps.calls) == 2


def test_plain_create_is_not_retried_after_a_gateway_error(
    fhir_server, make_client, transport, sleeps, unique
):
    transport.add(on("/Patient", "POST"), answer(502))
    with pytest.raises(TemporaryNetworkError, match="not idempotent"):
        make_client(fhir_server.base_url).create(samples.patient(unique))
    assert sleeps.calls == []
    assert len(transport.requests_to("/Patient", "POST")) == 1


def test_conditional_create_is_retried_after_a_gateway_error(
    fhir_server, make_client, transport, sleeps, unique
):
    transport.add(on("/Patient", "POST"), answer(504))
    criteria = {"identifier": f"{samples.system(unique)}|p0"}
    created = make_client(fhir_server.base_url).create(
        samples.patient(unique), if_none_exist=criteria
    )
    assert created.status == 201
    assert len(sleeps.calls) == 1


def test_503_is_retried_even_for_a_plain_create(
    fhir_server, make_client, transport, sleeps, unique
):
    transport.add(on("/Patient", "POST"), answer(503, headers={"Retry-After": "1"}))
    assert make_client(fhir_server.base_url).create(samples.patient(unique)).status == 201
    assert sleeps.calls == [1.0]


@pytest.mark.parametrize("status", [400, 404, 405, 408, 409, 412, 422])
def test_4xx_is_never_retried(fhir_server, make_client, transport, sleeps, patient_id, status):
    transport.add(
        on(f"/Patient/{patient_id}"),
        answer(status, json=outcome("invalid", f"injected {status}")),
        times=5,
    )
    with pytest.raises(FhirRequestError) as caught:
        make_client(fhir_server.base_url).read("Patient", patient_id)
    assert caught.value.status == status
    assert f"injected {status}" in str(caught.value)
    assert sleeps.calls == []
    assert len(_reads(transport, patient_id)) == 1


def test_attempts_are_bounded(fhir_server, make_client, transport, sleeps, patient_id):
    transport.add(on(f"/Patient/{patient_id}"), answer(429, headers={"Retry-After": "1"}), times=50)
    with pytest.raises(TemporaryNetworkError) as caught:
        make_client(fhir_server.base_url).read("Patient", patient_id)
    assert caught.value.attempts == 5
    assert "after 5 attempts" in str(caught.value)
    assert len(sleeps.calls) == 4


def test_a_retry_after_beyond_our_limit_fails_at_once(
    fhir_server, make_client, transport, sleeps, patient_id
):
    transport.add(on(f"/Patient/{patient_id}"), answer(503, headers={"Retry-After": "3600"}))
    with pytest.raises(TemporaryNetworkError, match="wait 3600 s") as caught:
        make_client(fhir_server.base_url).read("Patient", patient_id)
    assert caught.value.retry_after == 3600.0
    assert sleeps.calls == []


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.RemoteProtocolError],
)
def test_connection_failures_are_retried_for_reads(
    fhir_server, make_client, transport, sleeps, patient_id, failure
):
    transport.add(on(f"/Patient/{patient_id}"), fail_with(failure), times=2)
    assert make_client(fhir_server.base_url).read("Patient", patient_id).status == 200
    assert len(sleeps.calls) == 2


def test_read_timeout_on_a_plain_create_is_not_retried(
    fhir_server, make_client, transport, sleeps, unique
):
    transport.add(on("/Patient", "POST"), fail_with(httpx.ReadTimeout))
    with pytest.raises(TemporaryNetworkError, match="may have processed it"):
        make_client(fhir_server.base_url).create(samples.patient(unique))
    assert sleeps.calls == []


def test_connect_error_is_retried_even_for_a_plain_create(
    fhir_server, make_client, transport, sleeps, unique
):
    transport.add(on("/Patient", "POST"), fail_with(httpx.ConnectError))
    assert make_client(fhir_server.base_url).create(samples.patient(unique)).status == 201
    assert len(sleeps.calls) == 1


def test_every_timeout_is_set():
    assert None not in (
        DEFAULT_TIMEOUT.connect,
        DEFAULT_TIMEOUT.read,
        DEFAULT_TIMEOUT.write,
        DEFAULT_TIMEOUT.pool,
    )


def test_server_stopped_mid_pull_then_restarted_loses_and_repeats_nothing(
    fresh_fhir_server, make_client, retry, transport, unique
):
    setup = make_client(fresh_fhir_server.base_url)
    ids = [setup.create(samples.patient(unique, i)).body["id"] for i in range(7)]
    restarts = RecordingSleep(hook=lambda seconds: fresh_fhir_server.start())
    fhir = make_client(
        fresh_fhir_server.base_url, retry=RetryPolicy(sleep=restarts, rng=random.Random(3))
    )
    pages = fhir.search_pages(
        "Patient", {"identifier": f"{samples.system(unique)}|", "_count": "3"}
    )

    seen = [r["id"] for r in next(pages).resources]
    fresh_fhir_server.stop()  # a real process stop: the next page gets "connection refused"
    seen += [r["id"] for page in pages for r in page.resources]

    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    assert len(restarts.calls) == 1
    assert [e.status for e in transport.log[-3:]] == [None, 200, 200]


def test_server_down_for_good_is_an_external_failure(fresh_fhir_server, make_client, sleeps):
    fhir = make_client(fresh_fhir_server.base_url)
    fresh_fhir_server.stop()
    with pytest.raises(TemporaryNetworkError) as caught:
        fhir.read("Patient", "any")
    assert caught.value.exit_code == edc_errors.EXIT_EXTERNAL_FAILURE
    assert caught.value.status is None
    assert "ConnectError" in str(caught.value)
    assert len(sleeps.calls) == 4


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 01 Mar 2026 05:32:00 GMT", 120.0),
        ("Sun, 01 Mar 2026 05:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(clock, header, seconds):
    assert clock.now() == FROZEN_AT
    assert parse_retry_after(header, clock) == seconds

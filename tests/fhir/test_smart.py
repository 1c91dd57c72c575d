"""SMART Backend Services against the real server's token endpoint."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from edc import errors as edc_errors
from edc.clock import FixedClock
from edc.fhir import AuthError, SmartBackendAuth, TemporaryNetworkError
from tests.fhir import samples
from tests.fhir.faults import answer, on
from tests.fhir_server.fixture import start_or_give_up


def _auth(server, **overrides) -> SmartBackendAuth:
    creds = server.smart
    options = {
        "client_id": creds.client_id,
        "private_key_pem": creds.private_key_pem,
        "kid": creds.kid,
        "scope": creds.scope,
        "token_url": creds.token_url,
    }
    options.update(overrides)
    return SmartBackendAuth(**options)


def _assertion(exchange) -> str:
    return parse_qs(exchange.body.decode())["client_assertion"][0]


def test_token_is_obtained_once_and_reused(fhir_server_smart, make_client, transport, unique):
    auth = _auth(fhir_server_smart)
    fhir = make_client(fhir_server_smart.base_url, auth=auth)

    pid = fhir.create(samples.patient(unique)).body["id"]
    for _ in range(3):
        fhir.read("Patient", pid)
    list(fhir.search("Patient", {"identifier": f"{samples.system(unique)}|"}))

    assert len(transport.requests_to("/auth/token")) == 1
    assert auth.token_requests == 1
    fhir_requests = [e for e in transport.log if "/fhir/" in e.url]
    assert len(fhir_requests) == 5
    assert all(e.headers["Authorization"].startswith("Bearer ") for e in fhir_requests)


def test_client_assertion_claims_follow_backend_services(fhir_server_smart, make_client, transport):
    creds = fhir_server_smart.smart
    fhir = make_client(fhir_server_smart.base_url, auth=_auth(fhir_server_smart))
    fhir.capabilities()  # /metadata needs no token
    list(fhir.search("Patient", {"_count": "1"}))

    token_request = transport.requests_to("/auth/token")[0]
    form = parse_qs(token_request.body.decode())
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assert form["scope"] == [creds.scope]
    assertion = form["client_assertion"][0]
    header = jwt.get_unverified_header(assertion)
    assert (header["alg"], header["kid"], header["typ"]) == ("RS384", creds.kid, "JWT")
    public = serialization.load_pem_private_key(creds.private_key_pem.encode(), None).public_key()
    claims = jwt.decode(assertion, public, algorithms=["RS384"], audience=creds.token_url)
    assert claims["iss"] == claims["sub"] == creds.client_id
    assert 0 < claims["exp"] - time.time() <= 300
    assert len(claims["jti"]) >= 32


def test_token_endpoint_is_discovered(fhir_server_smart, make_client, transport):
    auth = _auth(fhir_server_smart, token_url=None, fhir_base_url=fhir_server_smart.base_url)
    fhir = make_client(fhir_server_smart.base_url, auth=auth)
    list(fhir.search("Patient", {"_count": "1"}))
    list(fhir.search("Patient", {"_count": "1"}))

    assert auth.token_url == fhir_server_smart.smart.token_url
    assert len(transport.requests_to("/.well-known/smart-configuration")) == 1
    assert len(transport.requests_to("/auth/token")) == 1


def test_es384_key_is_accepted(fhir_server_smart, make_client, transport):
    creds = fhir_server_smart.smart
    auth = _auth(
        fhir_server_smart,
        client_id=creds.ec_client_id,
        private_key_pem=creds.ec_private_key_pem,
        kid=creds.ec_kid,
        alg="ES384",
    )
    list(make_client(fhir_server_smart.base_url, auth=auth).search("Patient", {"_count": "1"}))
    assert (
        jwt.get_unverified_header(_assertion(transport.requests_to("/auth/token")[0]))["alg"]
        == "ES384"
    )


def test_a_401_gets_exactly_one_new_token_and_resend(
    fhir_server_smart, make_client, transport, unique
):
    fhir = make_client(fhir_server_smart.base_url, auth=_auth(fhir_server_smart))
    pid = fhir.create(samples.patient(unique)).body["id"]
    transport.add(
        on(f"/Patient/{pid}"), answer(401, json={"resourceType": "OperationOutcome", "issue": []})
    )

    assert fhir.read("Patient", pid).body["id"] == pid
    assert len(transport.requests_to("/auth/token")) == 2
    assert [e.status for e in transport.requests_to(f"/Patient/{pid}")] == [401, 200]


def test_a_second_401_gives_up_with_a_clear_error(
    fhir_server_smart, make_client, transport, sleeps
):
    fhir = make_client(fhir_server_smart.base_url, auth=_auth(fhir_server_smart))
    refused = answer(
        401,
        json={
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": "token revoked"}],
        },
    )
    transport.add(on("/Patient", "GET"), refused, times=10)

    with pytest.raises(AuthError) as caught:
        list(fhir.search("Patient"))

    assert caught.value.status == 401
    assert "token revoked" in str(caught.value)
    assert len(transport.requests_to("/auth/token")) == 2
    assert len(transport.requests_to("/Patient", "GET")) == 2
    assert sleeps.calls == []


def test_missing_scope_is_forbidden_and_not_retried(
    fhir_server_smart, make_client, transport, unique
):
    fhir = make_client(
        fhir_server_smart.base_url, auth=_auth(fhir_server_smart, scope="system/Patient.read")
    )
    with pytest.raises(AuthError) as caught:
        fhir.create(samples.patient(unique))
    assert caught.value.status == 403
    assert "do not permit 'c' on Patient" in str(caught.value)
    assert len(transport.requests_to("/Patient", "POST")) == 1


def test_unregistered_key_is_refused_by_the_token_endpoint(
    fhir_server_smart, make_client, transport
):
    other = (
        fhir_server_smart.smart.ec_private_key_pem
    )  # right client, key registered under ec-1 only
    auth = _auth(
        fhir_server_smart, client_id="someone-else", private_key_pem=other, kid="ec-1", alg="ES384"
    )
    with pytest.raises(AuthError) as caught:
        list(make_client(fhir_server_smart.base_url, auth=auth).search("Patient"))
    assert caught.value.exit_code == edc_errors.EXIT_BAD_INPUT
    assert "invalid_client" in str(caught.value)
    assert "Unknown client_id 'someone-else'" in str(caught.value)
    assert transport.requests_to("/Patient") == []


def test_busy_token_endpoint_is_retried(fhir_server_smart, make_client, transport, sleeps):
    transport.add(on("/auth/token"), answer(503, headers={"Retry-After": "4"}))
    fhir = make_client(fhir_server_smart.base_url, auth=_auth(fhir_server_smart))
    list(fhir.search("Patient", {"_count": "1"}))
    assert sleeps.calls == [4.0]
    assert [e.status for e in transport.requests_to("/auth/token")] == [503, 200]


def test_failing_token_endpoint_500_is_retried_once(
    fhir_server_smart, make_client, transport, sleeps
):
    transport.add(on("/auth/token"), answer(500, json={"error": "server_error"}), times=5)
    fhir = make_client(fhir_server_smart.base_url, auth=_auth(fhir_server_smart))
    with pytest.raises(TemporaryNetworkError, match="server_error") as caught:
        list(fhir.search("Patient", {"_count": "1"}))
    assert caught.value.url == fhir_server_smart.smart.token_url
    assert len(transport.requests_to("/auth/token")) == 2
    assert len(sleeps.calls) == 1


def test_no_credentials_on_a_smart_server_is_an_auth_error(fhir_server_smart, make_client):
    with pytest.raises(AuthError, match="Authentication required"):
        list(make_client(fhir_server_smart.base_url).search("Patient"))


def test_a_key_that_does_not_fit_the_algorithm_is_bad_input(fhir_server_smart):
    with pytest.raises(edc_errors.BadInputError, match="does not fit ES384"):
        _auth(fhir_server_smart, alg="ES384")  # an RSA key


@pytest.fixture(scope="module")
def short_token_server(fhir_server_factory):
    """Tokens last 2 s (SEKMET's exp is whole seconds, so a token lives between 1 and 2 s)."""
    server = start_or_give_up(fhir_server_factory, smart=True, token_lifetime=2, name="short-token")
    yield server
    server.stop()


def test_token_expiring_mid_pull_triggers_one_reauth(
    short_token_server, make_client, transport, unique
):
    # The client's clock stands still, so it trusts its token; only the server knows it expired.
    auth = _auth(short_token_server, clock=FixedClock(dt.datetime.now(dt.UTC)))
    fhir = make_client(short_token_server.base_url, auth=auth)
    ids = [fhir.create(samples.patient(unique, i)).body["id"] for i in range(5)]
    pages = fhir.search_pages(
        "Patient", {"identifier": f"{samples.system(unique)}|", "_count": "2"}
    )
    seen = [r["id"] for r in next(pages).resources]

    time.sleep(2.1)  # real time: the server's token expiry is wall-clock
    seen += [r["id"] for page in pages for r in page.resources]

    assert sorted(seen) == sorted(ids)
    assert auth.token_requests == 2
    assert [e.status for e in transport.log].count(401) == 1


def test_token_is_renewed_shortly_before_it_expires(short_token_server, make_client, transport):
    clock = FixedClock(dt.datetime.now(dt.UTC))
    fhir = make_client(short_token_server.base_url, auth=_auth(short_token_server, clock=clock))
    list(fhir.search("Patient", {"_count": "1"}))
    clock.advance(dt.timedelta(seconds=1.5))  # a 2 s token is renewed a fifth early: at 1.6 s
    list(fhir.search("Patient", {"_count": "1"}))
    assert len(transport.requests_to("/auth/token")) == 1

    clock.advance(dt.timedelta(seconds=0.2))
    list(fhir.search("Patient", {"_count": "1"}))
    assert len(transport.requests_to("/auth/token")) == 2
    assert 401 not in [e.status for e in transport.log]

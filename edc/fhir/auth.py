"""SMART Backend Services authorisation: client_credentials with a private_key_jwt assertion.

Spec: SMART App Launch 2.2.0, "Backend Services" (https://hl7.org/fhir/smart-app-launch/
backend-services.html) and mapping guide §9.2. Implemented as an ``httpx.Auth`` flow, so the
token and discovery requests go through the same client, transport and retry loop as the FHIR
requests they serve. For servers without auth, pass ``auth=None`` to the client.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Generator

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from edc import errors as edc_errors
from edc.clock import Clock, SystemClock
from edc.fhir import errors
from edc.fhir.http import parse_retry_after
from edc.fhir.origins import TrustedOrigins, is_loopback
from edc.fhir.outcome import issues_from_bytes

log = logging.getLogger("edc.fhir.auth")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SUPPORTED_ALGS = ("RS384", "ES384")  # the two SMART requires servers to accept
# The spec allows at most 5 minutes; staying under it keeps a server whose clock runs a little
# behind ours from refusing the assertion as "too far in the future".
ASSERTION_LIFETIME = dt.timedelta(seconds=270)
# SMART recommends tokens of at most 300 s and says to assume so when expires_in is missing.
DEFAULT_TOKEN_LIFETIME = dt.timedelta(seconds=300)
REFRESH_MARGIN = dt.timedelta(seconds=30)


class SmartBackendAuth(httpx.Auth):
    """Adds a SMART Backend Services bearer token to every request.

    The token is reused until shortly before it expires (by the injected clock). A 401 triggers
    exactly one new token and one resend; if that is refused too, the 401 goes back to the
    caller, which raises :class:`errors.AuthError`.

    :param client_id: the id the server registered for us (the assertion's ``iss`` and ``sub``).
    :param private_key_pem: our private key (RSA for RS384, EC P-384 for ES384), PEM text.
    :param kid: id of the matching public key in the JWKS we registered.
    :param scope: SMART scopes to ask for, e.g. ``"system/Patient.rs system/Observation.rs"``.
    :param token_url: the token endpoint; when None it is read from
        ``[fhir_base_url]/.well-known/smart-configuration`` on first use.
    :param fhir_base_url: needed only to discover ``token_url``.
    :param alg: ``RS384`` (default) or ``ES384``.
    :param jku: our JWKS URL, sent only if the server registered it.
    :param clock: "now" for token expiry and the assertion's ``exp``.
    :param origins: where a discovered token endpoint may be: the FHIR server's origin and those
        trusted by setting (default: ``fhir_base_url``'s origin only). Our signed assertion is
        sent there, so a server cannot point us elsewhere on its own say.
    :param allow_http: accept plain ``http`` off loopback (tokens and assertions then travel
        in clear; for test networks only).
    :raises edc.errors.BadInputError: when the key or algorithm is unusable, or a URL is plain
        http off loopback without ``allow_http``.
    """

    requires_response_body = True

    def __init__(
        self,
        *,
        client_id: str,
        private_key_pem: str,
        kid: str,
        scope: str = "system/*.read",
        token_url: str | None = None,
        fhir_base_url: str | None = None,
        alg: str = "RS384",
        jku: str | None = None,
        clock: Clock | None = None,
        origins: TrustedOrigins | None = None,
        allow_http: bool = False,
    ) -> None:
        if alg not in SUPPORTED_ALGS:
            raise edc_errors.BadInputError(
                f"unsupported signing algorithm {alg!r}", "use RS384 or ES384"
            )
        if token_url is None and fhir_base_url is None:
            raise edc_errors.BadInputError("SMART auth needs token_url or fhir_base_url to find it")
        self.allow_http = allow_http
        for url in (fhir_base_url, token_url):
            if url is not None and not self._secure_enough(url):
                raise edc_errors.BadInputError(
                    f"SMART over plain http to {url}: tokens would travel in clear",
                    "use https, or allow plain http explicitly (--smart-allow-http) on a test "
                    "network",
                )
        if origins is None and fhir_base_url is not None:
            origins = TrustedOrigins.of(fhir_base_url)
        self._origins = origins
        self.client_id = client_id
        self.kid = kid
        self.scope = scope
        self.alg = alg
        self.jku = jku
        self._key = _load_key(private_key_pem, alg)
        self._token_url = token_url
        self._fhir_base_url = fhir_base_url
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.token_requests = 0

    @property
    def token_url(self) -> str | None:
        """The token endpoint (None until discovered)."""
        return self._token_url

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._has_fresh_token():
            yield from self._fetch_token()
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code != 401:
            return
        # The token was revoked or expired early (clock skew, server restart): one new token and
        # one resend, no more; a second 401 means our credentials are wrong, not stale.
        log.info("401 from %s %s: requesting a new access token", request.method, request.url)
        yield from self._fetch_token()
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def _has_fresh_token(self) -> bool:
        with self._lock:
            return self._token is not None and self._clock.now() < self._expires_at

    def _fetch_token(self) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token_url is None:
            # SMART App Launch 2.2.0 conformance discovery: the file sits under the FHIR base URL.
            url = f"{str(self._fhir_base_url).rstrip('/')}/.well-known/smart-configuration"
            discovery = yield httpx.Request("GET", url, headers={"Accept": "application/json"})
            self._token_url = self._read_discovery(discovery)
        self.token_requests += 1
        response = yield httpx.Request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.client_assertion(self._token_url),
            },
            headers={"Accept": "application/json"},
        )
        self._read_token(response)

    def client_assertion(self, token_url: str) -> str:
        """A signed JWT proving who we are, for one token request (unique ``jti``)."""
        now = self._clock.now()
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "exp": int((now + ASSERTION_LIFETIME).timestamp()),
            "jti": str(uuid.uuid4()),  # servers reject a reused jti (replay protection)
        }
        headers = {"kid": self.kid, "typ": "JWT"}
        if self.jku:
            headers["jku"] = self.jku
        return jwt.encode(claims, self._key, algorithm=self.alg, headers=headers)

    def _read_discovery(self, response: httpx.Response) -> str:
        self._raise_for_status(response, "SMART configuration discovery failed")
        config = _json_object(response)
        token_url = config.get("token_endpoint")
        if not isinstance(token_url, str) or not token_url:
            raise _auth_error(response, "SMART configuration has no token_endpoint")
        if self._origins is not None and not self._origins.allows(token_url):
            raise _auth_error(
                response,
                f"the discovered token endpoint {token_url} is not on the FHIR server's origin; "
                "refusing to send our assertion there (trust it with --fhir-trust-origin, or "
                "give --smart-token-url)",
            )
        if not self._secure_enough(token_url):
            raise _auth_error(response, f"the discovered token endpoint {token_url} is plain http")
        methods = config.get("token_endpoint_auth_methods_supported")
        if isinstance(methods, list) and "private_key_jwt" not in methods:
            raise _auth_error(response, f"server does not accept private_key_jwt (only {methods})")
        algs = config.get("token_endpoint_auth_signing_alg_values_supported")
        if isinstance(algs, list) and self.alg not in algs:
            raise _auth_error(response, f"server does not accept {self.alg} (only {algs})")
        return token_url

    def _secure_enough(self, url: str) -> bool:
        try:
            scheme = httpx.URL(url).scheme
            return scheme == "https" or self.allow_http or is_loopback(url)
        except (httpx.InvalidURL, edc_errors.BadInputError):
            return False

    def _read_token(self, response: httpx.Response) -> None:
        self._raise_for_status(response, "token request refused")
        body = _json_object(response)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise _auth_error(response, "token response has no access_token")
        expires_in = body.get("expires_in")
        lifetime = (
            dt.timedelta(seconds=expires_in)
            if isinstance(expires_in, int | float) and expires_in > 0
            else DEFAULT_TOKEN_LIFETIME
        )
        # Renew a little before the end so that a token does not expire between our check and
        # the server's; for very short tokens the margin shrinks to a fifth of the lifetime.
        margin = min(REFRESH_MARGIN, lifetime / 5)
        with self._lock:
            self._token = token
            self._expires_at = self._clock.now() + lifetime - margin

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status == 429 or status >= 500:
            header = response.headers.get("Retry-After")
            raise errors.TemporaryNetworkError(
                f"{what}: authorisation server busy or failing",
                method=response.request.method,
                url=str(response.request.url),
                status=status,
                issues=issues_from_bytes(response.content),
                retry_after=parse_retry_after(header, self._clock) if header else None,
            )
        raise _auth_error(response, what)


def _auth_error(response: httpx.Response, message: str) -> errors.AuthError:
    return errors.AuthError(
        message,
        method=response.request.method,
        url=str(response.request.url),
        status=response.status_code,
        issues=issues_from_bytes(response.content),
        details="Check the client id, the registered public key (kid) and the requested scopes.",
    )


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise _auth_error(response, "authorisation server did not answer with a JSON object")
    return body


def _load_key(pem: str, alg: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise edc_errors.BadInputError(
            "SMART private key is not an unencrypted PEM key", str(exc)
        ) from None
    if alg == "RS384" and isinstance(key, rsa.RSAPrivateKey):
        return key
    if (
        alg == "ES384"
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and key.curve.name == "secp384r1"
    ):
        return key
    raise edc_errors.BadInputError(
        f"SMART private key does not fit {alg}", "RS384 needs an RSA key, ES384 an EC P-384 key"
    )

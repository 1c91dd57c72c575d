"""Which FHIR server to talk to, and how to sign in: checked once, turned into a client on demand.

Commands and scheduled jobs describe a server with a ``ServerSpec`` (base URL plus optional SMART
Backend Services credentials: client id, private key file, key id). Nothing secret is kept in it:
the key is read from its file only when a client is made.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx

from edc import errors
from edc.clock import Clock
from edc.fhir.auth import SUPPORTED_ALGS, SmartBackendAuth
from edc.fhir.client import FhirClient
from edc.fhir.http import RetryPolicy
from edc.fhir.origins import TrustedOrigins, is_loopback


@dataclasses.dataclass(frozen=True)
class SmartSpec:
    """SMART Backend Services credentials (the key stays in its file until used)."""

    client_id: str
    key_file: Path
    kid: str
    scope: str = "system/*.read"
    alg: str = "RS384"
    token_url: str | None = None
    # Plain http off loopback sends tokens in clear: only when asked for (a test network).
    allow_http: bool = False


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """A FHIR R4 server: its base URL and, when it needs them, SMART credentials.

    :raises errors.BadInputError: (from ``check``) for a URL that is not http(s) or SMART
        settings that are incomplete.
    """

    url: str
    smart: SmartSpec | None = None
    # Tries per request before giving up (the first included); see edc.fhir.http.
    max_attempts: int = 5
    # Other servers requests may go to (an authorisation server, a Bulk status host).
    trusted_origins: tuple[str, ...] = ()

    def check(self) -> ServerSpec:
        """Refuse an unusable URL or incomplete credentials before anything is contacted."""
        try:
            parsed = httpx.URL(self.url)
        except httpx.InvalidURL as exc:
            raise errors.BadInputError(f"--fhir-url {self.url!r} is not a URL: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise errors.BadInputError(
                f"--fhir-url {self.url!r}: unsupported URL scheme or no host",
                "give the server's FHIR base URL, e.g. https://ehr.example.org/fhir/r4",
            )
        if self.max_attempts < 1:
            raise errors.BadInputError("--max-attempts must be at least 1")
        if self.smart is not None and self.smart.alg not in SUPPORTED_ALGS:
            raise errors.BadInputError(
                f"unsupported signing algorithm {self.smart.alg!r}", "use RS384 or ES384"
            )
        if self.smart is not None and not self.smart.allow_http:
            for url in (self.url, self.smart.token_url):
                if url and httpx.URL(url).scheme == "http" and not is_loopback(url):
                    raise errors.BadInputError(
                        f"SMART over plain http to {url}: tokens would travel in clear",
                        "use https, or --smart-allow-http on a test network",
                    )
        TrustedOrigins.of(self.url, self.trusted_origins)  # each must be an http(s) URL
        return self

    def client(
        self,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        deadline: float | None = None,
    ) -> FhirClient:
        """A client for this server (the caller closes it).

        :param deadline: ``time.monotonic()`` instant when the job using it must stop.
        :raises errors.BadInputError: when the SMART key file cannot be read or does not fit.
        """
        self.check()
        origins = TrustedOrigins.of(self.url, self.trusted_origins)
        auth = None
        if self.smart is not None:
            smart = self.smart
            try:
                pem = smart.key_file.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise errors.BadInputError(
                    f"cannot read the SMART private key {smart.key_file}: {exc}"
                ) from None
            auth = SmartBackendAuth(
                client_id=smart.client_id,
                private_key_pem=pem,
                kid=smart.kid,
                scope=smart.scope,
                alg=smart.alg,
                token_url=smart.token_url,
                fhir_base_url=self.url,
                clock=clock,
                origins=origins,
                allow_http=smart.allow_http,
            )
        retry = retry or RetryPolicy(max_attempts=self.max_attempts)
        return FhirClient(
            self.url,
            auth=auth,
            retry=retry,
            transport=transport,
            deadline=deadline,
            trusted_origins=self.trusted_origins,
        )

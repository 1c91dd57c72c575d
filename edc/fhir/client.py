"""FhirClient: the FHIR R4 REST interactions edc uses, over one retrying, authorising session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

import edc
from edc.fhir import deadlines, errors, http, resources
from edc.fhir.bundles import FhirResponse, SearchPage, iter_pages
from edc.fhir.capabilities import Capabilities
from edc.fhir.origins import TrustedOrigins

# A query as a mapping (a list value repeats the parameter) or as ordered pairs.
Params = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]

# Searches ask the server to fail on a parameter it does not support. Without this, servers
# (SEKMET among them) drop unknown parameters and return every row (R4 search.html#errors).
STRICT = "handling=strict"
# A streamed download (a Bulk NDJSON file can be gigabytes) may take this long in all.
DEFAULT_STREAM_LIMIT = 3600.0


class FhirClient:
    """A FHIR R4 server, used as a context manager::

        with FhirClient(url, auth=SmartBackendAuth(...)) as fhir:
            for resource in fhir.search("Observation", {"_lastUpdated": "ge2026-01-01"}):
                ...

    Every request goes through :func:`edc.fhir.http.send` (bounded retries, classified errors).
    Responses keep their raw bytes. Authorisation follows SMART Backend Services
    (https://hl7.org/fhir/smart-app-launch/backend-services.html) when ``auth`` is a
    :class:`edc.fhir.auth.SmartBackendAuth`; ``auth=None`` sends no credentials.

    :param base_url: the FHIR base, e.g. ``https://ehr.example.org/fhir/r4``.
    :param auth: an ``httpx.Auth`` or None.
    :param retry: retry policy (and the sleep/random/clock it uses).
    :param timeout: connect/read/write/pool timeouts (each socket operation).
    :param request_limit: seconds one exchange may take in all, whatever the server's pace.
    :param deadline: ``time.monotonic()`` instant when the job using this client must stop
        (``errors.DeadlineError``); None for no limit.
    :param trusted_origins: URLs of other servers our requests may go to (an authorisation
        server, a Bulk status host); any other origin a server points us at is refused.
    :param transport: the HTTP transport (tests wrap the real one to inject faults); by default
        httpx's, with every socket operation bounded by the deadlines (:mod:`deadlines`).
    :raises edc.errors.BadInputError: when a trusted origin is not an http(s) URL.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        retry: http.RetryPolicy | None = None,
        timeout: httpx.Timeout = http.DEFAULT_TIMEOUT,
        request_limit: float | None = http.DEFAULT_REQUEST_LIMIT,
        deadline: float | None = None,
        trusted_origins: Iterable[str] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origins = TrustedOrigins.of(self.base_url, trusted_origins)
        self.retry = retry or http.RetryPolicy()
        self.request_limit = request_limit
        self.deadline = deadline
        self._capabilities: Capabilities | None = None
        self._http = httpx.Client(
            auth=auth,
            timeout=timeout,
            transport=transport if transport is not None else deadlines.transport(),
            follow_redirects=False,  # a redirect could carry our token elsewhere; report it
            headers={"Accept": http.FHIR_JSON, "User-Agent": f"edc/{edc.__version__}"},
        )

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def url(self, path: str, params: Params | None = None) -> str:
        """Absolute URL for a path relative to the base (an absolute URL is kept as is)."""
        if "://" in path:
            absolute = path
        else:
            absolute = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        return str(httpx.URL(absolute, params=_pairs(params))) if params else absolute

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> FhirResponse:
        """Send one request (with retries) and return the successful response.

        :param path: relative to the base URL, or absolute (on a trusted origin).
        :param body: a resource or Bundle, sent as R4 JSON.
        :param idempotent: whether a retry is safe; default from the method (see :mod:`http`).
        :raises errors.FhirRequestError: on a 4xx (never retried).
        :raises errors.NetworkError: when the server or network fails after retries, the job's
            deadline passes (``DeadlineError``), or ``path`` is on an untrusted origin.
        """
        all_headers = dict(headers or {})
        content = None
        if body is not None:
            resources.assert_r4_safe(body)
            content = orjson.dumps(body)
            all_headers.setdefault("Content-Type", http.FHIR_JSON_R4)
        url = self._trusted(method, self.url(path, params))
        request = self._http.build_request(method, url, content=content, headers=all_headers)
        response = http.send(
            self._http,
            request,
            policy=self.retry,
            idempotent=idempotent,
            limit=self.request_limit,
            job_deadline=self.deadline,
        )
        return FhirResponse(
            method=method,
            url=str(request.url),
            status=response.status_code,
            headers=response.headers,
            raw=response.content,
        )

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        limit: float | None = DEFAULT_STREAM_LIMIT,
    ) -> Iterator[httpx.Response]:
        """Send one request (with retries) and yield the response with its body unread.

        The whole block, reading the body included, must end within ``limit`` seconds (and
        the job's deadline); a socket operation after that raises ``httpx.ReadTimeout``.

        :param auth: False sends no credentials (Bulk files with ``requiresAccessToken=false``,
            which may then be on any server, e.g. a signed storage URL).
        :raises errors.FhirRequestError: on a 4xx.
        :raises errors.NetworkError: when the server or network fails after retries, or a
            request with credentials would go to an untrusted origin.
        """
        url = self._trusted(method, self.url(path)) if auth else self.url(path)
        request = self._http.build_request(method, url, headers=dict(headers or {}))
        with deadlines.within(limit, job_deadline=self.deadline):
            response = http.send(
                self._http,
                request,
                policy=self.retry,
                stream=True,
                with_auth=auth,
                limit=limit,
                job_deadline=self.deadline,
            )
            try:
                yield response
            finally:
                response.close()

    def capabilities(self, *, refresh: bool = False) -> Capabilities:
        """The server's CapabilityStatement, read once per client (``GET [base]/metadata``)."""
        if self._capabilities is None or refresh:
            statement = self.request("GET", "metadata").body
            self._capabilities = Capabilities.from_statement(statement)
        return self._capabilities

    def read(self, resource_type: str, resource_id: str) -> FhirResponse:
        """``GET [type]/[id]``.

        :raises errors.ResourceNotFoundError: when it does not exist or was deleted.
        """
        return self.request("GET", f"{resource_type}/{resource_id}")

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> FhirResponse:
        """``GET [type]/[id]/_history/[vid]``.

        :raises errors.ResourceNotFoundError: when that version does not exist.
        """
        return self.request("GET", f"{resource_type}/{resource_id}/_history/{version_id}")

    def create(
        self, resource: Mapping[str, Any], *, if_none_exist: Params | None = None
    ) -> FhirResponse:
        """``POST [type]``; with ``if_none_exist``, a conditional create (R4 http.html#ccreate).

        Conditional: 201 when created, 200 with the existing resource when exactly one matches.

        :param if_none_exist: search criteria, e.g. ``{"identifier": "system|value"}``.
        :raises errors.ConflictError: when the criteria match more than one resource (412).
        """
        headers = {"Prefer": "return=representation"}
        if if_none_exist is not None:
            headers["If-None-Exist"] = urlencode(_pairs(if_none_exist))
        return self.request(
            "POST",
            str(resource["resourceType"]),
            body=resource,
            headers=headers,
            # A conditional create is safe to repeat: the repeat finds the first one.
            idempotent=if_none_exist is not None,
        )

    def update(self, resource: Mapping[str, Any], *, if_match: str | None = None) -> FhirResponse:
        """``PUT [type]/[id]`` (creates it when the server allows client ids).

        :param if_match: the version we last saw; a different current version gives 412.
        :raises errors.ConflictError: when ``if_match`` no longer matches.
        """
        headers = {"Prefer": "return=representation"}
        if if_match is not None:
            headers["If-Match"] = f'W/"{if_match}"'
        path = f"{resource['resourceType']}/{resource['id']}"
        return self.request("PUT", path, body=resource, headers=headers)

    def update_conditional(self, resource: Mapping[str, Any], criteria: Params) -> FhirResponse:
        """``PUT [type]?criteria``: create when none match, update when one does.

        :raises errors.ConflictError: when the criteria match more than one resource (412).
        """
        return self.request(
            "PUT",
            str(resource["resourceType"]),
            params=criteria,
            body=resource,
            headers={"Prefer": "return=representation"},
        )

    def transaction(self, bundle: Mapping[str, Any]) -> FhirResponse:
        """POST a ``transaction`` Bundle (all or nothing) and return the transaction-response.

        Retried after an ambiguous failure only when every entry is conditional or idempotent
        (mapping guide §9.6), so that a repeat cannot create duplicates.
        """
        return self._post_bundle(bundle, "transaction")

    def batch(self, bundle: Mapping[str, Any]) -> FhirResponse:
        """POST a ``batch`` Bundle; entries succeed or fail one by one (see ``entry_results``)."""
        return self._post_bundle(bundle, "batch")

    def search_pages(
        self,
        resource_type: str,
        params: Params | None = None,
        *,
        resume_from: str | None = None,
    ) -> Iterator[SearchPage]:
        """Search ``[type]?params`` and yield every page, following ``next`` links verbatim.

        :param resume_from: a page URL saved from :attr:`SearchPage.url`, to continue a pull
            that was interrupted (instead of starting at the first page).
        :raises errors.FhirRequestError: when the server refuses the search, e.g. a parameter it
            does not support (we always send ``Prefer: handling=strict``).
        """
        first = resume_from or self.url(resource_type, params)
        return iter_pages(self._get_page, first, origins=self.origins)

    def history_pages(self, resource_type: str, since: str) -> Iterator[SearchPage]:
        """Type-level history since an instant (``[type]/_history?_since=``), every page.

        Each entry's ``request.method`` says what happened; a deletion has no resource.
        """
        first = self.url(f"{resource_type}/_history", [("_since", since)])
        return iter_pages(self._get_page, first, origins=self.origins)

    def search(self, resource_type: str, params: Params | None = None) -> Iterator[dict[str, Any]]:
        """Search and yield each matching resource (parsed JSON) across all pages."""
        for page in self.search_pages(resource_type, params):
            yield from page.resources

    def _trusted(self, method: str, url: str) -> str:
        if not self.origins.allows(url):
            raise errors.FatalNetworkError(
                f"refusing to send a request to another server than {self.base_url}",
                method=method,
                url=url,
                details=f"trusted: {self.origins.describe()}; trust another origin with "
                "--fhir-trust-origin URL (or EDC_FHIR_TRUSTED_ORIGINS)",
            )
        return url

    def _get_page(self, url: str) -> FhirResponse:
        return self.request("GET", url, headers={"Prefer": STRICT})

    def _post_bundle(self, bundle: Mapping[str, Any], kind: str) -> FhirResponse:
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != kind:
            raise ValueError(f"expected a Bundle of type {kind!r}")
        return self.request("POST", "", body=bundle, idempotent=_repeatable(bundle))


def search_token(system: str, value: str) -> str:
    """A token search value ``system|value`` with FHIR's escapes (R4 search.html#escaping).

    ``\\``, ``|``, ``,`` and ``$`` inside the parts are escaped with a backslash.
    """

    def escape(part: str) -> str:
        for char in ("\\", "|", ",", "$"):
            part = part.replace(char, f"\\{char}")
        return part

    return f"{escape(system)}|{escape(value)}"


def _pairs(params: Params) -> list[tuple[str, str]]:
    if isinstance(params, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in params.items():
            values = [value] if isinstance(value, str) else list(value)
            pairs += [(key, v) for v in values]
        return pairs
    return list(params)


def _repeatable(bundle: Mapping[str, Any]) -> bool:
    for entry in bundle.get("entry") or []:
        request = entry.get("request") or {}
        method = str(request.get("method", "")).upper()
        if method == "POST" and not request.get("ifNoneExist"):
            return False
        if method == "PATCH":
            return False
    return True

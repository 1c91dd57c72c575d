"""Reading what servers send back: single responses, search pages, and transaction results."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson

from edc.fhir import errors
from edc.fhir.origins import TrustedOrigins
from edc.fhir.outcome import Issue, issues_from_json


@dataclasses.dataclass(frozen=True)
class FhirResponse:
    """One successful answer, with its body exactly as received (``raw``: the record of truth).

    :ivar method: the request method.
    :ivar url: the request URL.
    :ivar status: HTTP status (2xx, or 304).
    :ivar headers: response headers.
    :ivar raw: the body bytes as received.
    """

    method: str
    url: str
    status: int
    headers: httpx.Headers
    raw: bytes

    @functools.cached_property
    def body(self) -> dict[str, Any]:
        """The body parsed as a JSON object.

        :raises errors.FatalNetworkError: if the body is not a JSON object.
        """
        try:
            parsed = orjson.loads(self.raw)
        except orjson.JSONDecodeError as exc:
            raise self._fatal(f"response body is not JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise self._fatal("response body is not a JSON object")
        return parsed

    @property
    def location(self) -> str | None:
        """``Location`` (writes) or ``Content-Location`` (async kick-off), when sent."""
        value = self.headers.get("Location") or self.headers.get("Content-Location")
        return str(value) if value else None

    @property
    def version_id(self) -> str | None:
        """The version the server gave, from ``ETag: W/"3"`` or else ``meta.versionId``."""
        etag = self.headers.get("ETag")
        if etag:
            return str(etag).removeprefix("W/").strip('"')
        meta = self.body.get("meta") if self.raw else None
        version = meta.get("versionId") if isinstance(meta, dict) else None
        return str(version) if version is not None else None

    @property
    def issues(self) -> list[Issue]:
        """Warnings or information the server put in an OperationOutcome body (store them)."""
        return issues_from_json(self.body) if self.raw else []

    def _fatal(self, message: str) -> errors.FatalNetworkError:
        return errors.FatalNetworkError(
            message, method=self.method, url=self.url, status=self.status
        )


@dataclasses.dataclass(frozen=True)
class SearchPage:
    """One page of search results (a ``searchset`` Bundle).

    Entries are handed back as received: a resource the caller cannot parse is the caller's to
    reject (and to store raw); the pager never drops it or the page.
    """

    response: FhirResponse

    @property
    def url(self) -> str:
        """Where this page came from: store it to resume an interrupted pull here."""
        return self.response.url

    @property
    def raw(self) -> bytes:
        """The page exactly as received."""
        return self.response.raw

    @property
    def bundle(self) -> dict[str, Any]:
        """The page as parsed JSON."""
        return self.response.body

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every ``Bundle.entry`` (match, include and outcome) that is a JSON object."""
        return [e for e in self.bundle.get("entry") or [] if isinstance(e, dict)]

    @property
    def resources(self) -> list[dict[str, Any]]:
        """The resources that matched the search (``search.mode`` absent or ``match``)."""
        return [r for mode, r in self._resources() if mode in (None, "match")]

    @property
    def included(self) -> list[dict[str, Any]]:
        """Resources added by ``_include``/``_revinclude`` (``search.mode=include``)."""
        return [r for mode, r in self._resources() if mode == "include"]

    @property
    def issues(self) -> list[Issue]:
        """What the server said about the search itself (``search.mode=outcome`` entries)."""
        found: list[Issue] = []
        for mode, resource in self._resources():
            if mode == "outcome" or resource.get("resourceType") == "OperationOutcome":
                found += issues_from_json(resource)
        return found

    @property
    def total(self) -> int | None:
        """``Bundle.total`` when the server counted."""
        total = self.bundle.get("total")
        return total if isinstance(total, int) else None

    @property
    def next_url(self) -> str | None:
        """``Bundle.link[relation=next].url``, used verbatim (servers encode state in it)."""
        for link in self.bundle.get("link") or []:
            if isinstance(link, dict) and link.get("relation") == "next":
                url = link.get("url")
                return url if isinstance(url, str) and url else None
        return None

    def _resources(self) -> Iterator[tuple[str | None, dict[str, Any]]]:
        for entry in self.entries:
            resource = entry.get("resource")
            if isinstance(resource, dict):
                search = entry.get("search")
                yield (search.get("mode") if isinstance(search, dict) else None), resource


def iter_pages(
    fetch: Callable[[str], FhirResponse], first_url: str, *, origins: TrustedOrigins
) -> Iterator[SearchPage]:
    """Fetch ``first_url``, then follow ``next`` links until there are none.

    :param fetch: GETs one URL (with retries) and returns the response.
    :param origins: where requests may go; a ``next`` link to another origin is refused,
        because following it would hand our access token to a different server.
    :raises errors.FatalNetworkError: on a page that is not a searchset Bundle, a ``next`` link
        to another origin, or a link we already fetched (a loop).
    """
    seen: set[str] = set()
    url: str | None = first_url
    while url is not None:
        if url in seen:
            raise errors.FatalNetworkError("server paging loops back", method="GET", url=url)
        seen.add(url)
        if not origins.allows(url):
            raise errors.FatalNetworkError(
                f"next link leaves the server {origins.base}; not following it",
                method="GET",
                url=url,
            )
        page = SearchPage(fetch(url))
        if page.bundle.get("resourceType") != "Bundle":
            raise errors.FatalNetworkError("search did not return a Bundle", method="GET", url=url)
        yield page
        url = page.next_url


@dataclasses.dataclass(frozen=True)
class EntryResult:
    """``Bundle.entry.response`` of a transaction or batch answer."""

    status: int
    location: str | None
    etag: str | None
    issues: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        """Whether this entry succeeded (2xx, or 304)."""
        return 200 <= self.status < 300 or self.status == 304


def entry_results(bundle: dict[str, Any]) -> list[EntryResult]:
    """One result per entry of a ``transaction-response`` / ``batch-response`` Bundle, in order.

    ``response.status`` is text that starts with the code (``"201 Created"``); an unreadable one
    counts as 0 (failed).
    """
    results = []
    for entry in bundle.get("entry") or []:
        response = entry.get("response") if isinstance(entry, dict) else None
        response = response if isinstance(response, dict) else {}
        code = str(response.get("status") or "").split(" ", 1)[0]
        results.append(
            EntryResult(
                status=int(code) if code.isdigit() else 0,
                location=response.get("location"),
                etag=response.get("etag"),
                issues=tuple(issues_from_json(response.get("outcome"))),
            )
        )
    return results

"""Where our requests (and credentials) may go: the FHIR server's origin, and origins trusted by
setting. Every URL a server hands us (search ``next`` links, the Bulk status URL, manifest file
URLs, the discovered SMART token endpoint) is checked here before edc sends anything to it.

An origin is scheme, host and port (RFC 6454). Plain ``http`` is for loopback only, unless the
deployment says otherwise: over it, tokens and patient data travel in clear.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable

import httpx

from edc import errors

Origin = tuple[str, str, int | None]

LOOPBACK_NAMES = frozenset({"localhost"})


def origin_of(url: str | httpx.URL) -> Origin:
    """``(scheme, host, port)`` of an absolute URL, default ports made explicit.

    :raises errors.BadInputError: when ``url`` is not an absolute http(s) URL.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise errors.BadInputError(f"{url!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise errors.BadInputError(f"{url!r} is not an absolute http(s) URL")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return (parsed.scheme, parsed.host.lower(), port)


def is_loopback(url: str | httpx.URL) -> bool:
    """Whether ``url`` names this machine (127.0.0.0/8, ::1 or localhost)."""
    host = origin_of(url)[1]
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class TrustedOrigins:
    """The FHIR server's origin plus those trusted explicitly (an authorisation server, a
    Bulk status host).

    :ivar base: the FHIR base URL.
    :ivar extra: other origins, as URLs (only their scheme, host and port count).
    """

    base: str
    extra: tuple[str, ...] = ()
    origins: frozenset[Origin] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = frozenset({origin_of(self.base), *map(origin_of, self.extra)})
        object.__setattr__(self, "origins", found)  # frozen: set once, here

    @classmethod
    def of(cls, base: str, extra: Iterable[str] = ()) -> TrustedOrigins:
        """Trusted origins for a server.

        :raises errors.BadInputError: when a URL is not an absolute http(s) URL.
        """
        return cls(base, tuple(extra))

    def allows(self, url: str | httpx.URL) -> bool:
        """Whether a request may go to ``url`` (a relative or unparsable URL may not)."""
        try:
            return origin_of(url) in self.origins
        except errors.BadInputError:
            return False

    def describe(self) -> str:
        """The trusted origins, for messages."""
        return ", ".join(sorted(f"{s}://{h}:{p}" for s, h, p in self.origins))

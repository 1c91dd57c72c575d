"""`edc publish`: register a protocol, then put its definitions on a FHIR server, idempotently.

Every definition is a conditional PUT keyed on canonical ``url`` + ``version`` (or on its
identifier for ResearchStudy, Group, Location, Organization; ``edc.compiler.bundle``). Some
servers (SEKMET among them) write a new version on every PUT, even an identical one, so each
definition is first looked up and compared with what the server holds; only what is missing or
changed goes out, in one transaction. A definition already there under the same url|version (or
version-specific identifier) with other content is an error: a published version is never
silently overwritten. Locations and the sponsor Organization are keyed on identifiers shared by
all protocol versions, so those are updated when they changed.

The compiled entries have ``urn:uuid`` fullUrls and refer to each other by them (R4 Bundle
rules). References to entries already on the server go out as that server's ``Type/id``;
references between entries sent together stay ``urn:uuid`` for the server to resolve. A
definition the server already holds (a changed Location or sponsor) is sent with the id the
server gave it, so its conditional PUT is an update wherever it was first created (R4: a
conditional update whose match has another id is a 400). A new one keeps our id (update as
create; ``edc load`` and the synthetic data name the site studies by it). The comparison
ignores ids and reads references as the server holds them.

Order: check the protocol (nothing is contacted if it has problems), read ``/metadata`` (name
what the server lacks), register in the warehouse, compare, send, record what was published.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from edc import config, errors
from edc.actions import protocol
from edc.clock import Clock, SystemClock
from edc.compiler.bundle import CANONICAL_TYPES, rewrite_references
from edc.fhir import Capabilities, FhirClient, UnsupportedFeatureError, entry_results, search_token
from edc.fhir.target import ServerSpec
from edc.warehouse import audit, db, migrate
from edc.warehouse.tables.fhir import PublishedDefinitionRow

log = logging.getLogger("edc.publish")

# Keyed on identifiers that every protocol version shares: updated in place when they change.
SHARED_TYPES = frozenset({"Organization", "Location"})
# Sent when the server takes them, else left out and reported: the definitions of our own
# extensions (edc.compiler.plan_extensions), which many EHR servers do not store.
OPTIONAL_TYPES = frozenset({"StructureDefinition"})
# Elements the server manages: never part of the comparison.
SERVER_META = frozenset({"versionId", "lastUpdated", "source"})

ClientFactory = Callable[[ServerSpec], FhirClient]


@dataclasses.dataclass(frozen=True)
class Definition:
    """One resource of the compiled Bundle, with the key it is published under."""

    entry: Mapping[str, Any]
    resource_type: str
    key: str  # "url|version" or "system|value"
    search: tuple[tuple[str, str], ...]

    @property
    def resource(self) -> Mapping[str, Any]:
        return self.entry["resource"]  # type: ignore[no-any-return]

    @property
    def full_url(self) -> str:
        return str(self.entry["fullUrl"])


@dataclasses.dataclass(frozen=True)
class Published:
    """Where a definition is on the server."""

    definition: Definition
    server_id: str
    version_id: str | None
    sent: bool


@dataclasses.dataclass(frozen=True)
class PublishResult:
    registered: protocol.Registered
    server_url: str
    published: tuple[Published, ...]
    left_out: tuple[str, ...] = ()  # keys of optional definitions the server does not take

    @property
    def sent(self) -> int:
        return sum(1 for p in self.published if p.sent)

    @property
    def unchanged(self) -> int:
        return len(self.published) - self.sent


def publish(
    settings: config.Settings,
    path: Path,
    server: ServerSpec,
    *,
    clock: Clock | None = None,
    client_factory: ClientFactory | None = None,
) -> PublishResult:
    """Register ``path`` and publish its definitions to ``server``.

    :raises errors.ProblemsError: the protocol has problems (nothing registered or sent).
    :raises errors.BadInputError: a definition on the server differs under the same version,
        the version is registered with other content, or the warehouse is not migrated.
    :raises UnsupportedFeatureError: (exit 3) the server lacks types or interactions we need.
    :raises edc.fhir.NetworkError: (exit 3) the server cannot be reached after retries.
    """
    clock = clock or SystemClock()
    server.check()
    checked = protocol.check(path)
    definitions = [_definition(entry) for entry in checked.compiled.bundle["entry"]]
    engine = migrate.open_engine(settings.database_url)
    try:
        maker = db.make_sessionmaker(engine)
        with (client_factory or _default_client)(server) as fhir:
            caps = fhir.capabilities()
            left_out = [d for d in definitions if not _taken(caps, d)]
            definitions = [d for d in definitions if d not in left_out]
            require_capabilities(caps, definitions)
            registered = protocol.register_checked(maker, checked, clock)
            published = _publish(fhir, definitions)
            _record(maker, registered.protocol_version_id, fhir.base_url, published, clock)
            result = PublishResult(
                registered, fhir.base_url, tuple(published), tuple(d.key for d in left_out)
            )
            study = checked.loaded.protocol.study
            log.info(
                "published",
                extra={
                    "study": study.id,
                    "version": study.version,
                    "server": fhir.base_url,
                    "sent": result.sent,
                    "unchanged": result.unchanged,
                },
            )
            return result
    finally:
        engine.dispose()


def _taken(caps: Capabilities, definition: Definition) -> bool:
    """Whether to send ``definition``: always, unless its type is optional and the server
    does not declare what publishing it needs."""
    if definition.resource_type not in OPTIONAL_TYPES:
        return True
    return caps.supports(
        definition.resource_type,
        interactions=["search-type", "update", "conditional-update"],
        search_params=["url", "version"],
    )


def require_capabilities(caps: Capabilities, definitions: Sequence[Definition]) -> None:
    """Fail naming everything the server lacks for publishing ``definitions``.

    :raises UnsupportedFeatureError: listing every missing type, interaction or parameter.
    """
    gaps = [] if caps.is_r4 else [f"FHIR version 4.0.x (the server says {caps.fhir_version!r})"]
    gaps += caps.missing(None, interactions=["transaction"])
    for resource_type in sorted({d.resource_type for d in definitions}):
        params = ["url", "version"] if resource_type in CANONICAL_TYPES else ["identifier"]
        gaps += caps.missing(
            resource_type,
            interactions=["search-type", "update", "conditional-update"],
            search_params=params,
        )
    if gaps:
        raise UnsupportedFeatureError(
            f"the FHIR server ({caps.software or 'unknown software'}) cannot take the study "
            "definitions",
            "Its CapabilityStatement (/metadata) lacks:\n" + "\n".join(f"  {g}" for g in gaps),
        )


def same_content(
    ours: Mapping[str, Any], theirs: Mapping[str, Any], *, ignore_id: bool = False
) -> bool:
    """Whether the server's copy says what ours says (server-managed ``meta`` aside).

    JSON numbers compare by value (``2`` equals ``2.0``): servers drop trailing zeros. With
    ``ignore_id``, the logical ids are not compared (the server may have assigned its own).
    """
    return _without_server_meta(ours, ignore_id) == _without_server_meta(theirs, ignore_id)


def _without_server_meta(resource: Mapping[str, Any], ignore_id: bool = False) -> dict[str, Any]:
    copy = dict(resource)
    if ignore_id:
        copy.pop("id", None)
    meta = copy.pop("meta", None)
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if k not in SERVER_META}
        if kept:
            copy["meta"] = kept
    return copy


def _definition(entry: Mapping[str, Any]) -> Definition:
    resource = entry["resource"]
    resource_type = str(resource["resourceType"])
    if resource_type in CANONICAL_TYPES:
        url, version = str(resource["url"]), str(resource["version"])
        return Definition(
            entry, resource_type, f"{url}|{version}", (("url", url), ("version", version))
        )
    identifiers = resource["identifier"]
    identifier = next((i for i in identifiers if i.get("use") == "usual"), identifiers[0])
    system, value = str(identifier["system"]), str(identifier["value"])
    token = search_token(system, value)
    return Definition(entry, resource_type, f"{system}|{value}", (("identifier", token),))


def _publish(fhir: FhirClient, definitions: Sequence[Definition]) -> list[Published]:
    found: dict[str, Mapping[str, Any]] = {}
    conflicts: list[str] = []
    for definition in definitions:
        matches = list(fhir.search(definition.resource_type, list(definition.search)))
        if len(matches) > 1:
            where = f"{definition.resource_type} {definition.key}"
            conflicts.append(f"{where}: {len(matches)} resources on the server match")
        elif matches:
            found[definition.full_url] = matches[0]
    # Where each entry already is on the server: its urn:uuid means that resource there.
    on_server = {
        full_url: f"{resource['resourceType']}/{resource['id']}"
        for full_url, resource in found.items()
    }
    unchanged: dict[str, Published] = {}
    to_send: list[Definition] = []
    for definition in definitions:
        theirs = found.get(definition.full_url)
        if theirs is None:
            to_send.append(definition)
        elif same_content(
            _as_sent(definition, on_server), _relative(theirs, fhir.base_url), ignore_id=True
        ):
            meta = theirs.get("meta") or {}
            unchanged[definition.key] = Published(
                definition, str(theirs["id"]), _text(meta.get("versionId")), sent=False
            )
        elif definition.resource_type in SHARED_TYPES:
            to_send.append(definition)
        else:
            conflicts.append(
                f"{definition.resource_type} {definition.key}: the server holds "
                f"{definition.resource_type}/{theirs['id']} with different content"
            )
    if conflicts:
        raise errors.ProblemsError(
            f"{len(conflicts)} definition(s) already on {fhir.base_url} differ from this "
            "protocol version; nothing was sent (bump study.version to publish a new version)",
            [errors.Problem(fhir.base_url, "", conflict) for conflict in conflicts],
        )
    sent: dict[str, Published] = {}
    if to_send:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{**d.entry, "resource": _as_sent(d, on_server)} for d in to_send],
        }
        response = fhir.transaction(bundle)
        for definition, result in zip(to_send, entry_results(response.body), strict=True):
            server_id, version_id = _location(result.location, definition)
            if version_id is None and result.etag:
                version_id = result.etag.removeprefix("W/").strip('"')
            sent[definition.key] = Published(definition, server_id, version_id, sent=True)
    return [sent.get(d.key) or unchanged[d.key] for d in definitions]


def _as_sent(definition: Definition, on_server: Mapping[str, str]) -> dict[str, Any]:
    """The resource as it goes out: under the server's id if it has one, references as theirs."""
    resource: dict[str, Any] = rewrite_references(definition.resource, dict(on_server))
    if definition.full_url in on_server:
        resource["id"] = on_server[definition.full_url].split("/", 1)[1]
    return resource


def _relative(resource: Mapping[str, Any], base_url: str) -> Any:
    """``resource`` with references to ``base_url`` made relative (some servers answer absolute)."""
    prefix = base_url.rstrip("/") + "/"
    mapping = {
        value: value.removeprefix(prefix)
        for key, value in _pairs(resource)
        if key == "reference" and isinstance(value, str) and value.startswith(prefix)
    }
    return rewrite_references(resource, mapping) if mapping else resource


def _pairs(node: Any) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            pairs.extend(item.items())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return pairs


def _location(location: str | None, definition: Definition) -> tuple[str, str | None]:
    """``(id, versionId)`` from ``[base/]Type/id[/_history/vid]`` in a transaction response."""
    if not location:
        return str(definition.resource.get("id")), None
    parts = urlsplit(location).path.strip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        return parts[-3], parts[-1]
    return parts[-1], None


def _record(
    maker: db.SessionMaker,
    protocol_version_id: int,
    server_url: str,
    published: Sequence[Published],
    clock: Clock,
) -> None:
    with db.transaction(maker) as session:
        audit.bind(session, actor="edc publish", role="system", clock=clock)
        rows = {
            (row.resource_type, row.canonical_url): row
            for row in session.scalars(
                select(PublishedDefinitionRow).where(
                    PublishedDefinitionRow.protocol_version_id == protocol_version_id,
                    PublishedDefinitionRow.server_url == server_url,
                )
            )
        }
        with audit.reason(session, f"published again to {server_url}"):
            for item in published:
                key = (item.definition.resource_type, item.definition.key)
                row = rows.get(key)
                if row is None:
                    session.add(
                        PublishedDefinitionRow(
                            protocol_version_id=protocol_version_id,
                            server_url=server_url,
                            resource_type=key[0],
                            canonical_url=key[1],
                            server_id=item.server_id,
                            server_version_id=item.version_id,
                            published_at=clock.now(),
                        )
                    )
                elif (row.server_id, row.server_version_id) != (item.server_id, item.version_id):
                    row.server_id, row.server_version_id = item.server_id, item.version_id
                    row.published_at = clock.now()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _default_client(server: ServerSpec) -> FhirClient:
    return server.client()

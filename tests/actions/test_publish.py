"""`edc publish` against the real test server: idempotent, amendments, conflicts, failures."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from edc import cli, config, errors
from edc.actions import publish
from edc.actions.protocol import check as check_protocol
from edc.clock import FixedClock
from edc.fhir import FhirClient, RetryPolicy, UnsupportedFeatureError
from edc.fhir.target import ServerSpec
from tests.fhir.faults import FROZEN_AT, FaultTransport, RecordingSleep
from tests.fhir_server.fixture import FhirServer, FhirServerFactory, start_or_give_up
from tests.fixtures.database import Database
from tests.sync.protocols import Protocols


@pytest.fixture(scope="module")
def protocols(tmp_path_factory: pytest.TempPathFactory) -> Protocols:
    return Protocols(tmp_path_factory.mktemp("protocols"))


@pytest.fixture
def study() -> str:
    """A study id of this test's own: the shared server keeps every test's definitions."""
    return f"PUB-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def transport() -> Iterator[FaultTransport]:
    faults = FaultTransport()
    yield faults
    faults.close()


@pytest.fixture
def settings(sqlite_database: Database, tmp_path: Path) -> config.Settings:
    return config.Settings(data_dir=tmp_path, database_url=sqlite_database.url)


def _publish(
    settings: config.Settings, path: Path, url: str, transport: FaultTransport
) -> publish.PublishResult:
    retry = RetryPolicy(sleep=RecordingSleep(), rng=random.Random(1))

    def client(spec: ServerSpec) -> FhirClient:
        return FhirClient(spec.url, retry=retry, transport=transport)

    return publish.publish(
        settings, path, ServerSpec(url), clock=FixedClock(FROZEN_AT), client_factory=client
    )


def _writes(transport: FaultTransport) -> list[str]:
    return [f"{e.method} {e.url}" for e in transport.log if e.method not in ("GET", "HEAD")]


def _published(database: Database) -> list[tuple[str, str, str, str | None]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT resource_type, canonical_url, server_id, server_version_id "
                "FROM published_definition ORDER BY resource_type, canonical_url"
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_publishing_twice_sends_nothing_the_second_time(
    fhir_server: FhirServer,
    settings: config.Settings,
    sqlite_database: Database,
    protocols: Protocols,
    study: str,
    transport: FaultTransport,
) -> None:
    protocol = protocols.get(study)
    first = _publish(settings, protocol.path, fhir_server.base_url, transport)
    assert first.registered.created and len(first.published) == 22
    assert [key.split("|")[0].rsplit("-", 1)[-1] for key in first.left_out] == [
        "randomization",
        "plan",
    ]
    assert len(_writes(transport)) == 1  # one transaction, of whatever was missing
    recorded = _published(sqlite_database)
    assert len(recorded) == 22

    transport.log.clear()
    second = _publish(settings, protocol.path, fhir_server.base_url, transport)

    assert (second.sent, second.unchanged) == (0, 22)
    assert _writes(transport) == []
    assert _published(sqlite_database) == recorded
    with FhirClient(fhir_server.base_url) as fhir:
        for item in second.published:
            kind, server_id = item.definition.resource_type, item.server_id
            history = fhir.request("GET", f"{kind}/{server_id}/_history").body
            assert history["total"] == 1, f"{kind}/{server_id}"


def test_an_amendment_adds_resources_and_leaves_the_old_ones_readable(
    fhir_server: FhirServer,
    settings: config.Settings,
    protocols: Protocols,
    study: str,
    transport: FaultTransport,
) -> None:
    old = _publish(settings, protocols.get(study).path, fhir_server.base_url, transport)
    new = _publish(settings, protocols.get(study, "1.1").path, fhir_server.base_url, transport)

    new_ids = {(p.definition.resource_type, p.server_id) for p in new.published if p.sent}
    assert ("Questionnaire", f"{study.lower()}-pain-1.1") in new_ids
    assert ("ResearchStudy", f"{study.lower()}-study-1.1") in new_ids
    # Shared by both versions and unchanged: the sponsor and the site Locations.
    assert {k for k, _ in new_ids}.isdisjoint({"Organization", "Location"})
    with FhirClient(fhir_server.base_url) as fhir:
        for item in old.published:
            resource = fhir.read(item.definition.resource_type, item.server_id).body
            assert resource["meta"]["versionId"] == "1"
        found = fhir.request(
            "GET",
            "Questionnaire",
            params={"url": f"https://edc.example.org/fhir/Questionnaire/{study.lower()}-pain"},
        ).body
        assert sorted(e["resource"]["version"] for e in found["entry"]) == ["1.0", "1.1"]


def test_a_definition_changed_on_the_server_is_a_conflict_and_nothing_is_sent(
    fhir_server: FhirServer,
    settings: config.Settings,
    protocols: Protocols,
    study: str,
    transport: FaultTransport,
) -> None:
    protocol = protocols.get(study)
    _publish(settings, protocol.path, fhir_server.base_url, transport)
    with FhirClient(fhir_server.base_url) as fhir:
        questionnaire = fhir.read("Questionnaire", f"{study.lower()}-pain-1.0").body
        questionnaire["title"] = "Edited by hand on the server"
        fhir.update(questionnaire)
    transport.log.clear()

    with pytest.raises(errors.ProblemsError, match="differ from this protocol version") as caught:
        _publish(settings, protocol.path, fhir_server.base_url, transport)

    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    assert f"Questionnaire https://edc.example.org/fhir/Questionnaire/{study.lower()}-pain|1.0" in (
        caught.value.details
    )
    assert _writes(transport) == []


def test_a_bad_protocol_sends_nothing(
    fhir_server: FhirServer, settings: config.Settings, tmp_path: Path, transport: FaultTransport
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: 1\nstudy: {id: BAD}\n")
    with pytest.raises(errors.ProblemsError) as caught:
        _publish(settings, bad, fhir_server.base_url, transport)
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    assert transport.log == []


def test_an_unreachable_server_is_exit_3_and_nothing_is_registered(
    sqlite_database: Database,
    protocols: Protocols,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    command = ["publish", str(protocols.get().path), "--fhir-url", "http://127.0.0.1:1/fhir"]
    assert cli.main([*command, "--max-attempts", "1"]) == errors.EXIT_EXTERNAL_FAILURE
    assert "127.0.0.1:1/fhir/metadata" in capsys.readouterr().err
    with sqlite_database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM protocol_version")).scalar_one() == 0


@pytest.mark.parametrize("url", ["ftp://example.org/fhir", "not a url", "http:///fhir"])
def test_an_unusable_url_is_bad_input(
    sqlite_database: Database, protocols: Protocols, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    assert cli.main(["publish", str(protocols.get().path), "--fhir-url", url]) == 2


def test_a_server_lacking_what_publishing_needs_is_named(
    fhir_server_factory: FhirServerFactory,
    settings: config.Settings,
    protocols: Protocols,
    transport: FaultTransport,
) -> None:
    # Stock SEKMET does not declare the definition types at all (our launcher adds them).
    stock = start_or_give_up(fhir_server_factory, stock=True, name="stock")
    try:
        with pytest.raises(UnsupportedFeatureError) as caught:
            _publish(settings, protocols.get().path, stock.base_url, transport)
    finally:
        stock.stop()
    assert caught.value.exit_code == errors.EXIT_EXTERNAL_FAILURE
    assert "resource type PlanDefinition is not supported at all" in caught.value.details
    assert "resource type ResearchStudy is not supported at all" in caught.value.details
    assert _writes(transport) == []


def test_the_command_prints_what_it_sent(
    fhir_server: FhirServer,
    sqlite_database: Database,
    protocols: Protocols,
    study: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    command = ["publish", str(protocols.get(study).path), "--fhir-url", fhir_server.base_url]
    assert cli.main(command) == 0
    assert cli.main(command) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith(f"published to {fhir_server.base_url}: ")
    # SEKMET stores no StructureDefinition: the extensions' definitions are left out, named.
    assert out[2].startswith("left out (the server does not take them): https://")
    assert out[2].count("/StructureDefinition/") == 2
    assert out[4] == f"published to {fhir_server.base_url}: 0 sent, 22 already there unchanged"


# The strictest SEKMET settings: inbound validation strict (refuses what its R4 models refuse)
# and references answered absolute (as Firely does), so the comparison must not depend on form.
STRICT = {"validation": {"inbound": "strict"}, "server_behaviour": {"absolute_references": True}}


@pytest.fixture(scope="module")
def strict_server(fhir_server_factory: FhirServerFactory) -> FhirServer:
    return start_or_give_up(fhir_server_factory, settings=STRICT, name="strict")


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []


def _sent_bundle(transport: FaultTransport) -> dict[str, Any]:
    (exchange,) = [e for e in transport.log if e.method == "POST"]
    return orjson.loads(exchange.body)  # type: ignore[no-any-return]


def test_the_transaction_sent_is_consistent_and_the_server_resolves_its_references(
    strict_server: FhirServer,
    settings: config.Settings,
    protocols: Protocols,
    study: str,
    transport: FaultTransport,
) -> None:
    first = _publish(settings, protocols.get(study).path, strict_server.base_url, transport)

    bundle = _sent_bundle(transport)
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    for entry in bundle["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        assert "|" not in entry["request"]["url"]  # percent-encoded
        for reference in _references(entry["resource"]):
            assert reference in full_urls, reference
    # The server resolved every urn:uuid to the id of the referenced resource.
    by_full_url = {p.definition.full_url: p for p in first.published}
    resolved = 0
    with FhirClient(strict_server.base_url) as fhir:
        for item in first.published:
            stored = fhir.read(item.definition.resource_type, item.server_id).body
            wanted = [
                f"{strict_server.base_url}/{by_full_url[r].definition.resource_type}/"
                f"{by_full_url[r].server_id}"
                for r in _references(item.definition.resource)
            ]
            assert _references(stored) == wanted
            resolved += len(wanted)
    assert resolved

    transport.log.clear()
    again = _publish(settings, protocols.get(study).path, strict_server.base_url, transport)
    assert (again.sent, again.unchanged) == (0, len(first.published))
    assert _writes(transport) == []


def test_a_site_the_server_holds_under_its_own_id_is_updated_there(
    strict_server: FhirServer,
    settings: config.Settings,
    protocols: Protocols,
    study: str,
    transport: FaultTransport,
) -> None:
    """The conditional PUT matches a resource the server named itself: an update, not a 400."""
    path = protocols.get(study).path
    entries = check_protocol(path).compiled.bundle["entry"]
    site_entry = next(e for e in entries if e["resource"]["resourceType"] == "Location")
    ours = site_entry["resource"]
    with FhirClient(strict_server.base_url) as fhir:
        elsewhere = {k: v for k, v in ours.items() if k != "id"} | {"name": "renamed elsewhere"}
        theirs = fhir.create(elsewhere).body["id"]
    assert theirs != ours["id"]

    result = _publish(settings, path, strict_server.base_url, transport)

    site = next(p for p in result.published if p.definition.full_url == site_entry["fullUrl"])
    assert (site.sent, site.server_id) == (True, theirs)
    with FhirClient(strict_server.base_url) as fhir:
        assert fhir.read("Location", theirs).body["name"] == ours["name"]
        referrers = [
            fhir.read(p.definition.resource_type, p.server_id).body
            for p in result.published
            if site_entry["fullUrl"] in _references(p.definition.resource)
        ]
    assert referrers
    for referrer in referrers:
        assert f"{strict_server.base_url}/Location/{theirs}" in _references(referrer)

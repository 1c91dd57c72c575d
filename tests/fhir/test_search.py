"""Searching and paging against the real server."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from edc.fhir import FatalNetworkError, FhirRequestError, resources
from tests.fhir import samples
from tests.fhir.faults import on


def _create_patients(fhir, unique: str, n: int) -> list[str]:
    return [fhir.create(samples.patient(unique, i)).body["id"] for i in range(n)]


def test_search_follows_next_links_over_several_pages(fhir_server, make_client, unique, transport):
    fhir = make_client(fhir_server.base_url)
    ids = _create_patients(fhir, unique, 7)

    pages = list(
        fhir.search_pages("Patient", {"identifier": f"{samples.system(unique)}|", "_count": "3"})
    )

    assert [len(p.resources) for p in pages] == [3, 3, 1]
    found = [r["id"] for p in pages for r in p.resources]
    assert sorted(found) == sorted(ids)
    assert pages[0].total == 7
    assert pages[1].url == pages[0].next_url  # followed verbatim
    gets = transport.requests_to("/Patient", "GET")
    assert len(gets) == 3
    assert all(e.headers["Prefer"] == "handling=strict" for e in gets)


def test_search_yields_resources_across_pages(fhir_server, make_client, unique):
    fhir = make_client(fhir_server.base_url)
    ids = _create_patients(fhir, unique, 5)
    found = [
        r["id"]
        for r in fhir.search("Patient", {"identifier": f"{samples.system(unique)}|", "_count": "2"})
    ]
    assert sorted(found) == sorted(ids)


def test_unsupported_search_parameter_fails_loudly_and_is_not_retried(
    fhir_server, make_client, transport, sleeps
):
    fhir = make_client(fhir_server.base_url)
    with pytest.raises(FhirRequestError) as caught:
        list(fhir.search("Patient", {"favourite-colour": "blue"}))
    assert caught.value.status == 400
    assert "Unknown search parameter 'favourite-colour' for Patient" in str(caught.value)
    assert len(transport.log) == 1
    assert sleeps.calls == []


def test_resume_from_a_saved_page_url(fhir_server, make_client, unique):
    fhir = make_client(fhir_server.base_url)
    ids = _create_patients(fhir, unique, 5)
    query = {"identifier": f"{samples.system(unique)}|", "_count": "2", "_sort": "_lastUpdated"}
    first = next(fhir.search_pages("Patient", query))
    resume_at = first.next_url
    assert resume_at is not None

    # A new process picks up where the interrupted pull stopped.
    rest = [
        r["id"]
        for p in make_client(fhir_server.base_url).search_pages("Patient", resume_from=resume_at)
        for r in p.resources
    ]
    assert [r["id"] for r in first.resources] + rest == ids


def test_questionnaire_search_by_url_and_version_needs_the_launcher(
    fhir_server, make_client, unique
):
    fhir = make_client(fhir_server.base_url)
    url = f"https://edc.example.org/fhir/Questionnaire/{unique}"
    for version in ("1.0", "2.0"):
        fhir.create(
            {"resourceType": "Questionnaire", "url": url, "version": version, "status": "active"}
        )

    found = list(fhir.search("Questionnaire", {"url": url, "version": "1.0"}))
    assert [q["version"] for q in found] == ["1.0"]
    # SEKMET does not implement the canonical "url|version" form: it matches nothing (no error).
    assert list(fhir.search("Questionnaire", {"url": f"{url}|1.0"})) == []


def test_last_updated_has_millisecond_precision(fhir_server, make_client, unique):
    fhir = make_client(fhir_server.base_url)
    first = fhir.create(samples.patient(unique, 0)).body
    second = fhir.create(samples.patient(unique, 1)).body
    mark = first["meta"]["lastUpdated"]
    assert len(mark) == len("2026-01-01T00:00:00.000Z")
    query = {"identifier": f"{samples.system(unique)}|", "_sort": "_lastUpdated"}

    after = list(fhir.search("Patient", {**query, "_lastUpdated": f"gt{mark}"}))
    from_mark = list(fhir.search("Patient", {**query, "_lastUpdated": f"ge{mark}"}))

    assert [p["id"] for p in from_mark] == [first["id"], second["id"]]
    assert [p["id"] for p in after] == (
        [second["id"]] if second["meta"]["lastUpdated"] != mark else []
    )


def test_offset_paging_shifts_when_a_resource_changes_mid_pull(fhir_server, make_client, unique):
    """Canary for a trap sync must handle: SEKMET pages by _offset, so an update during a pull
    moves a resource to the end and the next page skips one and repeats another."""
    fhir = make_client(fhir_server.base_url)
    ids = _create_patients(fhir, unique, 6)
    query = {"identifier": f"{samples.system(unique)}|", "_sort": "_lastUpdated", "_count": "3"}
    pages = fhir.search_pages("Patient", query)
    first = next(pages)
    touched = first.resources[0]
    fhir.update({**touched, "active": True})
    seen = [r["id"] for r in first.resources] + [r["id"] for p in pages for r in p.resources]

    assert ids[3] not in seen
    assert seen.count(touched["id"]) == 2


def _rewrite(change: Callable[[dict], None]):
    def respond(request: httpx.Request, real: Callable[[], httpx.Response]) -> httpx.Response:
        response = real()
        body = orjson.loads(response.read())
        change(body)
        return httpx.Response(response.status_code, json=body, request=request)

    return respond


def test_a_next_link_to_another_server_is_not_followed(fhir_server, make_client, unique, transport):
    fhir = make_client(fhir_server.base_url)
    _create_patients(fhir, unique, 3)

    def elsewhere(bundle: dict) -> None:
        for link in bundle["link"]:
            if link["relation"] == "next":
                link["url"] = "http://attacker.example/fhir/Patient?page=2"

    transport.add(on("/Patient", "GET"), _rewrite(elsewhere))
    with pytest.raises(FatalNetworkError, match="leaves the server"):
        list(
            fhir.search_pages(
                "Patient", {"identifier": f"{samples.system(unique)}|", "_count": "2"}
            )
        )
    assert all("attacker" not in e.url for e in transport.log)


def test_a_paging_loop_is_detected(fhir_server, make_client, unique, transport):
    fhir = make_client(fhir_server.base_url)
    _create_patients(fhir, unique, 3)

    def loop(bundle: dict) -> None:
        self_url = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
        for link in bundle["link"]:
            if link["relation"] == "next":
                link["url"] = self_url

    transport.add(on("/Patient", "GET"), _rewrite(loop), times=5)
    with pytest.raises(FatalNetworkError, match="loops"):
        list(
            fhir.search_pages(
                "Patient",
                {"identifier": f"{samples.system(unique)}|", "_count": "2", "_offset": "0"},
            )
        )


@pytest.fixture(scope="module")
def lenient_server(fhir_server_factory):
    """A server that stores what it is sent unchecked, like many a hospital's data."""
    from tests.fhir_server.fixture import start_or_give_up

    server = start_or_give_up(
        fhir_server_factory, settings={"validation": {"inbound": "off"}}, name="lenient"
    )
    yield server
    server.stop()


def test_a_malformed_resource_is_handed_back_raw_with_its_page(lenient_server, make_client, unique):
    fhir = make_client(lenient_server.base_url)
    good = _create_patients(fhir, unique, 3)
    bad = fhir.create(
        {
            **samples.patient(unique, 9),
            "birthDate": "31/12/1990",
            "subject": {"reference": "Patient/x"},
        }
    )
    bad_id = bad.body["id"]

    pages = list(
        fhir.search_pages("Patient", {"identifier": f"{samples.system(unique)}|", "_count": "2"})
    )

    got = {r["id"]: r for p in pages for r in p.resources}
    assert set(got) == {*good, bad_id}
    assert got[bad_id]["birthDate"] == "31/12/1990"
    page_with_bad = next(p for p in pages if any(r["id"] == bad_id for r in p.resources))
    assert b"31/12/1990" in page_with_bad.raw
    # The caller rejects it with a reason; the other resources parse.
    with pytest.raises(resources.ResourceParseError, match="does not fit"):
        resources.parse_resource(got[bad_id])
    assert any("Patient.birthDate" in issue for issue in resources.validate_r4(got[bad_id]))
    for pid in good:
        assert resources.parse_resource(got[pid]).id == pid

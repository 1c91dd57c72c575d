"""Forms entered in the browser go to the hospital's FHIR server through the outbox: queued in
the transaction that stores them, delivered by `edc push` to the real test server, and a change
(with its reason) updates the hospital's copy instead of making a second one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from edc.actions import publish, push, sync
from edc.actions.workspace import Workspace
from edc.fhir import FhirClient
from edc.fhir.target import ServerSpec
from tests.fhir_server.fixture import FhirServer
from tests.fixtures.database import Database
from tests.sync.protocols import Protocols
from tests.web.conftest import login
from tests.web.helpers import response_for, rows
from tests.web.test_forms import STUDY, _questionnaire, _submit
from tests.web.trial import STUDY as STUDY_ID
from tests.web.trial import Seeded, seed

ENTERED = "https://edc.example.org/fhir/sid/entered/MINI-01"
OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
ADVERSE_EVENT = {
    "term": "Back pain",
    "grade": 1,
    "serious": False,
    "onset": "2026-03-20T10:00:00+08:00",
    "relatedness": "C53256",
    "outcome": "C49494",
}


def outbox(seeded: Seeded) -> list[tuple[str, str, str, dict[str, Any]]]:
    found = rows(
        seeded,
        "SELECT resource_type, identifier_value, status, payload FROM outbox_message ORDER BY id",
    )
    return [(kind, value, status, orjson.loads(payload)) for kind, value, status, payload in found]


def test_a_form_is_queued_with_its_identifier_and_a_change_supersedes_it(
    seeded: Seeded, as_user: Any
) -> None:
    api = as_user("coord1")
    code = seeded.subject(0)
    pain = _questionnaire(api, "pain")
    created = _submit(api, seeded, code, "pain", "W1", response_for(pain, {"nrs": 4}))
    assert created.status_code == 201, created.text
    resource_id = created.json()["resource_id"]
    ((kind, value, status, payload),) = outbox(seeded)
    assert (kind, value, status) == ("QuestionnaireResponse", resource_id, "pending")
    assert payload["identifier"] == {"system": ENTERED, "value": resource_id}
    assert "id" not in payload and payload["subject"] == {"reference": "Patient/w-p0"}
    url = f"{STUDY}/subjects/{code}/forms/{created.json()['response_id']}"
    changed = api.send(
        "PUT", url, json={"reason": "source says 6", "response": response_for(pain, {"nrs": 6})}
    )
    assert changed.status_code == 200, changed.text
    first, second = outbox(seeded)
    assert first[2] == "superseded" and second[2] == "pending" and second[1] == resource_id
    assert second[3]["status"] == "amended"
    assert second[3]["item"][0]["answer"][0]["valueInteger"] == 6


def test_push_delivers_a_form_and_an_adverse_event_once_and_a_change_updates_the_form(
    sqlite_seeded: Seeded,
    app_for: Any,
    fresh_fhir_server: FhirServer,
    protocols: Protocols,
    tmp_path: Path,
) -> None:
    fhir_server = fresh_fhir_server
    seeded = sqlite_seeded
    api = login(app_for(seeded), "coord1")
    code = seeded.subject(0)
    # The study is published to the hospital's server, which holds the patient and the visit
    # the entered data refer to.
    spec = ServerSpec(fhir_server.base_url, max_attempts=1)
    publish.publish(seeded.settings, protocols.get(STUDY_ID).path, spec, clock=seeded.clock)
    exported = tmp_path / "ndjson"
    with FhirClient(fhir_server.base_url) as fhir:
        for kind in ("Patient", "Encounter"):
            for line in (exported / f"{kind}.ndjson").read_bytes().splitlines():
                resource = orjson.loads(line)
                if (
                    resource["id"] == "w-p0"
                    or resource.get("subject", {}).get("reference") == "Patient/w-p0"
                ):
                    resource.pop("meta", None)
                    fhir.update(resource)
    pain = _questionnaire(api, "pain")
    created = _submit(api, seeded, code, "pain", "W1", response_for(pain, {"nrs": 4})).json()
    event = api.send("POST", f"{STUDY}/subjects/{code}/adverse-events", json=ADVERSE_EVENT)
    assert event.status_code == 201, event.text
    workspace = Workspace(seeded.database.engine, seeded.clock, "coord1")
    first = push.push(workspace, "MINI-01", spec)
    assert [(d.resource_type, d.outcome) for d in first.delivered] == [
        ("QuestionnaireResponse", "created"),
        ("AdverseEvent", "created"),
    ], first.refused
    url = f"{STUDY}/subjects/{code}/forms/{created['response_id']}"
    body = {"reason": "source says 6", "response": response_for(pain, {"nrs": 6})}
    assert api.send("PUT", url, json=body).status_code == 200
    second = push.push(workspace, "MINI-01", spec)
    assert [d.outcome for d in second.delivered] == ["updated"] and second.pending == 0
    with FhirClient(fhir_server.base_url) as fhir:
        found = list(
            fhir.search(
                "QuestionnaireResponse", {"identifier": f"{ENTERED}|{created['resource_id']}"}
            )
        )
    assert len(found) == 1
    assert found[0]["status"] == "amended"
    assert found[0]["item"][0]["answer"][0]["valueInteger"] == 6


def test_the_server_copies_of_entered_data_come_back_once_and_a_change_there_arrives(
    sqlite_database: Database,
    tmp_path: Path,
    app_for: Any,
    fresh_fhir_server: FhirServer,
    protocols: Protocols,
) -> None:
    url = fresh_fhir_server.base_url
    seeded = seed(sqlite_database, tmp_path, protocols, server_url=url)
    spec = ServerSpec(url, max_attempts=1)
    api = login(app_for(seeded), "coord1")
    code = seeded.subject(0)
    publish.publish(seeded.settings, protocols.get(STUDY_ID).path, spec, clock=seeded.clock)
    before = counts(seeded)
    pain = _questionnaire(api, "pain")
    created = _submit(api, seeded, code, "pain", "W1", response_for(pain, {"nrs": 4})).json()
    event = api.send("POST", f"{STUDY}/subjects/{code}/adverse-events", json=ADVERSE_EVENT)
    assert event.status_code == 201, event.text
    entered = counts(seeded)
    assert entered == before | {
        "form_response": before["form_response"] + 1,
        "adverse_event": before["adverse_event"] + 1,
    }
    workspace = Workspace(seeded.database.engine, seeded.clock, "coord1")
    pushed = push.push(workspace, "MINI-01", spec)
    assert len(pushed.delivered) == 2, pushed.refused

    echoed = sync.sync(
        seeded.settings, sync.SyncRequest(study=STUDY_ID, server=spec), clock=seeded.clock
    )

    assert echoed.counts["QuestionnaireResponse"].unchanged >= 1
    assert counts(seeded) == entered  # no second form response or adverse event, no problem
    # The hospital corrects its copy of the form: the change updates edc's row in place.
    with FhirClient(url) as fhir:
        (copy,) = fhir.search(
            "QuestionnaireResponse", {"identifier": f"{ENTERED}|{created['resource_id']}"}
        )
        copy["item"][0]["answer"][0]["valueInteger"] = 7
        fhir.update(copy)
        (event_copy,) = fhir.search("AdverseEvent", {"identifier": f"{ENTERED}|"})
        event_copy["outcome"] = {"coding": [{"system": OUTCOME, "code": "resolved"}]}
        fhir.update(event_copy)

    changed = sync.sync(
        seeded.settings, sync.SyncRequest(study=STUDY_ID, server=spec), clock=seeded.clock
    )

    assert changed.counts["QuestionnaireResponse"].updated == 1
    assert changed.counts["AdverseEvent"].updated == 1
    # edc's event row now shows the hospital's version (the server's copy, by its identifier).
    assert rows(
        seeded,
        "SELECT a.outcome, r.logical_id LIKE 'edc-%' FROM adverse_event a "
        "JOIN raw_resource r ON r.id = a.raw_resource_id WHERE r.json_text LIKE '%/sid/entered/%'",
    ) == [("resolved", 0)]
    assert counts(seeded) == entered
    assert rows(
        seeded,
        "SELECT i.value_number FROM item_value i JOIN form_response f ON f.id = i.response_id "
        f"WHERE f.id = {int(created['response_id'])} AND i.link_id = 'nrs'",
    ) == [(7,)]


def counts(seeded: Seeded) -> dict[str, int]:
    tables = ("form_response", "adverse_event", "visit", "data_problem")
    return {t: rows(seeded, f"SELECT count(*) FROM {t}")[0][0] for t in tables}

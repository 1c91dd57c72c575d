"""REST pulls from the real test server: normalization, incremental runs, new patients."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from edc.actions import sync
from edc.clock import FixedClock
from edc.fhir import FhirClient
from edc.fhir.target import ServerSpec
from tests.fhir_server.fixture import FhirServer
from tests.fixtures.database import Database
from tests.sync import trialdata
from tests.sync.conftest import Warehouse, make_warehouse
from tests.sync.protocols import Protocols


@pytest.fixture
def study_warehouse(
    sqlite_database: Database, tmp_path: Path, protocols: Protocols, clock: FixedClock, unique: str
) -> Warehouse:
    """A warehouse with a study of this test's own (the shared server keeps everyone's data)."""
    return make_warehouse(sqlite_database, tmp_path / "data", protocols.get(f"R-{unique}"), clock)


def _sync(warehouse: Warehouse, url: str, clock: FixedClock, **options: object) -> sync.SyncResult:
    request = sync.SyncRequest(
        study=warehouse.study.study,
        server=ServerSpec(url),
        **options,  # type: ignore[arg-type]
    )
    return sync.sync(warehouse.settings, request, clock=clock)


def test_a_rest_pull_normalizes_and_the_next_one_sees_only_changes(
    fhir_server: FhirServer, study_warehouse: Warehouse, clock: FixedClock, unique: str
) -> None:
    warehouse = study_warehouse
    trial = trialdata.build(
        warehouse.study.checked.compiled, 6, tag=unique, study=warehouse.study.study
    )
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, list(trial.all()))

    first = _sync(warehouse, fhir_server.base_url, clock, page_size=7)

    assert sum(c.new for c in first.counts.values()) == trial.count and first.rejected == 0
    assert warehouse.counts() | {"raw_resource": 0} == {
        "subject": 6, "patient_link": 6, "allocation": 6, "consent": 6, "visit": 12,
        "form_response": 24, "item_value": 6 * 2 * 12, "adverse_event": 2,
        "raw_resource": 0, "data_problem": 0,
    }  # fmt: skip
    # The stored text is the resource exactly as the server serialized it in the page.
    with FhirClient(fhir_server.base_url) as fhir:
        page = next(iter(fhir.search_pages("Patient", {"_id": f"{unique}-p0"})))
    [(stored,)] = warehouse.rows(
        f"SELECT json_text FROM raw_resource WHERE logical_id = '{unique}-p0'"
    )
    assert stored.encode() in page.raw and orjson.loads(stored)["id"] == f"{unique}-p0"

    changed = dict(trial.resources["QuestionnaireResponse"][0])
    changed["item"] = [{"linkId": "nrs", "answer": [{"valueInteger": 10}]}]
    extra = dict(trial.resources["Observation"][0], id=f"{unique}-o-extra")
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, [changed, extra])

    second = _sync(warehouse, fhir_server.base_url, clock, page_size=7, overlap_seconds=0)

    assert second.counts["QuestionnaireResponse"].updated == 1
    assert second.counts["Observation"].new == 1
    assert sum(c.new + c.updated for c in second.counts.values()) == 2
    assert warehouse.rows(
        "SELECT i.value_number FROM item_value i JOIN form_response f ON f.id = i.response_id "
        f"JOIN raw_resource r ON r.id = f.raw_resource_id WHERE r.logical_id = '{unique}-qp0-bl'"
    ) == [(10,)]
    assert warehouse.duplicates() == {} and warehouse.chain_ok()


def test_a_patient_enrolled_later_gets_the_history_that_predates_the_cursor(
    fhir_server: FhirServer, study_warehouse: Warehouse, clock: FixedClock, unique: str
) -> None:
    warehouse = study_warehouse
    trial = trialdata.build(
        warehouse.study.checked.compiled, 3, tag=unique, study=warehouse.study.study
    )
    late = trial.resources["ResearchSubject"].pop()
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, list(trial.all()))
    first = _sync(warehouse, fhir_server.base_url, clock)
    assert first.counts["ResearchSubject"].new == 2 and warehouse.count("form_response") == 8

    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, [late])
    second = _sync(warehouse, fhir_server.base_url, clock, overlap_seconds=0)

    # Everything of the new subject is older than every cursor, and still arrives.
    assert second.counts["ResearchSubject"].new == 1
    assert second.counts["QuestionnaireResponse"].new == 4
    assert second.counts["Observation"].new == 1 and second.counts["Patient"].new == 1
    assert warehouse.counts()["form_response"] == 12 and warehouse.count("subject") == 3
    assert warehouse.duplicates() == {}


def test_a_deletion_on_the_server_is_reported_once_and_the_trial_data_kept(
    fhir_server: FhirServer, study_warehouse: Warehouse, clock: FixedClock, unique: str
) -> None:
    warehouse = study_warehouse
    trial = trialdata.build(
        warehouse.study.checked.compiled, 2, tag=unique, study=warehouse.study.study
    )
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, list(trial.all()))
    _sync(warehouse, fhir_server.base_url, clock)
    before = warehouse.counts()
    response_id = trial.resources["QuestionnaireResponse"][0]["id"]
    event_id = trial.resources["AdverseEvent"][0]["id"]
    with FhirClient(fhir_server.base_url) as fhir:
        fhir.request("DELETE", f"QuestionnaireResponse/{response_id}")
        fhir.request("DELETE", f"AdverseEvent/{event_id}")

    second = _sync(warehouse, fhir_server.base_url, clock)

    assert second.counts["QuestionnaireResponse"].deleted == 1
    assert second.counts["AdverseEvent"].deleted == 1
    assert any("deleted on the server since" in line for line in second.lines())
    # Nothing of the trial data goes: a monitor decides.
    assert warehouse.counts() | {"data_problem": 0} == before | {"data_problem": 0}
    problems = warehouse.rows(
        "SELECT r.resource_type, r.logical_id, p.status, p.message FROM data_problem p "
        "JOIN raw_resource r ON r.id = p.raw_resource_id WHERE p.kind = 'deleted_at_source' "
        "ORDER BY r.resource_type"
    )
    assert [row[:3] for row in problems] == [
        ("AdverseEvent", event_id, "open"),
        ("QuestionnaireResponse", response_id, "open"),
    ]
    assert f"QuestionnaireResponse/{response_id} was deleted on the FHIR server" in problems[1][3]

    # The overlap window reads the deletions again: they are not reported twice.
    third = _sync(warehouse, fhir_server.base_url, clock, overlap_seconds=3600)
    assert all(c.deleted == 0 for c in third.counts.values())
    assert warehouse.count("data_problem", "kind = 'deleted_at_source'") == 2
    assert warehouse.chain_ok()

"""Bulk Data pulls from the real test server: full, then incremental with ``_since``."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from edc.actions import sync
from edc.clock import FixedClock, SystemClock
from edc.fhir import FhirClient, RetryPolicy
from edc.fhir.target import ServerSpec
from edc.sync import enrollment_group
from tests.fhir.faults import RecordingSleep
from tests.fhir_server.fixture import FhirServer
from tests.fixtures.database import Database
from tests.sync import trialdata
from tests.sync.conftest import Warehouse, make_warehouse
from tests.sync.protocols import Protocols


@pytest.fixture
def study_warehouse(
    sqlite_database: Database, tmp_path: Path, protocols: Protocols, clock: FixedClock, unique: str
) -> Warehouse:
    return make_warehouse(sqlite_database, tmp_path / "data", protocols.get(f"B-{unique}"), clock)


def _bulk(warehouse: Warehouse, url: str, clock: FixedClock, **options: object) -> sync.SyncResult:
    # Polls really wait a little: SEKMET holds a job "in progress" for 0.3 s.
    retry = RetryPolicy(
        sleep=RecordingSleep(real_cap=0.35), rng=random.Random(2), clock=SystemClock()
    )

    def client(spec: ServerSpec) -> FhirClient:
        return FhirClient(spec.url, retry=retry)

    request = sync.SyncRequest(
        study=warehouse.study.study,
        server=ServerSpec(url),
        bulk=True,
        **options,  # type: ignore[arg-type]
    )
    return sync.sync(warehouse.settings, request, clock=clock, client_factory=client)


def test_by_default_only_the_studys_enrollment_group_is_exported(
    fhir_server: FhirServer, study_warehouse: Warehouse, clock: FixedClock, unique: str
) -> None:
    warehouse = study_warehouse
    trial = trialdata.build(
        warehouse.study.checked.compiled, 3, tag=unique, study=warehouse.study.study
    )
    outsider = {
        "resourceType": "Patient",
        "id": f"{unique}-not-in-the-study",
        "name": [{"family": "Outsider"}],
    }
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, [*trial.all(), outsider])
    first = _bulk(warehouse, fhir_server.base_url, clock)

    # Only the study's patients came: the server's other patients (earlier tests' and the
    # outsider) were not exported, so they are not stored either.
    assert first.counts["Patient"].new == 3
    patients = {
        row[0]
        for row in warehouse.rows(
            "SELECT logical_id FROM raw_resource WHERE resource_type = 'Patient'"
        )
    }
    assert patients == {p["id"] for p in trial.resources["Patient"]}
    with FhirClient(fhir_server.base_url) as fhir:
        token = f"{enrollment_group.ENROLLMENT_SYSTEM}|{warehouse.study.study}"
        (group,) = fhir.search("Group", {"identifier": token})
    assert group["actual"] is True and len(group["member"]) == 3

    # Nothing changed: the Group is not written again (SEKMET would make a new version).
    second = _bulk(warehouse, fhir_server.base_url, clock)
    assert second.counts.get("Patient") is None or second.counts["Patient"].new == 0
    with FhirClient(fhir_server.base_url) as fhir:
        assert fhir.read("Group", group["id"]).version_id == group["meta"]["versionId"]
    assert not list((warehouse.settings.data_dir / "bulk").iterdir())


def test_a_patient_level_export_then_an_incremental_one(
    fhir_server: FhirServer, study_warehouse: Warehouse, clock: FixedClock, unique: str
) -> None:
    warehouse = study_warehouse
    trial = trialdata.build(
        warehouse.study.checked.compiled, 3, tag=unique, study=warehouse.study.study
    )
    late = trial.resources["ResearchSubject"].pop()
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, list(trial.all()))
    _bulk(warehouse, fhir_server.base_url, clock, patient_level=True)
    # A Patient-level export holds the whole server: our study's part is normalized.
    assert warehouse.count("subject") == 2 and warehouse.count("form_response") == 8
    [(cursor,)] = warehouse.rows(
        "SELECT cursor_value FROM sync_cursor WHERE resource_type = 'Observation'"
    )
    assert '"since"' in str(cursor)

    changed = dict(trial.resources["QuestionnaireResponse"][0])
    changed["item"] = [{"linkId": "nrs", "answer": [{"valueInteger": 10}]}]
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, [changed, late])
    second = _bulk(warehouse, fhir_server.base_url, clock, patient_level=True)

    # Only what changed since the last export's transactionTime came back.
    assert second.counts["QuestionnaireResponse"].updated == 1
    assert second.counts["ResearchSubject"].new == 1
    assert warehouse.count("subject") == 3 and warehouse.count("form_response") == 12
    assert warehouse.duplicates() == {} and warehouse.chain_ok()


def test_a_group_level_export(
    fhir_server: FhirServer, study_warehouse: Warehouse, clock: FixedClock, unique: str
) -> None:
    warehouse = study_warehouse
    trial = trialdata.build(
        warehouse.study.checked.compiled, 2, tag=unique, study=warehouse.study.study
    )
    members = [{"entity": {"reference": f"Patient/{p['id']}"}} for p in trial.resources["Patient"]]
    group = {
        "resourceType": "Group",
        "id": f"{unique}-cohort",
        "type": "person",
        "actual": True,
        "member": members,
    }
    with FhirClient(fhir_server.base_url) as fhir:
        trialdata.load(fhir, [*trial.all(), group])
    result = _bulk(warehouse, fhir_server.base_url, clock, group=f"{unique}-cohort")
    assert result.counts["Patient"].new == 2
    assert warehouse.count("subject") == 2 and warehouse.count("form_response") == 8

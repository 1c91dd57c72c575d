"""`edc push` against the real test FHIR server: down during enrollment, delivered once after.

The hospital's EHR is the test server: the export is loaded into it, the study published to it,
and the warehouse syncs from it (Bulk export for the hospital's patients, then REST).
Enrollment with the server stopped succeeds locally; a push fails (exit 3) and keeps the writes
pending; once the server is back one push delivers them, and no repetition - a second push, a
delivery redone after a crash - makes a second resource.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from edc import errors
from edc.actions import consent, enroll, publish, push, randomize, scheduler, screen, sync
from edc.actions.workspace import Workspace
from edc.fhir import FhirClient, NetworkError
from edc.fhir.target import ServerSpec
from tests.actions.sitetrial import PROTOCOL, SCREENING, STUDY, SiteTrial, make_site_trial
from tests.fhir_server.fixture import FhirServer
from tests.fixtures.database import Database

SUBJECT_SYSTEM = "https://edc.example.org/fhir/sid/subject/OTHER-01"


def research_subjects(server: FhirServer, code: str) -> list[dict[str, object]]:
    with FhirClient(server.base_url) as fhir:
        return list(fhir.search("ResearchSubject", {"identifier": f"{SUBJECT_SYSTEM}|{code}"}))


def record_consent(workspace: Workspace, server: FhirServer) -> None:
    """p-ok (site A1, from this server) signs ICF 2.1 on 2027-03-01."""
    consent.record(
        workspace,
        consent.ConsentRequest(
            study=STUDY, patient="p-ok", signed=dt.date(2027, 3, 1), form_version="2.1",
            obtained_by="Dr. Alpha", source=server.base_url,
        ),
    )  # fmt: skip


def pushed(trial: SiteTrial, server: FhirServer) -> push.PushResult:
    with trial.workspace("coord-a") as workspace:
        return push.push(workspace, STUDY, ServerSpec(server.base_url, max_attempts=1))


@pytest.fixture
def trial(database: Database, tmp_path: Path, fresh_fhir_server: FhirServer) -> SiteTrial:
    made = make_site_trial(database, tmp_path)
    spec = ServerSpec(fresh_fhir_server.base_url)
    publish.publish(made.settings, PROTOCOL, spec, clock=made.clock)
    with FhirClient(fresh_fhir_server.base_url) as fhir:
        for kind in ("Patient", "Observation", "Condition"):
            for line in (made.export / f"{kind}.ndjson").read_bytes().splitlines():
                fhir.update(orjson.loads(line))
    # Pre-screening needs every patient of the hospital: a Patient-level Bulk export (a REST
    # pull, and a Group-level export, follow the study's own patients).
    request = sync.SyncRequest(study=STUDY, server=spec, bulk=True, patient_level=True)
    sync.sync(made.settings, request, clock=made.clock)
    with made.workspace("dm") as workspace:
        screen.screen(workspace, screen.ScreenRequest(study=STUDY, as_of=SCREENING))
    return made


def test_enrolled_while_the_server_is_down_is_delivered_once_when_it_is_back(
    trial: SiteTrial, fresh_fhir_server: FhirServer
) -> None:
    with trial.workspace("coord-a") as workspace:
        record_consent(workspace, fresh_fhir_server)
    fresh_fhir_server.stop()
    with trial.workspace("coord-a") as workspace:
        enrolled = enroll.enroll(
            workspace,
            enroll.EnrollRequest(
                study=STUDY,
                patient="p-ok",
                site="A1",
                investigator="inv-a",
                confirm=("IN03=yes",),
                source=fresh_fhir_server.base_url,
            ),
        )
    assert enrolled.subject == "A1-0001"
    with pytest.raises(NetworkError) as down:
        pushed(trial, fresh_fhir_server)
    assert down.value.exit_code == errors.EXIT_EXTERNAL_FAILURE
    assert trial.count("outbox_message", "status = 'pending'") == 2
    assert trial.rows("SELECT max(attempts) FROM outbox_message") == [(1,)]

    fresh_fhir_server.start()
    result = pushed(trial, fresh_fhir_server)
    assert [(d.resource_type, d.outcome) for d in result.delivered] == [
        ("Consent", "created"),
        ("ResearchSubject", "created"),
    ]
    assert result.pending == 0
    (subject,) = research_subjects(fresh_fhir_server, "A1-0001")
    assert subject["status"] == "eligible"
    assert subject["individual"] == {"reference": "Patient/p-ok"}
    # The consent row now names the server's Consent; what was sent is kept.
    assert trial.count("consent", "fhir_reference LIKE 'Consent/%'") == 1
    assert trial.count("raw_resource", "direction = 'sent'") == 2

    # Pushing again sends nothing; redoing a delivery (a crash after the server answered and
    # before our commit) finds the resource by its identifier instead of making another.
    assert pushed(trial, fresh_fhir_server).delivered == []
    with trial.database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE outbox_message SET status = 'pending'")
    again = pushed(trial, fresh_fhir_server)
    assert [d.outcome for d in again.delivered] == ["existed", "updated"]
    assert len(research_subjects(fresh_fhir_server, "A1-0001")) == 1
    with FhirClient(fresh_fhir_server.base_url) as fhir:
        assert len(list(fhir.search("Consent", {"patient": "p-ok"}))) == 1


def test_randomization_updates_the_same_research_subject_and_a_sync_does_not_undo_it(
    trial: SiteTrial, fresh_fhir_server: FhirServer, tmp_path: Path
) -> None:
    with trial.workspace("coord-a") as workspace:
        record_consent(workspace, fresh_fhir_server)
        enroll.enroll(
            workspace,
            enroll.EnrollRequest(
                study=STUDY,
                patient="p-ok",
                site="A1",
                investigator="inv-a",
                confirm=("IN03=yes",),
                source=fresh_fhir_server.base_url,
            ),
        )
    pushed(trial, fresh_fhir_server)
    # The screening form reaches the EHR, and edc by sync; then the subject is randomized.
    trial.frailty_form("p-ok", "fit")
    (line,) = (trial.export / "QuestionnaireResponse.ndjson").read_bytes().splitlines()
    with FhirClient(fresh_fhir_server.base_url) as fhir:
        fhir.update(orjson.loads(line))
    spec = ServerSpec(fresh_fhir_server.base_url)
    sync.sync(trial.settings, sync.SyncRequest(study=STUDY, server=spec), clock=trial.clock)
    with trial.workspace("unblinded") as workspace:
        randomize.open_randomization(workspace, STUDY, tmp_path / "seed.hex")
    with trial.workspace("coord-a") as workspace:
        randomize.randomize(workspace, STUDY, "A1-0001")
    # Before the push, a sync reads back the version edc wrote at enrollment (eligible): it is
    # edc's own, and does not turn the randomized subject back.
    sync.sync(trial.settings, sync.SyncRequest(study=STUDY, server=spec), clock=trial.clock)
    assert trial.rows("SELECT status FROM subject") == [("on-study",)]
    assert trial.count("data_problem") == 0
    assert [d.outcome for d in pushed(trial, fresh_fhir_server).delivered] == ["updated"]
    (subject,) = research_subjects(fresh_fhir_server, "A1-0001")
    assert subject["status"] == "on-study" and "assignedArm" not in subject


def test_a_scheduled_push_delivers_the_outbox(
    trial: SiteTrial, fresh_fhir_server: FhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trial.workspace("coord-a") as workspace:
        record_consent(workspace, fresh_fhir_server)
    spec = ServerSpec(fresh_fhir_server.base_url)
    job = scheduler.add_push(trial.settings, STUDY, spec, scheduler.parse_every("200ms"))
    assert job.startswith("push-OTHER-01-")
    # The scheduler process acts as its own user: the data manager here.
    monkeypatch.setenv("EDC_DATABASE_URL", trial.settings.database_url)
    monkeypatch.setenv("EDC_DATA_DIR", str(trial.settings.data_dir))
    monkeypatch.setenv("EDC_USER", "dm")
    scheduler.run(trial.settings, duration=3)
    assert trial.count("outbox_message", "status = 'sent'") == 1
    with FhirClient(fresh_fhir_server.base_url) as fhir:
        assert len(list(fhir.search("Consent", {"patient": "p-ok"}))) == 1

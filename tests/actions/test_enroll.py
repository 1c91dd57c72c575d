"""`edc consent record` and `edc enroll`: consent first, sign-off, refusal with evidence."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import orjson
import pytest

from edc import errors
from edc.actions import consent, enroll, screen
from edc.fhir import resources
from tests.actions.sitetrial import SCREENING, STUDY, SiteTrial, make_site_trial
from tests.fixtures.database import Database

CONSENT_DAY = dt.date(2027, 3, 1)


@pytest.fixture
def trial(database: Database, tmp_path: Path) -> SiteTrial:
    made = make_site_trial(database, tmp_path)
    with made.workspace("dm") as workspace:
        screen.screen(workspace, screen.ScreenRequest(study=STUDY, as_of=SCREENING))
    return made


def record_consent(trial: SiteTrial, patient: str, user: str = "coord-a") -> consent.ConsentResult:
    with trial.workspace(user) as workspace:
        return consent.record(
            workspace,
            consent.ConsentRequest(
                study=STUDY,
                patient=patient,
                signed=CONSENT_DAY,
                form_version="2.1",
                obtained_by="Dr. Alpha",
            ),
        )


def do_enroll(
    trial: SiteTrial, patient: str, *confirm: str, user: str = "coord-a", site: str = "A1",
    investigator: str = "inv-a", override: str | None = None,
) -> enroll.EnrollResult:  # fmt: skip
    with trial.workspace(user) as workspace:
        return enroll.enroll(
            workspace,
            enroll.EnrollRequest(
                study=STUDY,
                patient=patient,
                site=site,
                investigator=investigator,
                confirm=confirm,
                override=override,
            ),
        )


def snapshot(trial: SiteTrial) -> dict[str, int]:
    tables = ("subject", "patient_link", "consent", "outbox_message", "deviation", "audit_event")
    return {table: trial.count(table) for table in tables}


def test_consent_then_enrollment_makes_subject_01_0001(trial: SiteTrial) -> None:
    recorded = record_consent(trial, "p-ok")
    assert (recorded.site, recorded.obtained_by) == ("A1", "Dr. Alpha")
    enrolled = do_enroll(trial, "p-ok", "IN03=yes")
    assert (enrolled.subject, enrolled.status, enrolled.overridden) == ("A1-0001", "eligible", ())
    # The patient's EHR data is trial source data now, audited under the person who enrolled.
    assert trial.count("screening_resource", "patient_id = 'p-ok'") == 0
    assert trial.count("raw_resource", "patient_id = 'p-ok'") == 2
    assert (
        trial.count(
            "audit_event", "table_name = 'subject' AND actor = 'coord-a' AND role = 'site_staff'"
        )
        >= 1
    )
    # The consent and the ResearchSubject wait in the outbox, as valid R4.
    with trial.database.engine.connect() as connection:
        payloads = connection.exec_driver_sql(
            "SELECT resource_type, operation, payload FROM outbox_message ORDER BY id"
        ).all()
    assert [(kind, op) for kind, op, _ in payloads] == [
        ("Consent", "create"),
        ("ResearchSubject", "upsert"),
    ]
    subject = orjson.loads(payloads[1][2])
    assert subject["identifier"][0]["value"] == "A1-0001" and subject["status"] == "eligible"
    assert "assignedArm" not in subject  # a double-blind study
    for _, _, payload in payloads:
        assert resources.validate_r4(payload) == []
        resources.parse_resource(orjson.loads(payload))


def test_refusal_names_each_failing_and_unknown_criterion_with_evidence(trial: SiteTrial) -> None:
    record_consent(trial, "p-anemic")
    before = snapshot(trial)
    with pytest.raises(errors.BadInputError) as refused:
        do_enroll(trial, "p-anemic")
    details = refused.value.details
    assert "IN02 (inclusion) is not met" in details
    assert "Observation/p-anemic-hb/_history/1 Hemoglobin 7.5 g/dL on 2027-02-26" in details
    assert (
        "IN03 (inclusion) needs the investigator's confirmation (--confirm IN03=yes|no)" in details
    )
    assert snapshot(trial) == before
    record_consent(trial, "p-nolab")
    with pytest.raises(errors.BadInputError, match="1 criterion") as unknown:
        do_enroll(trial, "p-nolab", "IN03=yes")
    assert "IN02 (inclusion) cannot be decided from the EHR (no data in the record)" in (
        unknown.value.details
    )
    assert "no data found" in unknown.value.details


def test_the_investigator_can_refuse_a_criterion_the_data_cannot_judge(trial: SiteTrial) -> None:
    record_consent(trial, "p-ok")
    with pytest.raises(errors.BadInputError, match="cannot be enrolled") as refused:
        do_enroll(trial, "p-ok", "IN03=no")
    assert "IN03 (inclusion) is not met, as the investigator confirmed" in refused.value.details


def test_override_by_the_principal_investigator_records_a_deviation(trial: SiteTrial) -> None:
    record_consent(trial, "p-anemic")
    with pytest.raises(errors.BadInputError, match="coord-a may not enroll an ineligible patient"):
        do_enroll(trial, "p-anemic", "IN03=yes", override="transfusion planned")
    result = do_enroll(trial, "p-anemic", "IN03=yes", user="pi-a", override="transfusion planned")
    assert result.deviation_id is not None and result.overridden
    with trial.database.engine.connect() as connection:
        kind, severity, description = connection.exec_driver_sql(
            "SELECT kind, severity, description FROM deviation"
        ).one()
    assert (kind, severity) == ("ineligible_enrolled", "major")
    assert "IN02" in description and "transfusion planned" in description


@pytest.mark.parametrize(
    ("patient", "confirm", "kwargs", "message"),
    [
        ("nobody", ("IN03=yes",), {}, "unknown patient 'nobody' in OTHER-01"),
        ("p-b-ok", ("IN03=yes",), {}, "patient 'p-b-ok' is a patient of site B2, not A1"),
        ("p-ok", ("IN03",), {}, "--confirm 'IN03': expected CRITERION=yes or CRITERION=no"),
        ("p-ok", ("IN02=yes",), {}, "IN02 is decided from the EHR"),
        ("p-ok", ("IN09=yes",), {}, "no criterion 'IN09'"),
        ("p-ok", ("IN03=yes",), {"investigator": "coord-a"}, "is no investigator of site A1"),
        ("p-ok", ("IN03=yes",), {"investigator": "ghost"}, "'ghost' is not an edc user"),
        ("p-ok", ("IN03=yes",), {"site": "B2"}, "coord-a may not enroll at site B2"),
        ("p-stale", ("IN03=yes",), {}, "patient 'p-stale' has no recorded consent"),
    ],
)
def test_bad_input_gets_exit_2_naming_what_and_changes_nothing(
    trial: SiteTrial,
    patient: str,
    confirm: tuple[str, ...],
    kwargs: dict[str, str],
    message: str,
) -> None:
    record_consent(trial, "p-ok")
    before = snapshot(trial)
    with pytest.raises(errors.BadInputError, match=message) as caught:
        do_enroll(trial, patient, *confirm, **kwargs)  # type: ignore[arg-type]
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    assert snapshot(trial) == before


def test_duplicate_enrollment_and_consent_after_enrollment_time(trial: SiteTrial) -> None:
    record_consent(trial, "p-ok")
    do_enroll(trial, "p-ok", "IN03=yes")
    with pytest.raises(errors.BadInputError, match="already enrolled as subject A1-0001"):
        do_enroll(trial, "p-ok", "IN03=yes")
    # A consent dated after the moment of enrollment is refused.
    with trial.workspace("coord-a") as workspace:
        with pytest.raises(errors.BadInputError, match="in the future"):
            consent.record(
                workspace,
                consent.ConsentRequest(
                    study=STUDY,
                    patient="p-boundary",
                    signed=dt.date(2027, 3, 5),
                    form_version="2.1",
                    obtained_by="Dr. Alpha",
                ),
            )


def test_two_coordinators_enrolling_at_once_get_two_numbers(trial: SiteTrial) -> None:
    for patient in ("p-ok", "p-boundary"):
        record_consent(trial, patient)
    results: list[enroll.EnrollResult] = []
    errors_seen: list[BaseException] = []

    def worker(patient: str, user: str) -> None:
        try:
            results.append(do_enroll(trial, patient, "IN03=yes", user=user))
        except BaseException as exc:
            errors_seen.append(exc)

    threads = [
        threading.Thread(target=worker, args=("p-ok", "coord-a")),
        threading.Thread(target=worker, args=("p-boundary", "inv-a")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors_seen == []
    assert sorted(r.subject for r in results) == ["A1-0001", "A1-0002"]

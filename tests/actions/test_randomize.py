"""`edc randomization open|verify`, `edc randomize`, `edc unblind`, and the visit plan."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import orjson
import pytest

from edc import errors
from edc.actions import audit, casebook, consent, enroll, randomize, screen, unblind, visits
from edc.warehouse import guard
from tests.actions.sitetrial import (
    MINIMIZATION,
    OPEN_LABEL,
    SCREENING,
    STUDY,
    SiteTrial,
    make_site_trial,
)
from tests.fixtures.database import Database


def enrolled(trial: SiteTrial, patient: str, frailty: str | None = "fit") -> str:
    with trial.workspace("coord-a") as workspace:
        consent.record(
            workspace,
            consent.ConsentRequest(
                study=STUDY, patient=patient, signed=dt.date(2027, 3, 1),
                form_version="2.1", obtained_by="Dr. Alpha",
            ),
        )  # fmt: skip
        subject = enroll.enroll(
            workspace,
            enroll.EnrollRequest(
                study=STUDY, patient=patient, site="A1", investigator="inv-a", confirm=("IN03=yes",)
            ),
        ).subject
    if frailty is not None:
        trial.frailty_form(patient, frailty)
        trial.sync()
    return subject


def opened(trial: SiteTrial, tmp_path: Path) -> Path:
    seed = tmp_path / "seed.hex"
    with trial.workspace("unblinded") as workspace:
        randomize.open_randomization(workspace, STUDY, seed)
    return seed


def randomized(trial: SiteTrial, subject: str, user: str = "coord-a") -> randomize.RandomizeResult:
    with trial.workspace(user) as workspace:
        return randomize.randomize(workspace, STUDY, subject)


def screened(trial: SiteTrial) -> SiteTrial:
    with trial.workspace("dm") as workspace:
        screen.screen(workspace, screen.ScreenRequest(study=STUDY, as_of=SCREENING))
    return trial


@pytest.fixture
def trial(database: Database, tmp_path: Path) -> SiteTrial:
    return screened(make_site_trial(database, tmp_path))


def test_open_commits_before_anyone_is_randomized(trial: SiteTrial, tmp_path: Path) -> None:
    seed = tmp_path / "seed.hex"
    with (
        trial.workspace("stat") as workspace,
        pytest.raises(errors.BadInputError, match="stat may not open randomization"),
    ):
        randomize.open_randomization(workspace, STUDY, seed)
    assert not seed.exists()
    with trial.workspace("unblinded") as workspace:
        result = randomize.open_randomization(workspace, STUDY, seed)
    assert (result.method, result.strata) == ("permuted-block", 4)  # 2 sites x 2 frailty levels
    assert stat.S_IMODE(seed.stat().st_mode) == 0o600 and len(seed.read_text().strip()) == 64
    (audited,) = trial.rows(
        "SELECT new_value, actor, role FROM audit_event WHERE table_name = 'randomization_scheme'"
    )
    assert orjson.loads(audited[0])["commitment"] == result.commitment
    assert audited[1:] == ("unblinded", "unblinded_statistician")
    # The lists are not in the audit trail (blinded readers of it would see every arm).
    assert trial.count("audit_event", "table_name = 'randomization_slot'") == 0
    with (
        trial.workspace("unblinded") as workspace,
        pytest.raises(errors.BadInputError, match="open already"),
    ):
        randomize.open_randomization(workspace, STUDY, tmp_path / "again.hex")


def test_randomize_allocates_masks_the_arm_and_plans_the_visits(
    trial: SiteTrial, tmp_path: Path
) -> None:
    seed = opened(trial, tmp_path)
    first, second = enrolled(trial, "p-ok"), enrolled(trial, "p-boundary", "frail")
    one = randomized(trial, first)
    two = randomized(trial, second, user="inv-a")
    assert (one.sequence, two.sequence) == (1, 2)
    assert (one.stratum, two.stratum) == ("site=A1|frailty=fit", "site=A1|frailty=frail")
    # Double-blind: neither the coordinator nor the investigator sees the arm.
    assert one.arm == two.arm == "(blinded)"
    assert trial.rows("SELECT status FROM subject ORDER BY id") == [("on-study",), ("on-study",)]
    # Consent 2027-03-01, randomized on 2027-03-02 (the clock): first dose planned a day later.
    plan = trial.rows(
        "SELECT visit_id, target_date, window_low, window_high, anchor_id, anchor_actual "
        "FROM planned_visit WHERE subject_id = (SELECT id FROM subject WHERE subject_code = "
        f"'{first}') ORDER BY target_date"
    )
    assert [row[0] for row in plan] == ["SCR", "D1", "W2"]
    assert str(plan[1][1]) == "2027-03-03" and str(plan[2][1]) == "2027-03-17"
    assert plan[0][4:] == ("consent", True) and plan[2][4] == "treatment"
    # The ResearchSubject waiting for the EHR has no arm: the study is blinded.
    (payload,) = trial.rows(
        "SELECT payload FROM outbox_message WHERE status = 'pending' AND identifier_value = "
        f"'{first}'"
    )
    assert orjson.loads(payload[0])["status"] == "on-study"
    assert "assignedArm" not in orjson.loads(payload[0])
    with trial.workspace("unblinded") as workspace:
        assert randomize.verify(workspace, STUDY, seed).allocations == 2


def test_bad_input_is_refused_and_writes_nothing(trial: SiteTrial, tmp_path: Path) -> None:
    with pytest.raises(errors.BadInputError, match="randomization of OTHER-01 is not open"):
        randomized(trial, "A1-0001")
    opened(trial, tmp_path)
    subject = enrolled(trial, "p-ok", frailty=None)
    before = trial.count("audit_event")
    with pytest.raises(errors.BadInputError, match="no subject 'A1-0099'"):
        randomized(trial, "A1-0099")
    with pytest.raises(
        errors.BadInputError,
        match=f"subject {subject}: stratification factor frailty has no value "
        r"\(form frailty, item frailty: no completed form",
    ):
        randomized(trial, subject)
    with pytest.raises(errors.BadInputError, match="coord-b may not randomize at site A1"):
        randomized(trial, subject, user="coord-b")
    assert trial.count("audit_event") == before and trial.count("allocation") == 0
    trial.frailty_form("p-ok", "fit")
    trial.sync()
    randomized(trial, subject)
    with pytest.raises(errors.BadInputError, match=f"subject {subject} is already randomized"):
        randomized(trial, subject)
    assert trial.count("allocation") == 1


def test_a_subject_without_consent_is_not_randomized(trial: SiteTrial, tmp_path: Path) -> None:
    # A site enrolled this patient in its own system: the ResearchSubject arrives by sync, with
    # no Consent anywhere.
    trial.add(
        "ResearchSubject",
        {
            "resourceType": "ResearchSubject",
            "id": "rs-b",
            "meta": {"versionId": "1", "lastUpdated": "2027-03-01T10:00:00+01:00"},
            "identifier": [{"system": "https://edc.example.org/fhir/sid/subject/OTHER-01",
                            "value": "B2-7001"}],
            "status": "on-study",
            "study": {"reference": "ResearchStudy/other-01-site-b2-1.0"},
            "individual": {"reference": "Patient/p-b-ok"},
        },
    )  # fmt: skip
    trial.frailty_form("p-b-ok", "fit")
    trial.sync()
    opened(trial, tmp_path)
    with pytest.raises(errors.BadInputError, match="subject B2-7001 has no recorded consent"):
        randomized(trial, "B2-7001", user="coord-b")
    assert trial.count("allocation") == 0


def test_verify_fails_on_a_wrong_seed_and_on_a_changed_allocation(
    trial: SiteTrial, tmp_path: Path
) -> None:
    seed = opened(trial, tmp_path)
    randomized(trial, enrolled(trial, "p-ok"))
    other = tmp_path / "other.hex"
    other.write_text("ab" * 32)
    with (
        trial.workspace("unblinded") as workspace,
        pytest.raises(errors.CheckFailedError, match="does not match OTHER-01's commitment"),
    ):
        randomize.verify(workspace, STUDY, other)
    # Someone with database access changes the arm behind edc's back (on PostgreSQL, someone
    # who also knows how to pass the write guard: verify must catch what the guard cannot).
    with trial.database.engine.begin() as connection:
        guard.allow_audited_writes(connection)
        connection.exec_driver_sql(
            "UPDATE allocation SET arm = CASE WHEN arm = 'ARM-A' THEN 'ARM-B' ELSE 'ARM-A' END"
        )
    with (
        trial.workspace("unblinded") as workspace,
        pytest.raises(errors.CheckFailedError) as failed,
    ):
        randomize.verify(workspace, STUDY, seed)
    assert failed.value.exit_code == errors.EXIT_CHECK_FAILED
    assert "sequence 1 (subject A1-0001): allocated" in failed.value.details
    # A blinded statistician verifying learns that it differs, not the arms.
    with trial.workspace("stat") as workspace, pytest.raises(errors.CheckFailedError) as masked:
        randomize.verify(workspace, STUDY, seed)
    assert "the arm differs from the committed list" in masked.value.details
    assert "ARM-" not in masked.value.details


def test_emergency_unblinding_is_for_the_sites_investigator_and_audited(
    trial: SiteTrial, tmp_path: Path
) -> None:
    opened(trial, tmp_path)
    subject = enrolled(trial, "p-ok")
    randomized(trial, subject)
    for user in ("coord-a", "monitor", "inv-b"):
        with trial.workspace(user) as workspace, pytest.raises(errors.BadInputError):
            unblind.unblind(workspace, STUDY, subject, "anaphylaxis")
    with trial.workspace("inv-a") as workspace:
        revealed = unblind.unblind(workspace, STUDY, subject, "anaphylaxis")
    assert revealed.arm in ("ARM-A", "ARM-B", "ARM-C")
    (row,) = trial.rows(
        "SELECT actor, role, reason FROM audit_event WHERE table_name = 'unblinding'"
    )
    assert row == ("inv-a", "investigator", "anaphylaxis")


def test_minimization_study_randomizes_from_the_stored_draws(
    database: Database, tmp_path: Path
) -> None:
    trial = screened(make_site_trial(database, tmp_path, changes=MINIMIZATION))
    seed = opened(trial, tmp_path)
    subjects = [
        enrolled(trial, p, level) for p, level in (("p-ok", "fit"), ("p-boundary", "frail"))
    ]
    results = [randomized(trial, s) for s in subjects]
    assert [r.sequence for r in results] == [1, 2] and {r.stratum for r in results} == {None}
    assert trial.count("randomization_draw") == 80  # twice the target enrollment
    with trial.workspace("unblinded") as workspace:
        assert randomize.verify(workspace, STUDY, seed).allocations == 2


def test_open_label_arm_reaches_the_ehr_and_the_coordinator(
    database: Database, tmp_path: Path
) -> None:
    trial = screened(make_site_trial(database, tmp_path, changes=OPEN_LABEL))
    opened(trial, tmp_path)
    result = randomized(trial, enrolled(trial, "p-ok"))
    assert result.arm in ("ARM-A", "ARM-B", "ARM-C")
    (payload,) = trial.rows("SELECT payload FROM outbox_message WHERE status = 'pending' "
                            "AND resource_type = 'ResearchSubject'")  # fmt: skip
    assert orjson.loads(payload[0])["assignedArm"] == result.arm


def test_the_plan_moves_when_the_anchor_happens(trial: SiteTrial, tmp_path: Path) -> None:
    opened(trial, tmp_path)
    subject = enrolled(trial, "p-ok")
    randomized(trial, subject)
    # The first dose is given two days later than planned: a completed Procedure in the EHR.
    trial.add(
        "Procedure",
        {
            "resourceType": "Procedure", "id": "p-ok-dose", "status": "completed",
            "meta": {"versionId": "1", "lastUpdated": "2027-03-05T12:00:00+01:00"},
            "code": {"text": "First dose"}, "subject": {"reference": "Patient/p-ok"},
            "performedDateTime": "2027-03-05T09:00:00+01:00",
        },
    )  # fmt: skip
    trial.sync()
    trial.clock.advance(dt.timedelta(days=20))  # 2027-03-22: W2's window ends 2027-03-23
    with trial.workspace("monitor") as workspace:
        worklist = visits.worklist(workspace, visits.VisitsRequest(study=STUDY))
    # D1 and W2 follow the real first dose: the monitoring run after the sync moved them
    # already, so the worklist finds nothing more to move.
    assert worklist.moved == 0
    moved = trial.rows(
        "SELECT count(DISTINCT record_id) FROM audit_event WHERE table_name = 'planned_visit' "
        "AND action = 'update'"
    )
    assert moved == [(2,)]
    lines = {line.visit: line for line in worklist.visits}
    assert str(lines["W2"].target) == "2027-03-19" and lines["W2"].anchor_actual
    assert lines["W2"].status == "due" and lines["D1"].status == "overdue"
    assert lines["SCR"].status == "overdue"  # no Encounter recorded the screening visit
    with trial.workspace("coord-a") as workspace:
        due = visits.worklist(workspace, visits.VisitsRequest(study=STUDY, overdue=True))
    assert {line.visit for line in due.visits} == {"SCR", "D1"}
    (reason,) = trial.rows(
        "SELECT DISTINCT reason FROM audit_event WHERE table_name = 'planned_visit' "
        "AND action = 'update'"
    )
    assert reason == ("an anchor event took place",)


def test_the_audit_trail_shows_arms_only_to_who_may_see_them(
    trial: SiteTrial, tmp_path: Path
) -> None:
    opened(trial, tmp_path)
    subject = enrolled(trial, "p-ok")
    randomized(trial, subject)
    (allocation_id,) = trial.rows("SELECT id FROM allocation")

    def arm_seen(user: str) -> str:
        settings = trial.settings.model_copy(update={"user": user})
        (insert,) = audit.history(settings, f"allocation:{allocation_id[0]}")
        from_record = orjson.loads(insert.new_value or "{}")["arm"]
        book = casebook.casebook(settings, subject, study=STUDY)
        (in_book,) = [e for e in book if e.record.startswith("allocation:")]
        assert orjson.loads(in_book.new_value or "{}")["arm"] == from_record
        return str(from_record)

    assert arm_seen("monitor") == arm_seen("coord-a") == "(blinded)"  # double-blind
    assert arm_seen("unblinded").startswith("ARM-")

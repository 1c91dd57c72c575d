"""`edc screen`: per patient and criterion, with evidence; at the patient's own site only."""

from __future__ import annotations

from pathlib import Path

import pytest

from edc import errors
from edc.actions import screen
from tests.actions.sitetrial import SCREENING, STUDY, SiteTrial, hemoglobin, make_site_trial
from tests.fixtures.database import Database


@pytest.fixture
def trial(database: Database, tmp_path: Path) -> SiteTrial:
    return make_site_trial(database, tmp_path)


def run(trial: SiteTrial, user: str = "coord-a", **options: object) -> screen.ScreenResult:
    request = screen.ScreenRequest(study=STUDY, as_of=SCREENING, **options)  # type: ignore[arg-type]
    with trial.workspace(user) as workspace:
        return screen.screen(workspace, request)


def by_patient(result: screen.ScreenResult) -> dict[str, screen.PatientLine]:
    return {line.patient: line for line in result.patients}


def test_screening_data_is_kept_apart_from_trial_data(trial: SiteTrial) -> None:
    # Nobody consented: the EHR data is kept for screening, none of it is trial data.
    assert trial.count("screening_resource", "resource_type = 'Patient'") == 9
    assert trial.count("raw_resource", "resource_type IN ('Patient', 'Observation')") == 0
    assert trial.count("audit_event", "table_name = 'screening_resource'") == 0


def test_each_criterion_is_decided_with_its_evidence(trial: SiteTrial) -> None:
    result = run(trial, site="A1")
    lines = by_patient(result)
    assert set(lines) == {"p-ok", "p-anemic", "p-nolab", "p-stale", "p-boundary", "p-pregnant"}
    assert lines["p-ok"].status == "candidate" and not lines["p-ok"].failed
    (anemic,) = lines["p-anemic"].failed
    assert anemic.criterion_id == "IN02" and anemic.result == "not_met"
    assert anemic.evidence == (
        "Observation/p-anemic-hb/_history/1 Hemoglobin 7.5 g/dL on 2027-02-26",
    )
    (pregnant,) = lines["p-pregnant"].failed
    assert pregnant.criterion_id == "EX01" and pregnant.result == "met"
    assert pregnant.evidence[0].startswith("Condition/p-pregnant-pregnancy/_history/1 Pregnancy")
    # No lab, and a lab from outside the window: unknown, not a pass and not a failure.
    for pid in ("p-nolab", "p-stale"):
        assert lines[pid].status == "undetermined"
        assert [c.criterion_id for c in lines[pid].undecided] == ["IN02"]
    # Candidates first, then undetermined, then screen failures.
    statuses = [line.status for line in result.patients]
    assert statuses == sorted(statuses, key=["candidate", "undetermined", "screen failure"].index)


def test_a_fact_dated_exactly_on_the_window_boundary_counts(trial: SiteTrial) -> None:
    # Hemoglobin taken at 23:10 exactly 30 days before screening: inside "within 30 days".
    lines = by_patient(run(trial, site="A1"))
    assert lines["p-boundary"].status == "candidate"
    assert lines["p-stale"].status == "undetermined"  # 31 days: outside


def test_consort_numbers_per_site(trial: SiteTrial) -> None:
    result = run(trial, "dm")  # a data manager screens every site
    numbers = {site.site: site for site in result.sites}
    assert (numbers["A1"].assessed, numbers["A1"].eligible) == (6, 2)
    assert numbers["A1"].ineligible == 2 and numbers["A1"].undetermined == 2
    assert numbers["A1"].excluded_by_criterion == {"EX01": 1, "IN02": 1}
    assert numbers["B2"].excluded_by_criterion == {"IN01": 1}
    # The patient whose hospital is no site of the study is screened nowhere.
    assert "p-nosite" not in by_patient(result)


def test_rerun_keeps_unchanged_patients_and_updates_with_new_data(trial: SiteTrial) -> None:
    first = run(trial, site="A1")
    assert (first.evaluated, first.unchanged) == (6, 0)
    again = run(trial, site="A1")
    assert (again.evaluated, again.unchanged) == (0, 6)
    # A new hemoglobin for the patient without a lab arrives: only that patient changes.
    with (trial.export / "Observation.ndjson").open("ab") as export:
        import orjson

        export.write(orjson.dumps(hemoglobin("p-nolab", 9.4, 1)) + b"\n")
    trial.sync()
    third = run(trial, site="A1")
    assert (third.evaluated, third.unchanged) == (1, 5)
    assert by_patient(third)["p-nolab"].status == "candidate"
    assert by_patient(third)["p-nolab"].data_seen["resources"] == 2


def test_screening_data_stays_at_its_site(trial: SiteTrial) -> None:
    with pytest.raises(errors.BadInputError, match="coord-b may not screen at site A1"):
        run(trial, "coord-b", site="A1")
    # Without --site a coordinator screens their own site only.
    assert {line.site for line in run(trial, "coord-b").patients} == {"B2"}
    with pytest.raises(errors.BadInputError, match="monitor may not screen"):
        run(trial, "monitor")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"site": "ZZ"}, "OTHER-01 has no site 'ZZ'"),
        ({"patients": ("nobody",)}, "no screening data for patient\\(s\\) nobody"),
    ],
)
def test_bad_input_names_what_and_writes_nothing(
    trial: SiteTrial, options: dict[str, object], message: str
) -> None:
    with pytest.raises(errors.BadInputError, match=message):
        run(trial, "dm", **options)
    assert trial.count("screening_record") == 0


def test_purge_keeps_counts_and_removes_non_consented_data(trial: SiteTrial) -> None:
    run(trial, "dm")
    trial.clock.advance(__import__("datetime").timedelta(days=100))
    with trial.workspace("pi-a") as workspace:
        purged = screen.purge(workspace, STUDY, "A1", screen.parse_age("90d"))
    assert purged.purged.patients == 6
    assert trial.count("screening_record", "site_id = (SELECT id FROM site WHERE code = 'A1')") == 0
    assert trial.count("screening_resource", "patient_id = 'p-ok'") == 0
    assert trial.count("screening_resource", "patient_id = 'p-b-ok'") == 2  # other site kept
    numbers = {s.site: s for s in run(trial, "dm", listing=False).sites}
    assert (numbers["A1"].assessed, numbers["A1"].eligible) == (6, 2)
    assert numbers["A1"].excluded_by_criterion == {"EX01": 1, "IN02": 1}
    assert trial.count("audit_event", "table_name = 'screening_tally'") == 1

"""The generator on studies it was not written for: small protocols of other shapes, written in a
temporary directory with their profiles, generated, synced, and checked against the profiles.

* OTHER-01: three arms 2:1:1, double-blind, a study-defined form with its own score and skip
  logic, KPS whose target moves by arm and visit, a criterion on a laboratory value the
  population model does not know (haemoglobin), adverse events in two arms only and the test
  SAE placed in ARM-B by the profile.
* OPEN-01: two arms, open-label, the control arm with no procedure and no adverse events, a
  study-specific numeric item with a target by arm.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edc.cli import main
from tests.synth.conftest import Run, run_generate

DATA = Path(__file__).parents[1] / "data" / "protocols"

STUDY_FORMS = """\
  - {id: kps, instrument: kps}
  - id: wellbeing
    title: Well-being
    items:
      - {id: mood, text: Mood today (0-10), type: integer, required: true, min: 0, max: 10}
      - {id: sleep, text: Sleep quality (0-10), type: integer, required: true, min: 0, max: 10}
      - {id: fell, text: Any fall since the last visit?, type: boolean, required: true}
      - id: fall-injury
        text: Injury from the fall
        type: choice
        required: true
        options: [{code: none, display: None}, {code: minor, display: Minor}]
        enable_when: [{question: fell, operator: "=", answer: true}]
    scores:
      - id: wellbeing-total
        text: Well-being (0-20)
        type: integer
        expression: >-
          %resource.repeat(item).where(linkId = 'mood' or linkId = 'sleep').answer.value
          .aggregate($this + $total, 0)
"""

OTHER_PROFILE = """\
format: 1
study: OTHER-01
eligibility:
  IN01: {rule: age-at-least, value: 18}
  IN03: {rule: investigator, share: 0.05}
targets:
  kps.kps-score:
    source: test
    visits: {D1: {mean: 70, sd: 8, min: 40, max: 100}}
    arms:
      ARM-A: {W2: {mean: 85, sd: 7, min: 40, max: 100}}
      ARM-C: {W2: {mean: 60, sd: 7, min: 40, max: 100}}
  wellbeing.mood:
    source: test
    arms:
      ARM-A: {D1: {mean: 7.5, sd: 1.0, min: 0, max: 10}, W2: {mean: 8, sd: 1, min: 0, max: 10}}
      ARM-B: {D1: {mean: 5, sd: 1.0, min: 0, max: 10}, W2: {mean: 5, sd: 1, min: 0, max: 10}}
      ARM-C: {D1: {mean: 3, sd: 1.0, min: 0, max: 10}, W2: {mean: 3, sd: 1, min: 0, max: 10}}
answers:
  wellbeing.fell: {"*": {"true": 0.4, "false": 0.6}}
adverse_events:
  - {term: Fatigue, rate: {ARM-A: 0.5, ARM-B: 0.5}, grades: {1: 0.7, 2: 0.3}, source: test}
  - {term: Anemia, rate: {ARM-A: 0.2, ARM-B: 0.2}, grades: {2: 0.5, 3: 0.5}, source: test}
test_sae: {arm: ARM-B, term: Anemia, source: test}
"""


def other_protocol() -> str:
    text = (DATA / "three-arm-blinded.yaml").read_text()
    text = text.replace("forms: [pain]}", "forms: [pain, kps, wellbeing]}")
    text = text.replace("forms: [pain, ae]}", "forms: [pain, kps, wellbeing, ae]}")
    return text.replace(
        "forms:\n  - {id: pain, instrument: nrs-pain}\n",
        "forms:\n  - {id: pain, instrument: nrs-pain}\n" + STUDY_FORMS,
    )


def write_study(directory: Path, name: str, protocol: str, profile: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(protocol)
    (directory / f"{name}.synthetic.yaml").write_text(profile)
    return path


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    root = tmp_path_factory.mktemp("other")
    path = write_study(root / "study", "other-01", other_protocol(), OTHER_PROFILE)
    assert main(["protocol", "check", str(path)]) == 0
    return path, run_generate(root / "out", path, 260, seed=3, workers=1)


def answers(response: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def walk(items: list[dict[str, Any]]) -> Iterator[None]:
        for item in items:
            for answer in item.get("answer", ()):
                value = next(v for k, v in answer.items() if k.startswith("value"))
                found[item["linkId"]] = value["code"] if isinstance(value, dict) else value
            yield from walk(item.get("item", []))

    list(walk(response.get("item", [])))
    return found


def by_form(run: Run) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """form id -> (arm, visit id, answers) of every response (the instance identifier is
    ``<study>.<subject>.<visit>.<form>.<n>``)."""
    arm_of = {row["patient"]: row["arm"] for row in run.truth("allocations")}
    result: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for response in run.resources("QuestionnaireResponse"):
        _, _, visit, form, _ = response["identifier"]["value"].split(".")
        patient = response["subject"]["reference"].split("/", 1)[1]
        result[form].append((arm_of.get(patient, ""), visit, answers(response)))
    return result


def values(
    rows: list[tuple[str, str, dict[str, Any]]], arm: str, visit: str, item: str
) -> list[Any]:
    return [
        a[item] for r_arm, r_visit, a in rows if r_arm == arm and r_visit == visit and item in a
    ]


def test_three_arms_are_allocated_two_to_one_to_one(other: tuple[Path, Run]) -> None:
    arms = [row["arm"] for row in other[1].truth("allocations")]
    assert len(arms) > 120
    share = {arm: arms.count(arm) / len(arms) for arm in ("ARM-A", "ARM-B", "ARM-C")}
    assert share["ARM-A"] == pytest.approx(0.5, abs=0.08)
    assert share["ARM-B"] == pytest.approx(0.25, abs=0.08)
    assert share["ARM-C"] == pytest.approx(0.25, abs=0.08)


def test_kps_follows_its_target_by_arm_and_visit(other: tuple[Path, Run]) -> None:
    kps = by_form(other[1])["kps"]
    assert statistics.mean(values(kps, "ARM-A", "D1", "kps-score")) == pytest.approx(70, abs=5)
    week2_a = values(kps, "ARM-A", "W2", "kps-score")
    week2_c = values(kps, "ARM-C", "W2", "kps-score")
    assert statistics.mean(week2_a) == pytest.approx(85, abs=5)
    assert statistics.mean(week2_c) == pytest.approx(60, abs=6)
    assert all(v % 10 == 0 for v in week2_a + week2_c)  # KPS options, scored by the library


def test_a_study_defined_form_follows_its_profile_and_its_score_is_computed(
    other: tuple[Path, Run],
) -> None:
    rows = by_form(other[1])["wellbeing"]
    assert len(rows) > 150
    for arm, mean in (("ARM-A", 8), ("ARM-B", 5), ("ARM-C", 3)):
        assert statistics.mean(values(rows, arm, "W2", "mood")) == pytest.approx(mean, abs=0.7)
    for _, _, given in rows:
        assert given["wellbeing-total"] == given["mood"] + given["sleep"]
        assert 0 <= given["sleep"] <= 10
    # Without a target the value is plausible within min/max, not uniform: the middle is
    # commoner than the ends.
    sleep = [given["sleep"] for _, _, given in rows]
    assert sum(3 <= v <= 7 for v in sleep) > 2 * sum(v in (0, 1, 9, 10) for v in sleep)


def test_skip_logic_and_required_items_hold_on_every_response(other: tuple[Path, Run]) -> None:
    rows = by_form(other[1])["wellbeing"]
    fell = [given for _, _, given in rows if given["fell"] is True]
    assert 0.3 < len(fell) / len(rows) < 0.5
    for _, _, given in rows:
        assert ("fall-injury" in given) == (given["fell"] is True)


def test_adverse_events_only_where_the_profile_puts_them_and_the_test_sae_in_arm_b(
    other: tuple[Path, Run],
) -> None:
    run = other[1]
    arm_of = {row["patient"]: row["arm"] for row in run.truth("allocations")}
    events = run.resources("AdverseEvent")
    arms = {arm_of[e["subject"]["reference"].split("/", 1)[1]] for e in events}
    assert arms == {"ARM-A", "ARM-B"}
    serious_late = [
        e
        for e in events
        if e.get("seriousness", {}).get("coding", [{}])[0].get("code") == "serious"
    ]
    assert serious_late, "the run has no serious event"
    first_b = min(
        (row for row in run.truth("allocations") if row["arm"] == "ARM-B"),
        key=lambda row: row["consent_date"],
    )
    assert any(e["subject"]["reference"].endswith(first_b["patient"]) for e in serious_late)


def test_a_laboratory_criterion_is_decided_from_synthesized_results_and_the_rest_reported(
    other: tuple[Path, Run],
) -> None:
    run = other[1]
    patients = run.truth("patients")
    failed_hb = [p for p in patients if "IN02" in p["failed"]]
    assert 0 < len(failed_hb) < 0.2 * len(patients)  # Hb < 9 g/dL in a few
    hemoglobin = [
        o for o in run.resources("Observation") if o["code"]["coding"][0]["code"] == "718-7"
    ]
    assert len(hemoglobin) == len(patients)
    assert not any("undecided" in p for p in patients)  # every criterion had a rule or data


def test_the_generated_study_syncs_with_its_study_specific_items_and_scores(
    other: tuple[Path, Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    database = tmp_path / "warehouse.sqlite"
    monkeypatch.setenv("EDC_DATABASE_URL", f"sqlite:///{database}")
    path, run = other
    assert main(["db", "upgrade"]) == 0
    assert main(["protocol", "register", str(path)]) == 0
    assert main(["sync", "--study", "OTHER-01", "--source", str(run.out), "--strict"]) == 0
    with sqlite3.connect(database) as db:
        subjects = db.execute("select count(*) from subject").fetchone()[0]
        totals = db.execute(
            "select count(*), sum(i.value_number = m.value_number + s.value_number) "
            "from item_value i join item_value m on m.response_id = i.response_id "
            "join item_value s on s.response_id = i.response_id "
            "where i.link_id = 'wellbeing-total' and m.link_id = 'mood' and s.link_id = 'sleep'"
        ).fetchone()
        strata = db.execute(
            "select count(distinct value_code) from item_value where link_id = 'frailty'"
        ).fetchone()[0]
    assert subjects == len(run.truth("allocations"))
    assert totals[0] > 150 and totals[0] == totals[1]  # the study's own score, in every form
    assert strata == 2


PROCEDURE_FORM = """\
  - id: proc
    title: Procedure
    items:
      - {id: volume, text: Cement volume (mL), type: decimal, min: 0, max: 30, unit: mL}
      - {id: complication, text: Any complication?, type: boolean, required: true}
"""

OPEN_PROFILE = """\
format: 1
study: MINI-01
targets:
  proc.volume:
    source: test
    arms: {ARM-A: {W1: {mean: 1.6, sd: 0.8, min: 0.2, max: 5}}}
answers:
  proc.volume: {ARM-B: null}  # the control arm has no procedure
adverse_events:
  - term: Radiculitis
    rate: {ARM-A: 0.3}
    grades: {1: 0.6, 3: 0.4}
    form_flag: proc.complication
    source: test
"""


@pytest.fixture(scope="module")
def open_label(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("open")
    text = (DATA / "minimal.yaml").read_text()
    text = text.replace("forms: [pain, odi, ae]}", "forms: [pain, odi, proc, ae]}")
    text = text.replace(
        "forms:\n  - {id: pain, instrument: nrs-pain}\n",
        "forms:\n  - {id: pain, instrument: nrs-pain}\n" + PROCEDURE_FORM,
    )
    path = write_study(root / "study", "open-01", text, OPEN_PROFILE)
    return run_generate(root / "out", path, 160, seed=8, workers=1)


def test_a_study_item_follows_its_target_in_the_arm_that_has_it(open_label: Run) -> None:
    rows = by_form(open_label)["proc"]
    volume_a = values(rows, "ARM-A", "W1", "volume")
    assert len(volume_a) > 25
    assert statistics.mean(float(v) for v in volume_a) == pytest.approx(1.6, abs=0.3)
    assert max(float(v) for v in volume_a) <= 5  # not 0-30 uniform
    assert values(rows, "ARM-B", "W1", "volume") == []


def test_adverse_events_flags_and_the_test_sae_stay_in_the_arm_the_profile_gives(
    open_label: Run,
) -> None:
    allocations = open_label.truth("allocations")
    arm_of = {row["patient"]: row["arm"] for row in allocations}
    events = open_label.resources("AdverseEvent")
    with_event = {e["subject"]["reference"].split("/", 1)[1] for e in events}
    assert {arm_of[p] for p in with_event} == {"ARM-A"}
    first_a = min((r for r in allocations if r["arm"] == "ARM-A"), key=lambda r: r["consent_date"])
    assert first_a["patient"] in with_event  # the test SAE: not the first subject, the first of A
    arm_of_subject = {row["subject"]: row["arm"] for row in allocations}
    for response in open_label.resources("QuestionnaireResponse"):
        _, subject, _, form, _ = response["identifier"]["value"].split(".")
        if form == "proc":
            patient = response["subject"]["reference"].split("/", 1)[1]
            flagged = answers(response)["complication"]
            assert flagged == (patient in with_event), subject
            assert arm_of_subject[subject] == "ARM-A" or flagged is False

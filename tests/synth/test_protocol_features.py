"""Protocol format features end to end, on one small study written in a temp dir, checked,
compiled, generated and synced:

* an arm-specific schedule: a procedure visit and a wound-check form in the intervention arm
  only, and a follow-up "day 0" that is the procedure day in ARM-A and the first radiotherapy
  fraction in ARM-B (the warehouse's visit plans and the deviation engine follow each arm's);
* a visit-specific item: the KPS band of a form used at baseline and week 1, asked at baseline
  only.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from edc.cli import main
from edc.compiler.naming import Naming
from edc.library import load_library
from edc.protocol import load_protocol
from edc.trial import deviations
from edc.warehouse.db import make_engine, make_sessionmaker
from tests.synth.conftest import Run, run_generate
from tests.synth.test_other_shapes import by_form, write_study

DATA = Path(__file__).parents[1] / "data" / "protocols"

EVENTS = (
    "    - {id: randomization, title: Randomization, anchor: consent, offset_days: 3,"
    " window: {low: 0, high: 14}}\n"
    "    - {id: procedure, title: Index procedure, anchor: randomization, offset_days: 2,"
    " window: {low: 0, high: 5}, arms: [ARM-A]}\n"
    "    - {id: rt-start, title: First radiotherapy fraction, anchor: randomization,"
    " offset_days: 5, window: {low: 0, high: 10}, arms: [ARM-B]}\n"
)
W1 = (
    "    - {id: PROC, title: Procedure day, anchor: procedure, offset_days: 0,"
    " window: {low: 0, high: 0}, forms: [proc, ae], arms: [ARM-A]}\n"
    "    - {id: W1, title: Week 1, anchor: procedure, offset_days: 7, window: {low: 5, high: 9},"
    " forms: [pain, odi, wound, ae], arm_anchors: {ARM-B: rt-start}}\n"
)
FORMS = """\
  - id: status
    title: Performance status
    items:
      - {id: kps, text: KPS (0-100), type: integer, required: true, min: 0, max: 100}
      - id: kps-band
        text: KPS band at baseline
        type: choice
        required: true
        visits: [BL]
        options: [{code: low, display: Below 70}, {code: high, display: 70 or more}]
  - id: proc
    title: Procedure record
    arms: [ARM-A]
    items:
      - {id: volume, text: Cement volume (mL), type: decimal, min: 0, max: 30, unit: mL}
  - id: wound
    title: Wound check
    arms: [ARM-A]
    items:
      - {id: healed, text: Wound healed?, type: boolean, required: true}
"""
PROFILE = "format: 1\nstudy: MINI-01\n"


def arm_protocol() -> str:
    text = (DATA / "minimal.yaml").read_text()
    start = text.index("    - {id: randomization,")
    text = text[:start] + EVENTS + text[text.index("  visits:", start) :]
    start = text.index("    - {id: W1,")
    text = text[:start] + W1 + text[text.index("\n", start) + 1 :]
    baseline = "forms: [pain, odi, eligibility]"
    text = text.replace(baseline, "forms: [pain, odi, status, eligibility]")
    text = text.replace("forms: [pain, odi, wound, ae]", "forms: [pain, odi, status, wound, ae]")
    return text.replace(
        "forms:\n  - {id: pain, instrument: nrs-pain}\n",
        "forms:\n  - {id: pain, instrument: nrs-pain}\n" + FORMS,
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    root = tmp_path_factory.mktemp("arms")
    path = write_study(root / "study", "arms-01", arm_protocol(), PROFILE)
    assert main(["protocol", "check", str(path)]) == 0
    return path, run_generate(root / "out", path, 120, seed=5, workers=1)


def test_the_compiled_schedule_says_which_arm_each_visit_form_and_anchor_is_for(
    study: tuple[Path, Run], tmp_path: Path
) -> None:
    out = tmp_path / "bundle.json"
    assert main(["protocol", "compile", str(study[0]), "--output", str(out)]) == 0
    resources = [e["resource"] for e in json.loads(out.read_text())["entry"]]
    soa = next(r for r in resources if r["resourceType"] == "PlanDefinition" and "soa" in r["id"])
    action = {a["id"]: a for a in soa["action"]}
    only_a = "%researchSubject.assignedArm in ('ARM-A')"
    assert action["PROC"]["condition"][0]["kind"] == "applicability"
    assert action["PROC"]["condition"][0]["expression"]["expression"] == only_a
    assert "condition" not in action["W1"]
    assert action["W1"]["selectionBehavior"] == "exactly-one"
    timing = {
        sub["condition"][0]["expression"]["expression"]: sub["relatedAction"][0]["actionId"]
        for sub in action["W1"]["action"]
    }
    assert timing == {only_a: "procedure", "%researchSubject.assignedArm in ('ARM-B')": "rt-start"}
    week1 = next(
        r for r in resources if r["resourceType"] == "PlanDefinition" and r["title"] == "Week 1"
    )
    conditions = {a["id"]: "condition" in a for a in week1["action"]}
    assert conditions == {
        "W1-pain": False,
        "W1-odi": False,
        "W1-status": False,
        "W1-wound": True,
        "W1-ae": False,
    }


def test_the_generator_gives_the_procedure_and_its_forms_to_the_intervention_arm_only(
    study: tuple[Path, Run],
) -> None:
    forms = by_form(study[1])
    assert {arm for arm, _, _ in forms["proc"]} == {"ARM-A"}
    assert {arm for arm, _, _ in forms["wound"]} == {"ARM-A"}
    assert {arm for arm, visit, _ in forms["pain"] if visit == "W1"} == {"ARM-A", "ARM-B"}
    visits = study[1].truth("visits")
    arm_of = {row["subject"]: row["arm"] for row in study[1].truth("allocations")}
    proc_arms = {arm_of.get(row["subject"]) for row in visits if row["visit"] == "PROC"}
    assert proc_arms == {"ARM-A"}


def test_the_warehouse_plans_each_arm_from_its_own_day_0_and_flags_nothing_for_the_other_arm(
    study: tuple[Path, Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "warehouse.sqlite"
    monkeypatch.setenv("EDC_DATABASE_URL", f"sqlite:///{database}")
    path, run = study
    assert main(["db", "upgrade"]) == 0
    assert main(["protocol", "register", str(path)]) == 0
    assert main(["sync", "--study", "MINI-01", "--source", str(run.out), "--strict"]) == 0
    with sqlite3.connect(database) as db:
        plans = db.execute(
            "select a.arm, p.visit_id, p.anchor_id, count(*) from planned_visit p "
            "join allocation a on a.subject_id = p.subject_id group by 1, 2, 3"
        ).fetchall()
        found_now = db.execute(
            "select a.arm, d.kind, d.fingerprint from deviation d "
            "join allocation a on a.subject_id = d.subject_id"
        ).fetchall()
    planned = {(arm, visit): anchor for arm, visit, anchor, _ in plans}
    assert planned[("ARM-A", "PROC")] == "procedure"
    assert ("ARM-B", "PROC") not in planned
    assert planned[("ARM-A", "W1")] == "procedure"
    assert planned[("ARM-B", "W1")] == "rt-start"
    for arm, kind, fingerprint in found_now:
        if arm == "ARM-B":
            assert "PROC" not in fingerprint and ":W1:wound" not in fingerprint, (kind, fingerprint)

    # Years later every window has closed: the engine finds missed visits and missing forms
    # by each arm's own schedule (none for the procedure or the wound check in ARM-B).
    protocol = load_protocol(path, load_library()).protocol
    naming = Naming(protocol.study.canonical_base, protocol.study.id, protocol.study.version)
    url = {f: naming.canonical("Questionnaire", f) for f in ("pain", "odi", "proc", "wound")}
    rules = deviations.Rules(
        today=dt.date(2040, 1, 1),
        serious_report_hours=24,
        outcome_days=30,
        severity={},
        visit_forms={"PROC": (url["proc"],), "W1": (url["pain"], url["odi"], url["wound"])},
        form_ids={u: f for f, u in url.items()},
        form_arms={url["proc"]: ("ARM-A",), url["wound"]: ("ARM-A",)},
    )
    with make_sessionmaker(make_engine(f"sqlite:///{database}"))() as session:
        [study_id] = session.execute(sa.text("select id from study")).scalars().all()
        found = deviations.detect(session, study_id, rules)
        arm_of = dict(session.execute(sa.text("select subject_id, arm from allocation")).all())
    missed = {(arm_of[f.subject_id], f.key) for f in found if f.kind == "missed_visit"}
    assert ("ARM-B", "PROC") not in missed
    assert {key for arm, key in missed if arm == "ARM-A"} >= {"W1"}
    missing = {(arm_of[f.subject_id], f.key) for f in found if f.kind == "missing_form"}
    assert not any(key.endswith(":wound") for arm, key in missing if arm == "ARM-B")


def test_a_visit_specific_item_is_compiled_as_enable_when_on_the_hidden_visit_item(
    study: tuple[Path, Run], tmp_path: Path
) -> None:
    out = tmp_path / "bundle.json"
    assert main(["protocol", "compile", str(study[0]), "--output", str(out)]) == 0
    resources = [e["resource"] for e in json.loads(out.read_text())["entry"]]
    status = next(r for r in resources if r.get("title") == "Performance status")
    items = {item["linkId"]: item for item in status["item"]}
    assert list(items) == ["kps", "kps-band", "edc-visit"]
    assert items["kps-band"]["enableWhen"] == [
        {"question": "edc-visit", "operator": "=", "answerString": "BL"}
    ]
    assert items["edc-visit"]["readOnly"] is True
    assert items["edc-visit"]["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden",
            "valueBoolean": True,
        }
    ]
    assert "enableWhen" not in items["kps"]


def test_the_generator_asks_the_visit_specific_item_at_its_visit_only(
    study: tuple[Path, Run],
) -> None:
    rows = by_form(study[1])["status"]
    baseline = [given for _, visit, given in rows if visit == "BL"]
    week1 = [given for _, visit, given in rows if visit == "W1"]
    assert len(baseline) > 40 and len(week1) > 40
    assert all(given["kps-band"] in ("low", "high") for given in baseline)
    assert all("kps-band" not in given and "kps" in given for given in week1)
    assert {given["edc-visit"] for given in baseline} == {"BL"}
    assert {given["edc-visit"] for given in week1} == {"W1"}


def test_the_warehouse_holds_the_visit_specific_item_at_its_visit_only(
    study: tuple[Path, Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "warehouse.sqlite"
    monkeypatch.setenv("EDC_DATABASE_URL", f"sqlite:///{database}")
    path, run = study
    assert main(["db", "upgrade"]) == 0
    assert main(["protocol", "register", str(path)]) == 0
    assert main(["sync", "--study", "MINI-01", "--source", str(run.out), "--strict"]) == 0
    with sqlite3.connect(database) as db:
        found = dict(
            db.execute(
                "select r.visit_id, count(*) from item_value i "
                "join form_response r on r.id = i.response_id "
                "where i.link_id = 'kps-band' group by r.visit_id"
            ).fetchall()
        )
    assert set(found) == {"BL"} and found["BL"] > 40

"""Trial conduct: visits on time, late, early, missed; the late SAE; links to the study."""

from __future__ import annotations

import collections
import datetime as dt

from edc.synth.conduct import ConductGenerator
from edc.synth.enrollment import EnrolledSubject
from edc.synth.population import Population


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def test_visits_are_mostly_in_window_some_late_early_missed_or_unscheduled(mwa_run):
    visits = mwa_run.truth("visits")
    statuses = collections.Counter(v["status"] for v in visits)
    assert statuses["on-time"] > 0.75 * len(visits)
    assert statuses["late"] >= 1 and statuses["missed"] >= 1 and statuses["unscheduled"] >= 1
    encounters = {e["id"]: e for e in mwa_run.resources("Encounter")}
    by_subject = {a["subject"]: a["patient"] for a in mwa_run.truth("allocations")}
    outside = 0
    for visit in visits:
        performed = visit["date"] is not None
        assert performed == (visit["status"] in {"on-time", "late", "early", "unscheduled"})
        if not performed or visit["window"] is None:
            continue
        # the Encounter really happened on that day, inside or outside the window as stated
        key = visit["visit"].lower()
        encounter = encounters[f"{by_subject[visit['subject']]}-enc-{key}"]
        day = _day(encounter["period"]["start"])
        assert day.isoformat() == visit["date"]
        low, high = (dt.date.fromisoformat(d) for d in visit["window"])
        inside = low <= day <= high
        assert inside == (visit["status"] == "on-time"), visit
        outside += not inside
    assert outside >= 2


def test_missed_and_withdrawn_visits_have_no_encounter_or_forms(mwa_run):
    subjects = {a["subject"]: a["patient"] for a in mwa_run.truth("allocations")}
    encounters = {e["id"] for e in mwa_run.resources("Encounter")}
    responses = {r["identifier"]["value"] for r in mwa_run.resources("QuestionnaireResponse")}
    for visit in mwa_run.truth("visits"):
        if visit["status"] in {"missed", "withdrawn"}:
            patient = subjects[visit["subject"]]
            assert f"{patient}-enc-{visit['visit'].lower()}" not in encounters
            assert not any(f".{visit['subject']}.{visit['visit']}." in r for r in responses)


def test_at_least_one_serious_adverse_event_is_reported_late(mwa_run, mwa):
    hours = mwa.protocol.adverse_events.serious_report_hours
    late = []
    for event in mwa_run.resources("AdverseEvent"):
        assert "modifierExtension" not in event  # the core-only variant for EHRs
        serious = event["seriousness"]["coding"][0]["code"] == "serious"
        delay = dt.datetime.fromisoformat(event["recordedDate"]) - dt.datetime.fromisoformat(
            event["detected"]
        )
        grade = next(e for e in event["extension"] if e["url"].endswith("/ae-grade"))
        if serious:
            assert grade["valueCodeableConcept"]["coding"][0]["code"] in {"C41340", "C41337"}
            if delay > dt.timedelta(hours=hours):
                late.append(event["id"])
    assert late


def test_subjects_link_to_the_compiled_study_and_blinded_arms_stay_out(mwa_run, mwa):
    compiled = {(r["resourceType"], r["id"]) for r in mwa.compiled.resources}
    canonicals = {f"{r['url']}|{r['version']}" for r in mwa.compiled.resources if "url" in r}
    assert mwa.protocol.randomization.blinding == "single-blind"
    for subject in mwa_run.resources("ResearchSubject"):
        assert ("ResearchStudy", subject["study"]["reference"].split("/")[1]) in compiled
        assert "assignedArm" not in subject and "actualArm" not in subject
    for encounter in mwa_run.resources("Encounter"):
        plan = encounter["extension"][0]["valueCanonical"]
        assert plan in canonicals and "/PlanDefinition/" in plan
    for response in mwa_run.resources("QuestionnaireResponse"):
        assert response["questionnaire"] in canonicals
        assert not response["questionnaire"].endswith("-ae|1.0")  # AEs are AdverseEvents
    consents = mwa_run.resources("Consent")
    assert {c["scope"]["coding"][0]["code"] for c in consents} == {"research"}
    assert all(c["provision"]["type"] == "permit" for c in consents)


def test_open_label_studies_send_the_arm(mwa, library):
    randomization = mwa.protocol.randomization.model_copy(update={"blinding": "open-label"})
    protocol = mwa.protocol.model_copy(update={"randomization": randomization})
    population = Population(protocol, mwa.profile, seed=2, sites=3, patients=5)
    conduct = ConductGenerator(population, mwa.compiled, library)
    patient = population.patient(0)
    done = conduct.subject(
        EnrolledSubject(
            patient_id=patient.patient_id,
            site_id=patient.site.id,
            subject_id="01-OPEN-0001",
            arm_id="ARM-B",
            consent_date=patient.state.screening_date,
        )
    )
    subject = next(r for r in done.resources if r["resourceType"] == "ResearchSubject")
    assert subject["assignedArm"] == subject["actualArm"] == "ARM-B"


def test_milestones_and_visits_keep_their_order(mwa_run, mwa):
    order = [v.id for v in mwa.protocol.schedule.visits if not v.unscheduled]
    milestones = {a["subject"]: a["milestones"] for a in mwa_run.truth("allocations")}
    dates: dict[str, dict[str, str]] = collections.defaultdict(dict)
    for visit in mwa_run.truth("visits"):
        if visit["date"] and visit["visit"] in order:
            dates[visit["subject"]][visit["visit"]] = visit["date"]
    for subject, done in dates.items():
        events = milestones[subject]
        assert events["consent"] <= events["randomization"] <= events["procedure"]
        assert done["SCR"] <= events["randomization"]
        assert done["BL"] < events["procedure"] == done["PROC"]
        seen = [done[v] for v in order if v in done]
        assert seen == sorted(seen), subject


def test_unscheduled_visits_record_a_pain_flare(mwa_run):
    vas: dict[tuple[str, str], float] = {}
    for response in mwa_run.resources("QuestionnaireResponse"):
        _, subject, visit, form, _ = response["identifier"]["value"].rsplit(".", 4)
        if form == "vas" and response.get("item"):
            vas[(subject, visit)] = response["item"][0]["answer"][0]["valueDecimal"]
    planned: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for visit in mwa_run.truth("visits"):
        if visit["target"]:
            planned[visit["subject"]].append((visit["target"], visit["visit"]))
    flares = 0
    for visit in mwa_run.truth("visits"):
        if visit["status"] != "unscheduled" or (visit["subject"], visit["visit"]) not in vas:
            continue
        before = max(p for p in planned[visit["subject"]] if p[0] <= visit["date"])[1]
        if (visit["subject"], before) not in vas:
            continue
        rise = vas[(visit["subject"], visit["visit"])] - vas[(visit["subject"], before)]
        assert 0.9 <= rise <= 3.1 or vas[(visit["subject"], visit["visit"])] == 10
        flares += 1
    assert flares >= 1

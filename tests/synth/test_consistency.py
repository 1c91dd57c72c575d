"""Scores agree with their inputs and with the EHR: one latent patient behind every record."""

from __future__ import annotations

import collections
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from edc.forms import evaluate_scores
from edc.library import scoring
from edc.library.score_tables import ECOG_GRADES, KPS_VALUES, mme_factors
from edc.synth import clinical
from tests.synth.conftest import Run

LOCAL = "https://edc.example.org/fhir/CodeSystem/spine-oncology"


def answers(response: dict[str, Any]) -> dict[str, Any]:
    """linkId -> answer in the plain representation (first answer; lists for repeats)."""
    found: dict[str, Any] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            values = []
            for answer in item.get("answer", []):
                if "valueCoding" in answer:
                    values.append(answer["valueCoding"]["code"])
                else:
                    values.append(next(v for k, v in answer.items() if k.startswith("value")))
            if values:
                found[item["linkId"]] = values if len(values) > 1 else values[0]
            walk(item.get("item", []))

    walk(response.get("item", []))
    return found


def by_patient(run: Run) -> dict[str, dict[str, list[dict[str, Any]]]]:
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = collections.defaultdict(
        lambda: collections.defaultdict(list)
    )
    for item in run.manifest["output"]:
        for resource in run.resources(item["type"]):
            if resource["resourceType"] == "Patient":
                grouped[resource["id"]]["Patient"].append(resource)
            elif "subject" in resource or "patient" in resource:
                owner = (resource.get("subject") or resource.get("patient"))["reference"]
                grouped[owner.removeprefix("Patient/")][resource["resourceType"]].append(resource)
    return grouped


def form(resources: list[dict[str, Any]], form_id: str, visit: str) -> dict[str, Any] | None:
    for response in resources:
        parts = response["identifier"]["value"].split(".")
        if parts[-2] == form_id and parts[-3] == visit:
            return answers(response)
    return None


def observation(resources: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [o for o in resources if o["code"]["coding"][0]["code"] == code]


@pytest.fixture(scope="module")
def mwa_patients(mwa_run: Run) -> dict[str, dict[str, list[dict[str, Any]]]]:
    return by_patient(mwa_run)


def test_screening_forms_repeat_the_ehr_and_scores_follow_their_inputs(mwa_run, mwa_patients):
    subjects = {a["patient"] for a in mwa_run.truth("allocations")}
    assert len(subjects) > 20
    for patient_id in subjects:
        record = mwa_patients[patient_id]
        responses, observations = record["QuestionnaireResponse"], record["Observation"]
        kps = observation(observations, "89243-0")[0]["valueInteger"]
        ecog = observation(observations, "89247-1")[0]["valueInteger"]
        assert ecog == clinical.ecog_from_kps(kps)
        assert KPS_VALUES[form(responses, "kps", "SCR")["kps"]] == kps
        assert ECOG_GRADES[form(responses, "ecog", "SCR")["ecog"]] == ecog
        lesions = observation(observations, "spine-lesion")
        levels = sorted(
            c["valueInteger"]
            for o in lesions
            for c in o["component"]
            if c["code"]["coding"][0]["code"] == "vertebra-index"
        )
        lesion_form = form(responses, "lesion", "SCR")
        listed = lesion_form["lesion-levels"]
        listed = listed if isinstance(listed, list) else [listed]
        assert sorted(clinical.vertebra_index(v) for v in listed) == levels
        assert lesion_form["lesion-segments"] == len(lesions)
        # Tokuhashi: each answer follows from an EHR fact, and the total from the answers
        tokuhashi = form(responses, "tokuhashi", "SCR")
        frankel = observation(observations, "frankel-grade")[0]["valueCodeableConcept"]
        visceral = observation(observations, "visceral-metastases")[0]["valueCodeableConcept"]
        expected = clinical.tokuhashi_answers(
            kps=kps,
            extraspinal=observation(observations, "extraspinal-bone-metastases")[0]["valueInteger"],
            vertebral=len(lesions),
            visceral=visceral["coding"][0]["code"],
            primary=_primary(record["Condition"]),
            frankel=frankel["coding"][0]["code"],
        )
        assert {k: tokuhashi[k] for k in expected} == expected
        assert tokuhashi["tokuhashi-total"] == scoring.score(
            "tokuhashi-revised", "tokuhashi-total", tokuhashi
        )
        low, high = clinical.survival_weeks_band(tokuhashi["tokuhashi-total"])
        survival = observation(observations, "expected-survival")[0]["valueQuantity"]["value"]
        assert low <= survival <= high
        # SINS: the lesion answer is the type of one of the lesions; the total is the sum
        sins = form(responses, "sins", "SCR")
        kinds = {
            c["valueCodeableConcept"]["coding"][0]["code"]
            for o in lesions
            for c in o["component"]
            if c["code"]["coding"][0]["code"] == "lesion-type"
        }
        assert {"lytic": "osteolytic", "mixed": "mixed", "blastic": "osteoblastic"}[
            sins["sins-lesion"]
        ] in kinds
        assert sins["sins-location"] in {clinical.sins_location(level) for level in levels}
        assert sins["sins-total"] == scoring.score("sins", "sins-total", sins)
        bilsky = observation(observations, "escc-grade")[0]["valueCodeableConcept"]
        assert form(responses, "bilsky", "SCR")["bilsky-escc"] == bilsky["coding"][0]["code"]
        labs = form(responses, "labs", "SCR")
        assert (
            labs["lab-platelets"] == observation(observations, "777-3")[0]["valueQuantity"]["value"]
        )


def _primary(conditions: list[dict[str, Any]]) -> str:
    from edc.synth.tumours import PRIMARIES

    codes = {c["code"]["coding"][0]["code"] for c in conditions}
    return next(key for key, row in PRIMARIES.items() if row.code in codes)


def test_baseline_medd_is_what_the_ehr_prescribes(mwa_run, mwa_patients):
    factors = mme_factors()
    compared = 0
    for allocation in mwa_run.truth("allocations"):
        record = mwa_patients[allocation["patient"]]
        baseline = form(record["QuestionnaireResponse"], "medd", "BL")
        if baseline is None or "medd-total" not in baseline:
            continue  # missed, or the regimen left blank
        prescribed = Fraction(0)
        for request in record["MedicationRequest"]:
            code = request["medicationCodeableConcept"]["coding"][-1]["code"]
            dosage = request["dosageInstruction"][0]
            amount = Fraction(str(dosage["doseAndRate"][0]["doseQuantity"]["value"]))
            repeat = dosage["timing"]["repeat"]
            daily = amount if code == "fentanyl-transdermal" else amount * repeat["frequency"]
            prescribed += daily * factors[code]
        assert Fraction(str(baseline["medd-total"])) == prescribed
        compared += 1
    assert compared > 20


def test_every_score_is_what_the_questionnaire_calculates(mwa_run, mwa):
    """FHIRPath (the Questionnaires' calculatedExpressions) on a sample of responses."""
    by_canonical = {f"{q['url']}|{q['version']}": q for q in mwa.questionnaires.values()}
    checked = collections.Counter()
    for response in mwa_run.resources("QuestionnaireResponse"):
        form_id = response["identifier"]["value"].split(".")[-2]
        if checked[form_id] >= 3 or form_id in {"labs", "lesion", "eligibility", "procedure"}:
            continue
        checked[form_id] += 1
        questionnaire = by_canonical[response["questionnaire"]]
        computed = evaluate_scores(questionnaire, response)
        written = answers(response)
        for link_id, value in computed.items():
            if value is None:
                assert link_id not in written
            else:
                assert Decimal(str(written[link_id])) == Decimal(value), (form_id, link_id)
    assert set(checked) >= {"vas", "odi", "medd", "bm22", "ecog", "kps", "tokuhashi", "sins"}


def test_cement_leakage_on_the_procedure_form_matches_the_adverse_events(prd_run):
    patients = by_patient(prd_run)
    leaks = 0
    for allocation in prd_run.truth("allocations"):
        record = patients[allocation["patient"]]
        procedure = form(record["QuestionnaireResponse"], "procedure", "PROC")
        events = [e for e in record["AdverseEvent"] if "cement leakage" in e["event"]["text"]]
        if procedure is None or "cement-leakage" not in procedure:
            continue
        assert procedure["cement-leakage"] == bool(events)
        leaks += bool(events)
        for event in events:
            assert event["event"]["coding"][0]["code"] == "10022117"
    assert leaks >= 1

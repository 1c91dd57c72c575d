"""Every generated resource passes the strict R4 validator, with and without a profile."""

from __future__ import annotations

import shutil

import orjson
import pytest

from edc.fhir.resources import validate_r4
from edc.synth.conduct import generate_conduct
from edc.synth.enrollment import EnrolledSubject
from edc.synth.population import Population
from edc.synth.profile import default_profile
from tests.synth.conftest import MWA, Run, run_generate


def _problems(run: Run) -> tuple[int, list[str]]:
    checked, problems = 0, []
    for item in run.manifest["output"]:
        for line in (run.out / item["url"]).read_bytes().splitlines():
            checked += 1
            issues = validate_r4(line)
            if issues:
                problems.append(f"{item['type']} {orjson.loads(line)['id']}: {issues[:2]}")
    return checked, problems


@pytest.mark.parametrize("name", ["mwa_run", "prd_run"])
def test_every_resource_is_strict_r4(name, request):
    run: Run = request.getfixturevalue(name)
    checked, problems = _problems(run)
    assert checked > 1000
    assert problems == []
    types = {item["type"] for item in run.manifest["output"]}
    assert types >= {
        "Organization",
        "Patient",
        "Condition",
        "Observation",
        "Consent",
        "ResearchSubject",
        "Encounter",
        "QuestionnaireResponse",
        "Procedure",
        "AdverseEvent",
    }


def test_every_resource_has_id_version_stamp_and_identifier(mwa_run):
    for item in mwa_run.manifest["output"]:
        ids = set()
        for resource in mwa_run.resources(item["type"]):
            assert resource["meta"]["versionId"] == "1"
            assert resource["meta"]["lastUpdated"][:4].isdigit()
            assert resource["identifier"]
            ids.add(resource["id"])
        assert len(ids) == item["count"], f"duplicate ids in {item['type']}"


def test_a_protocol_without_a_profile_still_generates(tmp_path, mwa, library):
    # Alone in its directory the protocol has no <study>.synthetic.yaml beside it.
    study = tmp_path / "study" / MWA.name
    study.parent.mkdir()
    shutil.copy(MWA, study)
    run = run_generate(tmp_path / "out", study, 10, seed=3, workers=1)
    assert run.manifest["extension"]["profile"] is None
    checked, problems = _problems(run)
    assert problems == []
    assert checked > 100
    # Without rules the truth is the protocol's own FHIRPath screening.
    assert any(not p["eligible"] for p in run.truth("patients"))
    # Conduct with generic values (no targets) for a few patients, valid R4 as well.
    profile = default_profile(mwa.protocol.study.id)
    population = Population(mwa.protocol, profile, seed=3, sites=3, patients=10)
    enrolled = [
        EnrolledSubject(
            patient_id=population.run.patient_id(n),
            site_id="01",
            subject_id=f"01-TEST-{n:04d}",
            arm_id=arm,
            consent_date=population.patient(n).state.screening_date,
            sentinel_sae=True,
        )
        for n, arm in ((0, "ARM-A"), (1, "ARM-B"))
    ]
    made = list(generate_conduct(population, mwa.compiled, library, enrolled))
    resources = [r for conduct in made for r in conduct.resources]
    assert {r["resourceType"] for r in resources} >= {"QuestionnaireResponse", "AdverseEvent"}
    assert [validate_r4(r) for r in resources if validate_r4(r)] == []

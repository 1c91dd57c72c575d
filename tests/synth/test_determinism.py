"""Same seed, same bytes - whatever the number of worker processes; conduct can be re-created."""

from __future__ import annotations

import datetime as dt

import orjson

from edc.synth.conduct import generate_conduct
from edc.synth.enrollment import EnrolledSubject
from edc.synth.population import Population
from tests.synth.conftest import MWA, Run, run_generate


def _contents(run: Run) -> dict[str, bytes]:
    return {str(p.relative_to(run.out)): p.read_bytes() for p in run.files()}


def test_same_seed_gives_byte_identical_output_with_any_number_of_workers(tmp_path):
    # 600 patients are three chunks: two workers render them out of order.
    serial = run_generate(tmp_path / "serial", MWA, 600, seed=5, workers=1)
    parallel = run_generate(tmp_path / "parallel", MWA, 600, seed=5, workers=2)
    serial_files = _contents(serial)
    assert serial_files == _contents(parallel)
    assert "QuestionnaireResponse.ndjson" in serial_files
    assert serial.manifest["output"] == parallel.manifest["output"]


def test_another_seed_gives_other_patients(tmp_path, mwa_run):
    other = run_generate(tmp_path / "other", MWA, 160, seed=12, workers=1)
    patients = "Patient.ndjson"
    assert (other.out / patients).read_bytes() != (mwa_run.out / patients).read_bytes()
    # ids carry the run's namespace, so loading both into one server cannot collide
    assert not {p["id"] for p in other.resources("Patient")} & {
        p["id"] for p in mwa_run.resources("Patient")
    }


def test_dates_come_from_the_protocol_not_from_now(mwa_run, mwa):
    start = mwa.protocol.study.planned_start
    assert start is not None
    days = [dt.date.fromisoformat(r["screening_date"]) for r in mwa_run.truth("patients")]
    assert min(days) >= start
    assert mwa_run.manifest["transactionTime"].startswith(str(start.year + 2))


def test_manifest_hashes_match_the_files(mwa_run):
    import hashlib

    for item in mwa_run.manifest["output"] + mwa_run.manifest["extension"]["truth"]:
        data = (mwa_run.out / item["url"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert len(data.splitlines()) == item["count"]


def test_conduct_alone_recreates_what_generate_wrote(mwa_run, mwa, library):
    """The enrollment hand-over: a subject's conduct depends only on its EnrolledSubject."""
    population = Population(mwa.protocol, mwa.profile, seed=11, sites=3, patients=160)
    allocations = mwa_run.truth("allocations")[:4]
    enrolled = [
        EnrolledSubject(
            patient_id=a["patient"],
            site_id=a["site"],
            subject_id=a["subject"],
            arm_id=a["arm"],
            consent_date=dt.date.fromisoformat(a["consent_date"]),
            sentinel_sae=i == 0,
        )
        for i, a in enumerate(allocations)
    ]
    written = {
        r["id"]: orjson.dumps(r)
        for name in (
            "Consent",
            "ResearchSubject",
            "Encounter",
            "QuestionnaireResponse",
            "AdverseEvent",
            "Procedure",
        )
        for r in mwa_run.resources(name)
    }
    made = list(generate_conduct(population, mwa.compiled, library, enrolled))
    assert [m.subject.subject_id for m in made] == [a["subject"] for a in allocations]
    for conduct in made:
        assert conduct.resources
        for resource in conduct.resources:
            assert written[resource["id"]] == orjson.dumps(resource)

"""The protocol's own FHIRPath criteria, run on generated EHR records, agree with the truth.

FHIRPath takes ~0.1 s per patient, so the sample is chosen: for every computable criterion a
few patients who fail it alone (and a few who fail it among others), plus eligible ones.
"""

from __future__ import annotations

import collections

import pytest

from edc.synth.population import Population
from edc.trial.eligibility import Screener, patient_record
from tests.synth.conftest import Study

PER_CRITERION = 7
ELIGIBLE = 30


def _sample(population: Population, computable: set[str]) -> list:
    alone: dict[str, list] = collections.defaultdict(list)
    mixed: dict[str, list] = collections.defaultdict(list)
    eligible, chosen = [], {}
    for patient in population.patients():
        if patient.eligible:
            if len(eligible) < ELIGIBLE:
                eligible.append(patient)
            continue
        for criterion in patient.failed:
            bucket = alone if len(patient.failed) == 1 else mixed
            if criterion in computable and len(bucket[criterion]) < PER_CRITERION:
                bucket[criterion].append(patient)
    for group in (eligible, *alone.values(), *mixed.values()):
        for patient in group:
            chosen[patient.number] = patient
    return [chosen[n] for n in sorted(chosen)]


@pytest.mark.parametrize("name", ["mwa", "prd"])
def test_fhirpath_screening_agrees_with_the_generators_truth(name, request):
    study: Study = request.getfixturevalue(name)
    criteria = [*study.protocol.eligibility.inclusion, *study.protocol.eligibility.exclusion]
    computable = {c.id for c in criteria if c.expression}
    population = Population(study.protocol, study.profile, seed=21, sites=3, patients=4000)
    sample = _sample(population, computable)
    failing_alone = {p.failed[0] for p in sample if len(p.failed) == 1}
    # Every computable criterion is exercised by a patient who fails only that criterion
    # (the age criterion is rare: 0.3% minors), and eligible patients are in the sample.
    assert failing_alone >= computable - {"IN01"}
    assert sum(p.eligible for p in sample) == ELIGIBLE
    disagreements = []
    screener = Screener(study.protocol.eligibility)
    for patient in sample:
        record = patient_record(population.record(patient))
        result = screener.screen(record, patient.state.screening_date, evidence=False)
        unknown = [
            r.criterion_id
            for r in result.results
            if r.result == "unknown" and r.criterion_id in computable
        ]
        expected = set(patient.failed) & computable
        if set(result.failed()) != expected or unknown:
            disagreements.append(
                (patient.patient_id, sorted(result.failed()), sorted(expected), unknown)
            )
    assert disagreements == []


@pytest.mark.parametrize("name", ["mwa", "prd"])
def test_eligibility_share_matches_the_profile(name, request):
    study: Study = request.getfixturevalue(name)
    population = Population(study.protocol, study.profile, seed=22, sites=3, patients=3000)
    eligible = sum(p.eligible for p in population.patients())
    expected = study.profile.expected_eligible_share
    assert expected is not None
    assert abs(eligible / 3000 - expected.value) <= expected.tolerance
    # something for screening to reject, and something to enroll
    assert 0.1 < eligible / 3000 < 0.9

"""Benchmark: the generator's population with eligibility decided by the profile's hand-written
rules, against the same population decided by the protocol's own FHIRPath criteria.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_eligibility --patients 300

For each example study: the profile as shipped (a rule for every criterion), then the profile
without its rules (every criterion by FHIRPath over the patient's generated EHR record, the
criteria compiled once for the run), both over the same patients in one process. Prints
patients/s of each and the ratio; the target is FHIRPath within a small factor of the rules
(issue 13: it was about 100x slower, 2 patients/s against 215).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edc.compiler import compile_protocol
from edc.compiler.naming import Naming
from edc.library import load_library
from edc.protocol import forms as protocol_forms
from edc.protocol import load_protocol
from edc.synth.conduct import questionnaires_by_form
from edc.synth.population import Population
from edc.synth.profile_load import load_profile, profile_path_for

STUDIES = Path(__file__).parents[2] / "fhir_mappings" / "studies"


def rate(population: Population, patients: int) -> float:
    started = time.perf_counter()
    for number in range(patients):
        population.patient(number)
    return patients / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=300, help="patients per run")
    args = parser.parse_args()
    library = load_library()
    print(f"{args.patients} patients each, one process:")
    for path in sorted(STUDIES.glob("*-01.yaml")):
        protocol = load_protocol(path, library).protocol
        compiled = compile_protocol(protocol, library, model_check=False)
        study = protocol.study
        naming = Naming(study.canonical_base, study.id, study.version)
        form_ids = [f.id for f in protocol.forms] + sorted(
            protocol_forms.builtin_form_ids(protocol)
        )
        questionnaires = questionnaires_by_form(form_ids, compiled, naming)
        profile = load_profile(profile_path_for(path), protocol, questionnaires, library)
        ruled = Population(protocol, profile, seed=1, sites=3, patients=args.patients)
        by_fhirpath = Population(
            protocol,
            profile.model_copy(update={"eligibility": {}}),
            seed=1,
            sites=3,
            patients=args.patients,
        )
        rules, fhirpath = rate(ruled, args.patients), rate(by_fhirpath, args.patients)
        print(
            f"  {study.id:<14} rules {rules:7.0f} patients/s   FHIRPath {fhirpath:7.0f} "
            f"patients/s   FHIRPath {rules / fhirpath:4.1f}x slower"
        )


if __name__ == "__main__":
    main()

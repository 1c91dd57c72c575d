"""Synthetic hospital populations and trial conduct, seeded and reproducible, as FHIR R4 NDJSON.

Two halves, kept apart so a real enrollment capability can sit between them:

* the population (what the hospitals' EHRs hold before the trial): ``Population`` /
  ``generate_population`` - referred patients with their record and the truth about their
  eligibility;
* the conduct (what happens after enrollment, given the arm): ``generate_conduct`` /
  ``ConductGenerator`` - for ``EnrolledSubject`` hand-overs from any enrollment.

``edc generate`` (``edc.actions.generate``) joins them with a stand-in ``Enroller`` and writes
the directory described in ``edc.synth.layout``. Published numbers come from a study's
profile (``edc.synth.profile``, ``<study>.synthetic.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator

from edc.protocol.model import Protocol
from edc.synth.conduct import ConductGenerator, SubjectConduct, generate_conduct
from edc.synth.enrollment import Allocation, EnrolledSubject, Enroller
from edc.synth.population import Population, PopulationPatient
from edc.synth.profile import Profile, default_profile
from edc.synth.profile_load import load_profile, profile_path_for


def generate_population(
    protocol: Protocol, profile: Profile, *, seed: int, sites: int, patients: int
) -> Iterator[PopulationPatient]:
    """Every referred patient of a run, in number order (see ``Population``).

    :raises ValueError: when ``sites`` or ``patients`` is out of range.
    """
    return Population(protocol, profile, seed=seed, sites=sites, patients=patients).patients()


__all__ = [
    "Allocation",
    "ConductGenerator",
    "EnrolledSubject",
    "Enroller",
    "Population",
    "PopulationPatient",
    "Profile",
    "SubjectConduct",
    "default_profile",
    "generate_conduct",
    "generate_population",
    "load_profile",
    "profile_path_for",
]

"""The hospitals' population: referred patients, their EHR records and their true eligibility.

``Population`` is the run's population half, independent of any trial conduct: patient
``number`` is drawn from its own stream (seed, POPULATION, number), so any patient can be
re-created on its own (``patient``/``find``), e.g. by an enrollment capability that screened
it and now asks for its trial conduct.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

from edc.protocol.model import Protocol, Site
from edc.synth import criterion_facts, ehr, ids, latent, truth
from edc.synth.profile import Profile
from edc.synth.rng import Purpose, stream
from edc.trial import eligibility

# Used when a protocol has no planned start: a fixed date keeps output reproducible.
DEFAULT_START = dt.date(2027, 1, 4)


@dataclasses.dataclass(frozen=True)
class PopulationPatient:
    """One referred patient: latent state, where they are treated, and the truth about them.

    :ivar failed: ids of the criteria they fail (empty: eligible).
    :ivar undecided: ids of the criteria neither a profile rule nor the protocol's expression
        could decide for them (taken as passed, and reported: truth/patients and the run's
        summary).
    """

    state: latent.PatientState
    patient_id: str
    site: Site
    failed: tuple[str, ...]
    undecided: tuple[str, ...] = ()

    @property
    def number(self) -> int:
        return self.state.number

    @property
    def eligible(self) -> bool:
        return not self.failed


class Population:
    """The referred patients of one run.

    :param protocol: the study protocol (sites, criteria, planned start).
    :param profile: the study's synthetic profile (``edc.synth.profile``).
    :param seed: the run seed (a non-negative integer).
    :param sites: how many of the protocol's sites take part (the first ``sites``).
    :param patients: how many patients are referred.
    :raises ValueError: when ``sites`` or ``patients`` is out of range.
    """

    def __init__(
        self, protocol: Protocol, profile: Profile, *, seed: int, sites: int, patients: int
    ) -> None:
        if not 1 <= sites <= len(protocol.study.sites):
            raise ValueError(f"sites must be 1..{len(protocol.study.sites)}, got {sites}")
        if patients < 1 or seed < 0:
            raise ValueError("patients must be at least 1 and seed not negative")
        self.protocol = protocol
        self.profile = profile
        self.seed = seed
        self.count = patients
        self.sites = protocol.study.sites[:sites]
        # Referrals split across sites as their enrollment targets (equal without targets).
        self.site_weights = [float(site.target_enrollment or 1) for site in self.sites]
        study = protocol.study
        self.run = ids.RunIds.create(
            base=study.canonical_base,
            study_id=study.id,
            version=study.version,
            seed=seed,
            sites=sites,
            patients=patients,
        )
        self.start = study.planned_start or DEFAULT_START
        # A criterion the profile gives a rule is decided by the rule (fast, on the latent
        # state); any other by the protocol's own FHIRPath over the generated EHR record,
        # compiled once for the run (see ``_screen``).
        unruled = [
            (criterion, exclusion)
            for criterion, exclusion in eligibility.criteria(protocol.eligibility)
            if criterion.id not in profile.eligibility
        ]
        self._unruled = protocol.eligibility.model_copy(
            update={
                "inclusion": tuple(c for c, exclusion in unruled if not exclusion),
                "exclusion": tuple(c for c, exclusion in unruled if exclusion),
            }
        )
        self.uses_fhirpath = bool(unruled)
        self.hospitals = {site.id: ehr.hospital(site, self.run) for site in self.sites}
        self.labs = criterion_facts.needed_labs(protocol.eligibility)
        self._screener: eligibility.Screener | None = None  # compiled on first use

    def patient(self, number: int) -> PopulationPatient:
        """Patient ``number`` (0-based), always the same for the same run.

        :raises IndexError: when the run has no such patient.
        """
        if not 0 <= number < self.count:
            raise IndexError(f"patient {number} is not in 0..{self.count - 1}")
        draw = stream(self.seed, Purpose.POPULATION, number)
        state = latent.sample_patient(
            draw,
            self.profile.population,
            number=number,
            count=self.count,
            start=self.start,
            site_weights=self.site_weights,
        )
        site = self.sites[state.site_index]
        patient_id = self.run.patient_id(number)
        failed = (
            truth.failed_criteria(self.protocol.eligibility, self.profile.eligibility, state, draw)
            if self.profile.eligibility
            else ()
        )
        undecided: tuple[str, ...] = ()
        if self.uses_fhirpath:
            by_expression, undecided = self._screen(state, patient_id, site)
            order = [c.id for c, _ in eligibility.criteria(self.protocol.eligibility)]
            failed = tuple(sorted({*failed, *by_expression}, key=order.index))
        return PopulationPatient(state, patient_id, site, failed, undecided)

    def patients(self, first: int = 0, stop: int | None = None) -> Iterator[PopulationPatient]:
        for number in range(first, self.count if stop is None else stop):
            yield self.patient(number)

    def find(self, patient_id: str) -> PopulationPatient:
        """The patient with this id.

        :raises KeyError: when it is not one of this run's patients.
        """
        number = self.run.patient_number(patient_id)
        try:
            return self.patient(number)
        except IndexError:
            raise KeyError(f"{patient_id!r} is not a patient of this run") from None

    def record(self, patient: PopulationPatient) -> list[dict[str, Any]]:
        """The patient's EHR resources (Patient first)."""
        return ehr.record(patient.state, self._context(patient.patient_id, patient.site))

    def timezone(self, site: Site) -> dt.timezone:
        return ids.site_timezone(site.country)

    def _context(self, patient_id: str, site: Site) -> ehr.EhrContext:
        return ehr.EhrContext(
            run=self.run,
            patient_id=patient_id,
            site=site,
            organization_id=self.hospitals[site.id]["id"],
            tz=self.timezone(site),
            labs=self.labs,
        )

    def _screen(
        self, state: latent.PatientState, patient_id: str, site: Site
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(failed, undecided) among the criteria without a profile rule."""
        if self._screener is None:
            self._screener = eligibility.Screener(self._unruled)
        resources = ehr.record(state, self._context(patient_id, site))
        result = self._screener.screen(
            eligibility.patient_record(resources), state.screening_date, evidence=False
        )
        undecided = tuple(r.criterion_id for r in result.results if r.suggests_pass is None)
        return tuple(result.failed()), undecided

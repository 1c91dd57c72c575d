"""Who enters the trial in a generated run, and which arm they get (a stand-in for ``edc enroll``).

``EnrolledSubject`` is the hand-over from enrollment to conduct: a later enrollment capability
does its own screening and randomization and passes these to ``generate_conduct``. The
``Enroller`` here is what ``edc generate`` uses meanwhile: among the truly eligible, some
decline consent; the rest are randomized by the protocol's own rule, as ``edc randomize`` does
(``edc.trial.randomization``: permuted blocks per stratum - the site and every protocol factor,
its level read from the subject's answers at screening - or minimization), from a secret derived
from the run's seed. It must see patients in number order: list positions are sequential.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping

from edc.protocol.model import Protocol
from edc.synth import ids
from edc.synth.population import PopulationPatient
from edc.synth.profile import Conduct
from edc.synth.rng import Purpose, stream
from edc.trial import randomization as rules

# A subject's protocol stratification levels from their screening answers (None: no level).
LevelsOf = Callable[["EnrolledSubject", PopulationPatient], Mapping[str, str | None]]


@dataclasses.dataclass(frozen=True)
class EnrolledSubject:
    """A consented, randomized subject whose trial conduct is to be generated.

    :ivar patient_id: the Patient's logical id in the generated population.
    :ivar site_id: the protocol site id.
    :ivar subject_id: Subject ID in the study's namespace (ResearchSubject.identifier).
    :ivar arm_id: the allocated arm (protocol arm id).
    :ivar consent_date: the date informed consent was signed.
    :ivar randomization_date: the date of randomization (None: the protocol's offset from
        consent, with some jitter).
    :ivar sentinel_sae: give this subject a serious AE that is reported late, so every run
        has one (``edc generate`` sets it on its first subject).
    """

    patient_id: str
    site_id: str
    subject_id: str
    arm_id: str
    consent_date: dt.date
    randomization_date: dt.date | None = None
    sentinel_sae: bool = False


@dataclasses.dataclass(frozen=True)
class Allocation:
    """One randomization, as written to the truth/allocations.ndjson sidecar."""

    subject: EnrolledSubject
    block: int | None  # None: minimization (no lists)
    block_size: int | None
    position: int | None
    stratum: str = rules.NO_STRATA


def consent_intention(
    seed: int, conduct: Conduct, patient: PopulationPatient
) -> tuple[bool, dt.date]:
    """Whether the patient would consent if asked, and the day they would sign.

    A person's own decision, drawn from their own stream: the same whether ``edc generate``
    or an enrolling system (edc itself, in the demo) asks.
    """
    draw = stream(seed, Purpose.ENROLLMENT, patient.number)
    declines = draw.chance(conduct.decline_share)
    return not declines, patient.state.screening_date + dt.timedelta(days=draw.integer(0, 5))


class Enroller:
    """Decides enrollment and allocation for ``edc generate``, patient by patient, in order."""

    def __init__(
        self,
        protocol: Protocol,
        conduct: Conduct,
        run: ids.RunIds,
        seed: int,
        *,
        sentinel_arms: Collection[str] | None = None,
        levels_of: LevelsOf | None = None,
    ) -> None:
        """:param sentinel_arms: the arms whose first subject gets the run's test SAE (None: the
        first subject of any arm; see ``Profile.test_sae``).
        :param levels_of: each protocol stratification factor's level for a subject (from the
            screening conduct: ``ConductGenerator.stratum_levels``); needed when the protocol
            stratifies by one. A subject without a level counts in the factor's first level.
        :raises ValueError: a protocol factor and no ``levels_of``.
        """
        randomization = protocol.randomization
        if levels_of is None and any(f.kind != "site" for f in randomization.stratify_by):
            raise ValueError("the protocol stratifies by a protocol factor: pass levels_of")
        self._sentinel_arms = None if sentinel_arms is None else frozenset(sentinel_arms)
        self._protocol = protocol
        self._conduct = conduct
        self._run = run
        self._seed = seed
        self._levels_of = levels_of
        self._design = rules.design_of(randomization, [s.id for s in protocol.study.sites], 0)
        # The run's allocation secret: a function of its seed, like every other draw.
        self._secret = hashlib.sha256(f"edc-generate:randomization:{seed}".encode()).digest()
        self._lists: dict[str, Iterator[rules.Slot]] = {}
        self._minimizer = rules.Minimizer(self._design)
        self._randomized = 0
        self._counts: dict[str, int] = {}
        self._first = True

    def consider(self, patient: PopulationPatient) -> Allocation | None:
        """The patient's allocation, or None (not eligible, or declined consent)."""
        if not patient.eligible:
            return None
        consents, consent = consent_intention(self._seed, self._conduct, patient)
        if not consents:
            return None
        site = patient.site.id
        self._counts[site] = self._counts.get(site, 0) + 1
        subject = EnrolledSubject(
            patient_id=patient.patient_id,
            site_id=site,
            subject_id=self._run.subject_id(site, self._counts[site]),
            arm_id="",
            consent_date=consent,
            randomization_date=None,
        )
        levels = self._levels(subject, patient)
        self._randomized += 1
        block = size = position = None
        stratum = rules.NO_STRATA
        if self._design.method == "minimization":
            draws = rules.Stream(self._secret, f"minimization:{self._randomized}")
            arm = self._minimizer.assign(levels, draws)
        else:
            stratum = rules.stratum_of(self._design, levels)
            slots = self._lists.get(stratum)
            if slots is None:
                slots = rules.stratum_slots(self._design, self._secret, stratum)
                self._lists[stratum] = slots
            slot = next(slots)
            arm, block, size, position = slot.arm, slot.block, slot.block_size, slot.position
        sentinel = self._first and (self._sentinel_arms is None or arm in self._sentinel_arms)
        self._first = self._first and not sentinel
        subject = dataclasses.replace(subject, arm_id=arm, sentinel_sae=sentinel)
        return Allocation(subject, block, size, position, stratum)

    def _levels(self, subject: EnrolledSubject, patient: PopulationPatient) -> dict[str, str]:
        """Each factor's level: the site, or the subject's answer (else the first level)."""
        found = self._levels_of(subject, patient) if self._levels_of else {}
        sites = {f.id for f in self._protocol.randomization.stratify_by if f.kind == "site"}
        levels = {}
        for factor in self._design.factors:
            level = patient.site.id if factor.id in sites else found.get(factor.id)
            levels[factor.id] = level if level in factor.levels else factor.levels[0]
        return levels
